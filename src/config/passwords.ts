import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { integer } from './settings';

/** How passwords are hashed (bcrypt) and what a password must be. */

export const passwordSettings = {
  BCRYPT_COST: integer(4, 15).default(12),
  // One core is left to the event loop, which serves the webhook.
  BCRYPT_THREADS: integer(1, 256).default(Math.max(1, availableParallelism() - 1)),
  BCRYPT_QUEUE_MAX: integer(0, 100_000).default(16),
  PASSWORD_MIN_LENGTH: integer(1, 72).default(8),
};

export function passwordConfig(env: z.output<z.ZodObject<typeof passwordSettings>>) {
  return {
    passwords: { bcryptCost: env.BCRYPT_COST, minLength: env.PASSWORD_MIN_LENGTH },
    hashing: { threads: env.BCRYPT_THREADS, queueMax: env.BCRYPT_QUEUE_MAX },
  };
}
