import type { IncomingHttpHeaders } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { Config } from '../config';
import type { Identity } from '../domain/caller-identity';

/**
 * The browser's session cookie: its names, how a Cookie header is read for it, and every
 * Set-Cookie this service writes. The cookie holds the same token the body returns; the browser
 * keeps it out of reach of the page's scripts (HttpOnly).
 */

const PLAIN_NAME = 'hasura_auth_session';
// The browser accepts a `__Host-` cookie only Secure, with Path=/ and no Domain, from this very
// host: no sibling subdomain can plant one or shadow it.
const HOST_PREFIXED_NAME = `__Host-${PLAIN_NAME}`;

export interface SessionCookie {
  token: string;
  /** It came under the `__Host-` name, which a browser holds only as a Secure cookie. */
  hostPrefixed: boolean;
}

export type CookieSettings = Config['cookie'];

/**
 * Writes the session cookie's Set-Cookie values. `requestSecure` says whether the request came
 * over HTTPS (Express's req.secure, which believes X-Forwarded-Proto only from TRUST_PROXY).
 */
export function createSessionCookies(settings: CookieSettings) {
  const attributes = (secure: boolean, maxAgeSeconds: number) => ({
    maxAge: maxAgeSeconds,
    path: '/',
    httpOnly: true,
    secure,
    sameSite: settings.sameSite,
    ...(settings.domain !== null && { domain: settings.domain }),
  });

  function issue(token: string, maxAgeSeconds: number, requestSecure: boolean): string {
    const secure = settings.alwaysSecure || requestSecure;
    const name = secure && settings.domain === null ? HOST_PREFIXED_NAME : PLAIN_NAME;
    return stringifySetCookie(name, token, attributes(secure, maxAgeSeconds));
  }

  // Always Secure and host-only, the cookie is only ever set under the `__Host-` name: one under
  // the plain name can only have been planted by a sibling subdomain (cookie tossing), to sign
  // the browser in as someone else, and is not read.
  const plainNameIssued = !(settings.alwaysSecure && settings.domain === null);

  /** The session token a Cookie header carries, if any. The `__Host-` cookie wins over the plain one. */
  function read(cookieHeader: string | undefined): SessionCookie | undefined {
    if (cookieHeader === undefined) return undefined;
    const cookies = parseCookie(cookieHeader);
    const prefixed = cookies[HOST_PREFIXED_NAME];
    if (prefixed !== undefined) return { token: prefixed, hostPrefixed: true };
    const plain = plainNameIssued ? cookies[PLAIN_NAME] : undefined;
    return plain === undefined ? undefined : { token: plain, hostPrefixed: false };
  }

  // A `__Host-` cookie stays one, since it can only have been set Secure.
  function reissue(headers: IncomingHttpHeaders, maxAgeSeconds: number, requestSecure: boolean): string | undefined {
    const cookie = read(headers.cookie);
    if (cookie === undefined) return undefined;
    return issue(cookie.token, maxAgeSeconds, requestSecure || cookie.hostPrefixed);
  }

  return {
    read,

    /** For a session just started, or renewed: it lives in the browser exactly as long as on the server. */
    issue,

    /** Deletes the cookie under both of its names: which one it has depends on how it was set. */
    clear(requestSecure: boolean): string[] {
      return [
        stringifySetCookie(HOST_PREFIXED_NAME, '', { ...attributes(true, 0), domain: undefined }),
        stringifySetCookie(PLAIN_NAME, '', attributes(settings.alwaysSecure || requestSecure, 0)),
      ];
    },

    /** The Set-Cookie that gives the cookie the request carried, if any, a new expiry. */
    reissue,

    /**
     * The Set-Cookie that carries a cookie session's new expiry, when this call moved its idle
     * deadline forward (at most once per touch interval); otherwise undefined.
     */
    renewal(headers: IncomingHttpHeaders, identity: Identity, requestSecure: boolean): string | undefined {
      if (identity.renewal?.credentialSource !== 'cookie') return undefined;
      return reissue(headers, identity.renewal.remainingLifetimeSeconds, requestSecure);
    },
  };
}

export type SessionCookies = ReturnType<typeof createSessionCookies>;

/** What reading a credential needs of the cookie: its name, under these settings. */
export type SessionCookieReader = Pick<SessionCookies, 'read'>;
