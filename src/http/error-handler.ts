import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors';
import { recordAuthEvent } from './auth-events';

/** body-parser reports its failures with a `type`; each maps to a catalogue entry. */
const bodyParserErrors: Record<string, AppError['code']> = {
  'entity.parse.failed': 'INVALID_JSON',
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'request.aborted': 'VALIDATION_FAILED',
  'request.size.invalid': 'VALIDATION_FAILED',
};

/**
 * Express, its router and body-parser mark a client's mistake with a 4xx `status` (http-errors):
 * a URL that does not decode, a body that does not decompress. Those are the client's to fix.
 */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** Every failure as a catalogue entry. Anything unforeseen is an INTERNAL_ERROR, logged with its cause. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const bodyParserType = (error as { type?: unknown } | null)?.type;
  if (typeof bodyParserType === 'string' && bodyParserType in bodyParserErrors) {
    return new AppError(bodyParserErrors[bodyParserType], { cause: error });
  }
  if (clientErrorStatus(error) !== undefined) {
    return new AppError('VALIDATION_FAILED', { message: 'The request could not be read.', cause: error });
  }
  return new AppError('INTERNAL_ERROR', { cause: error });
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND'));

/** Writes every error response. Bodies carry a stable code and a message, never internals. */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const appError = toAppError(error);
  if (appError.code === 'RATE_LIMITED') {
    const limit = (appError.cause as { limit?: unknown } | undefined)?.limit;
    recordAuthEvent(req, 'rate_limited', { limit: typeof limit === 'string' ? limit : undefined, path: req.path });
  }
  if (appError.status >= 500) {
    // The request's own logger (pino-http), so that the line carries the request id.
    req.log.error({ err: appError.cause ?? appError, code: appError.code }, appError.message);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.set(appError.headers);
  res.status(appError.status).json({
    error: { code: appError.code, message: appError.message, ...(appError.details && { details: appError.details }) },
  });
};
