import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../errors';

/**
 * The query string as flat name → value pairs; a name given twice keeps every value, so that a
 * schema expecting one refuses it. The app's own query parser is off.
 */
export function queryParameters(req: Request): Record<string, string | string[]> {
  const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  // No prototype: a parameter named __proto__ or constructor is just a name.
  const parameters = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(query)) {
    const previous = parameters[name];
    parameters[name] = previous === undefined ? value : [previous, value].flat();
  }
  return parameters;
}

/** Parses a request part with a zod schema, or throws VALIDATION_FAILED naming every bad field. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  throw new AppError('VALIDATION_FAILED', { details });
}

/**
 * A body that the JSON parser left unread (another Content-Type, or none) is refused, rather
 * than taken for no body at all: a PATCH sent as a form must not answer 200 having changed nothing.
 */
export const refuseBodiesThatAreNotJson: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && req.body === undefined) {
    throw new AppError('VALIDATION_FAILED', {
      message: 'The request body must be JSON, sent with Content-Type: application/json.',
      details: [{ path: '(body)', message: 'not JSON' }],
    });
  }
  next();
};
