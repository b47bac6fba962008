import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isDatabaseUnavailable } from '../db/database-errors';
import { AppError } from '../errors';
import type { Logger } from '../logger';

/** body-parser reports its failures with a `type`; each maps to a catalogue entry. */
const bodyParserErrors: Record<string, AppError['code']> = {
  'entity.parse.failed': 'INVALID_JSON',
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'request.aborted': 'VALIDATION_FAILED',
  'request.size.invalid': 'VALIDATION_FAILED',
};

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const bodyParserType = (error as { type?: unknown } | null)?.type;
  if (typeof bodyParserType === 'string' && bodyParserType in bodyParserErrors) {
    return new AppError(bodyParserErrors[bodyParserType], undefined, undefined, { cause: error });
  }
  if (isDatabaseUnavailable(error)) return new AppError('DATABASE_UNAVAILABLE', undefined, undefined, { cause: error });
  return new AppError('INTERNAL_ERROR', undefined, undefined, { cause: error });
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND'));

/** Writes every error response. Bodies carry a stable code and a message, never internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      logger.error({ err: appError.cause ?? appError, method: req.method, path: req.path }, appError.message);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (appError.code === 'UNAUTHORIZED') res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(appError.status).json({
      error: { code: appError.code, message: appError.message, ...(appError.details && { details: appError.details }) },
    });
  };
}
