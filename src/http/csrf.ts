import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors';
import { readSessionCredential } from './credentials';
import type { SessionCookieReader } from './session-cookie';

/**
 * Cross-site request forgery defence for the requests a browser sends with the session cookie.
 * SameSite=Lax keeps the cookie off cross-site POSTs, but not off those from a sibling subdomain
 * (same site, another origin), nor from older browsers; and Hasura strips Origin before it calls
 * the webhook, so the check belongs here, on this service's own endpoints.
 *
 * A request passes when:
 * - its Origin is one of CORS_ORIGINS, or the browser says it is same-origin (Sec-Fetch-Site,
 *   which no page can set); a browser sends one of the two on every POST;
 * - and its body, if any, is application/json: a form or a text/plain fetch can be sent
 *   cross-site without asking, JSON cannot (it needs a CORS preflight, which CORS_ORIGINS
 *   decides). A bodiless request without that content type needs a passing Origin.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function isCookieAuthenticated(req: Request, cookies: SessionCookieReader): boolean {
  const credential = readSessionCredential(req.headers, cookies);
  return credential.kind === 'session-token' && credential.source === 'cookie';
}

function isJson(contentType: string): boolean {
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}

/** Why this request may be forged, or undefined when it may not. */
function forgeryRisk(req: Request, allowedOrigins: ReadonlySet<string>): string | undefined {
  const origin = req.get('origin');
  const fetchSite = req.get('sec-fetch-site');
  const sameOrigin = fetchSite === 'same-origin';
  if (!sameOrigin && origin !== undefined && !allowedOrigins.has(origin)) {
    return "The request comes from an origin that is not in CORS_ORIGINS; list the app's origin there.";
  }
  if (!sameOrigin && origin === undefined && fetchSite !== undefined && fetchSite !== 'none') {
    return "The request comes from another site; list the app's origin in CORS_ORIGINS.";
  }
  const contentType = req.get('content-type');
  if (contentType !== undefined) {
    return isJson(contentType) ? undefined : 'A request with the session cookie must send application/json.';
  }
  const originVouches = sameOrigin || (origin !== undefined && allowedOrigins.has(origin));
  if (hasBody(req) || !originVouches) return 'A request with the session cookie must send application/json.';
  return undefined;
}

export function createCsrfDefence(corsOrigins: readonly string[], cookies: SessionCookieReader) {
  const allowedOrigins = new Set(corsOrigins);
  const refuseForgeable = (req: Request) => {
    const risk = forgeryRisk(req, allowedOrigins);
    if (risk !== undefined) throw new AppError('CSRF_REJECTED', { message: risk });
  };
  return {
    /** Every state-changing request that the session cookie authenticates (Authorization wins, so not those). */
    forCookieSessions: ((req, _res, next) => {
      if (!SAFE_METHODS.has(req.method) && isCookieAuthenticated(req, cookies)) refuseForgeable(req);
      next();
    }) satisfies RequestHandler,

    /**
     * Login and signup, which set the cookie: a forged one would sign the victim in as the
     * attacker. Checked whenever a browser sent the request (it says where from) or it holds a cookie.
     */
    forSessionIssuing: ((req, _res, next) => {
      const fromBrowser = req.get('origin') !== undefined || req.get('sec-fetch-site') !== undefined;
      if (!SAFE_METHODS.has(req.method) && (fromBrowser || isCookieAuthenticated(req, cookies))) refuseForgeable(req);
      next();
    }) satisfies RequestHandler,
  };
}

export type CsrfDefence = ReturnType<typeof createCsrfDefence>;
