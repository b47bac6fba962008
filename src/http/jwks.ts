import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger';
import type { PublishedKeySet, SigningKeys } from '../domain/signing-keys';
import { JSON_CONTENT_TYPE, sendError, setCommonHeaders } from './error-handler';
import { describeRequest, pathOf, requestIdOf } from './request-logging';

/**
 * GET /.well-known/jwks.json. Hasura v2 fetches it when its copy expires (Cache-Control max-age);
 * Hasura DDN fetches it on every GraphQL request. So, like the webhook, it is answered on
 * node:http in front of Express, from memory, with an ETag that lets a client that does send
 * If-None-Match get a 304.
 */

export const JWKS_PATH = '/.well-known/jwks.json';

interface Representation {
  keySet: PublishedKeySet;
  body: Buffer;
  etag: string;
}

/** Whether If-None-Match names this entity tag (weak comparison, RFC 9110 §13.1.2). */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export function createJwksResponder(signingKeys: SigningKeys, maxAgeSeconds: number, logger: Logger) {
  // Hasura v2 fetches the keys again only when this expires; with no max-age it never would.
  const cacheControl = `public, max-age=${maxAgeSeconds}`;
  let last: Representation | undefined;

  /** The key set's bytes and tag, made again only when the key set is another object. */
  function representationOf(keySet: PublishedKeySet): Representation {
    if (last?.keySet !== keySet) {
      const body = Buffer.from(JSON.stringify(keySet));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      last = { keySet, body, etag };
    }
    return last;
  }

  function send(req: IncomingMessage, res: ServerResponse, keySet: PublishedKeySet): void {
    const { body, etag } = representationOf(keySet);
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', JSON_CONTENT_TYPE);
    res.setHeader('Content-Length', body.length);
    res.end(body);
  }

  /** Answers from the key set, reading it first if it is not fresh in memory. */
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    send(req, res, signingKeys.publishedKeySetNow() ?? (await signingKeys.publishedKeySet()));
  }

  return {
    /** For the Express route, behind CORS and the request log. */
    answer,

    /**
     * Answers whether it took the request; the rest is Express's. A browser's call (it sends
     * Origin) goes to Express, whose CORS policy decides what it may read.
     */
    serveFast(req: IncomingMessage, res: ServerResponse): boolean {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (req.headers.origin !== undefined) return false;
      if (pathOf(req) !== JWKS_PATH) return false;
      const keySet = signingKeys.publishedKeySetNow();
      if (keySet) {
        send(req, res, keySet);
        return true;
      }
      answer(req, res).catch((error: unknown) => {
        // As every failure of this service is answered (Express sets these before its routes).
        setCommonHeaders(res);
        sendError(res, error, logger.child({ req: describeRequest(req, requestIdOf(req)) }));
      });
      return true;
    },
  };
}

export type JwksResponder = ReturnType<typeof createJwksResponder>;
