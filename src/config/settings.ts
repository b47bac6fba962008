import { z } from 'zod';

/** The zod pieces every concern's settings are made of. */

export const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

// `z.coerce.boolean()` would read "false" as true, so booleans are spelled out.
export const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A comma-separated list, empty items dropped. */
export const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((each) => each.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
