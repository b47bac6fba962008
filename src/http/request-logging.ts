import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Hasura forwards the client's x-request-id, which ties our line to its own; anything else gets a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The request's path, without the query string. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

/** What a request log line says of the request: never the query string, headers or body. */
export function describeRequest(req: IncomingMessage, id: string) {
  return { id, method: req.method, path: pathOf(req) };
}

/**
 * One line per request with method, path (never the query string), status and time. Headers
 * and bodies are left out on purpose: in an auth service they hold passwords and tokens.
 */
export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger,
    wrapSerializers: false,
    genReqId: requestIdOf,
    serializers: {
      req: (req: IncomingMessage & { id?: unknown }) => describeRequest(req, req.id as string),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    // Probes and scrapes come every few seconds and say nothing about users.
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
  });
}
