import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { FlowChecks } from '../identity-providers/provider-clients';

/**
 * What a login through a provider remembers between the redirect to the provider and its
 * callback, in a cookie of the browser's: signed (a forged or altered one is refused), HttpOnly,
 * SameSite=Lax (the provider's redirect back is a top-level GET, which carries it), ten minutes,
 * sent only to that provider's callback, and named after the flow's state, so that two tabs
 * logging in at once each keep their own.
 */

export const FLOW_LIFETIME_SECONDS = 600;
const COOKIE_PREFIX = 'hasura_auth_flow_';
// The state is 43 base64url characters; its first 16 (96 bits) name the cookie.
const NAME_LENGTH = 16;

export interface IdentityFlow {
  provider: string;
  checks: FlowChecks;
  /** Where the browser goes back to, as allowed by ALLOWED_RETURN_URLS; null: a page of ours. */
  returnTo: string | null;
  /** Linking: the user who started it, whose session must still be live at the callback. */
  linkUserId: number | null;
  /** The OpenID Provider's hosted login (its interaction uid) that the login goes back to. */
  interaction: string | null;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const cookieName = (state: string) => `${COOKIE_PREFIX}${state.slice(0, NAME_LENGTH)}`;
const callbackPath = (provider: string) => `/auth/${provider}/callback`;

export function createIdentityFlows(key: Uint8Array, now: () => number = Date.now) {
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest();

  return {
    /** The Set-Cookie that starts a flow. */
    start(flow: Omit<IdentityFlow, 'expiresAt'>, secure: boolean): string {
      const payload = Buffer.from(
        JSON.stringify({ ...flow, expiresAt: now() + FLOW_LIFETIME_SECONDS * 1000 } satisfies IdentityFlow),
      ).toString('base64url');
      return stringifySetCookie(cookieName(flow.checks.state), `${payload}.${mac(payload).toString('base64url')}`, {
        maxAge: FLOW_LIFETIME_SECONDS,
        path: callbackPath(flow.provider),
        httpOnly: true,
        secure,
        sameSite: 'lax',
      });
    },

    /** The flow that the callback's `state` names, if its cookie is there, genuine, live and for this provider. */
    read(cookieHeader: string | undefined, provider: string, state: string): IdentityFlow | undefined {
      if (cookieHeader === undefined || state.length < NAME_LENGTH) return undefined;
      const value = parseCookie(cookieHeader)[cookieName(state)];
      const [payload, signature, ...rest] = value?.split('.') ?? [];
      if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
      const expected = mac(payload);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const flow = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as IdentityFlow;
      // The whole state is compared, not only the part that named the cookie.
      if (flow.provider !== provider || flow.checks.state !== state || flow.expiresAt <= now()) return undefined;
      return flow;
    },

    /** The Set-Cookie that ends a flow, whatever its outcome: a flow is used once. */
    end(provider: string, state: string, secure: boolean): string {
      return stringifySetCookie(cookieName(state), '', {
        maxAge: 0,
        path: callbackPath(provider),
        httpOnly: true,
        secure,
        sameSite: 'lax',
      });
    },
  };
}

export type IdentityFlows = ReturnType<typeof createIdentityFlows>;

/**
 * Where a login may send the browser back to: an http(s) URL, absolute or a path on this
 * service, whose origin is an allowed entry's and whose path is under that entry's path. The URL
 * is parsed as a browser would parse it, and what is answered (and redirected to) is the parsed
 * URL, never the text given: `//evil.example`, `/\evil.example` and their encodings resolve to
 * another origin and are refused, and credentials in the URL are refused too.
 */
export function createReturnUrlPolicy(allowed: readonly string[], publicUrl: string) {
  const entries = allowed.map((entry) => new URL(entry));
  const base = `${publicUrl}/`;
  return (given: string): URL | undefined => {
    if (given.length > 2000) return undefined;
    let url: URL;
    try {
      url = new URL(given, base);
    } catch {
      return undefined;
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
      return undefined;
    }
    const admitted = entries.some(
      (entry) =>
        entry.origin === url.origin &&
        (entry.pathname === '/' ||
          url.pathname === entry.pathname ||
          url.pathname.startsWith(entry.pathname.endsWith('/') ? entry.pathname : `${entry.pathname}/`)),
    );
    return admitted ? url : undefined;
  };
}
