import type { IncomingHttpHeaders } from 'node:http';
import type { SessionCredential } from '../domain/caller-identity';
import type { SessionCookieReader } from './session-cookie';

/**
 * Reads the session credential a request carries. This is the only place that knows where
 * credentials travel (the Authorization header, or a browser's session cookie); the passport
 * strategy, the webhook and every other caller ask here.
 *
 * Authorization wins over the cookie whatever it holds: a client that sends one chose it.
 * Tokens are never read from the query string or the body: URLs end up in proxy and access logs.
 * A caller that must not honour the cookie for this request (a cross-site one) says so.
 */
export function readSessionCredential(
  headers: IncomingHttpHeaders,
  cookies: SessionCookieReader,
  { cookieAllowed = true }: { cookieAllowed?: boolean } = {},
): SessionCredential {
  const authorization = headers.authorization;
  if (authorization === undefined) {
    const cookie = cookieAllowed ? cookies.read(headers.cookie) : undefined;
    return cookie === undefined ? { kind: 'none' } : { kind: 'session-token', token: cookie.token, source: 'cookie' };
  }
  // RFC 6750: `Bearer <token>`, the scheme in any case, exactly one space.
  const [scheme = '', token, ...rest] = authorization.split(' ');
  if (token !== undefined && rest.length === 0 && /^bearer$/i.test(scheme)) {
    return { kind: 'session-token', token, source: 'authorization-header' };
  }
  return { kind: 'unreadable' };
}
