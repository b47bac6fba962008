import type { IncomingHttpHeaders } from 'node:http';
import type { SessionCredential } from '../domain/caller-identity';

/**
 * Reads the session credential a request carries. This is the only place that knows where
 * credentials travel (today the Authorization header); the passport strategy, the webhook and
 * every other caller ask here.
 *
 * Tokens are never read from the query string or the body: URLs end up in proxy and access logs.
 */
export function readSessionCredential(headers: IncomingHttpHeaders): SessionCredential {
  const authorization = headers.authorization;
  if (authorization === undefined) return { kind: 'none' };
  // RFC 6750: `Bearer <token>`, the scheme in any case, exactly one space.
  const parts = authorization.split(' ');
  if (parts.length === 2 && /^bearer$/i.test(parts[0])) return { kind: 'session-token', token: parts[1] };
  return { kind: 'unreadable' };
}
