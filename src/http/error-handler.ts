import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { recordAuthEvent } from './auth-events';

/** body-parser (and raw-body under it) reports its failures with a `type`; each maps to a catalogue entry. */
const bodyParserErrors: Partial<Record<string, AppError['code']>> = {
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
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const bodyParserType = (error as { type?: unknown } | null)?.type;
  const code = typeof bodyParserType === 'string' ? bodyParserErrors[bodyParserType] : undefined;
  if (code !== undefined) return new AppError(code, { cause: error });
  if (clientErrorStatus(error) !== undefined) {
    return new AppError('VALIDATION_FAILED', { message: 'The request could not be read.', cause: error });
  }
  return new AppError('INTERNAL_ERROR', { cause: error });
}

/**
 * What every answer of this service carries, as names and values in turn (writeHead's flat form):
 * answers carry tokens and session state, which no cache may keep.
 */
export const COMMON_HEADERS = ['Cache-Control', 'no-store', 'X-Content-Type-Options', 'nosniff'] as const;

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function setCommonHeaders(res: ServerResponse): void {
  for (let i = 0; i < COMMON_HEADERS.length; i += 2) res.setHeader(COMMON_HEADERS[i]!, COMMON_HEADERS[i + 1]!);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Writes the answer to any failure: a stable code and a message, never internals. A 5xx with a
 * cause (a failure underneath: the database, a bug) is logged with it through `log`, the request's
 * own logger, so that the line carries the request id. One without a cause is the service's own
 * answer (starting, shutting down, overloaded): the request's log line records it, and a stack
 * for each would flood the log in just the moments it is read, under a login flood or while a
 * readiness probe polls.
 */
export function sendError(res: ServerResponse, error: unknown, log: Logger): void {
  const appError = toAppError(error);
  if (appError.status >= 500 && appError.cause !== undefined) {
    log.error({ err: appError.cause, code: appError.code }, appError.message);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(appError.headers)) res.setHeader(name, value);
  sendJson(res, appError.status, {
    error: { code: appError.code, message: appError.message, ...(appError.details && { details: appError.details }) },
    ...appError.fields,
  });
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND'));

/** A refusal by a rate limit is an auth event, whatever answers it (JSON, or a page). */
export function recordRefusal(req: Request, error: AppError): void {
  if (error.code !== 'RATE_LIMITED') return;
  const limit = (error.cause as { limit?: unknown } | undefined)?.limit;
  recordAuthEvent(req, 'rate_limited', { limit: typeof limit === 'string' ? limit : undefined, path: req.path });
}

/** Express's error handler: every error response of the Express routes but the pages' is written here. */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (error instanceof AppError) recordRefusal(req, error);
  sendError(res, error, req.log);
};
