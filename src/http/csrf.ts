import { createHmac, timingSafeEqual } from 'node:crypto';
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

/**
 * Why a page's form post may be forged, or undefined when it may not. Forms are posted by this
 * service's own pages only: the browser says the post is same-origin (Sec-Fetch-Site), or, where
 * it does not send that header, its Origin is this very host.
 */
function pageFormRisk(req: Request): string | undefined {
  const fetchSite = req.get('sec-fetch-site');
  if (fetchSite !== undefined)
    return fetchSite === 'same-origin' ? undefined : 'The form was posted from another site.';
  const origin = req.get('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.get('host') ?? ''}`) {
    return 'The form was posted from another origin.';
  }
  return undefined;
}

/** The name of the hidden field that carries a page form's CSRF token. */
export const PAGE_FORM_TOKEN_FIELD = 'csrf';

export function createCsrfDefence(corsOrigins: readonly string[], cookies: SessionCookieReader, pageFormKey: Buffer) {
  const allowedOrigins = new Set(corsOrigins);
  // Bound to the session cookie, so a token read off one session's page is worth nothing with
  // another; a MAC, so that nothing needs storing.
  const pageFormTokenOf = (sessionToken: string) =>
    createHmac('sha256', pageFormKey).update(`page-form:${sessionToken}`).digest('base64url');
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

    /** A page's form post, before its body is read: it must come from this service's own pages. */
    forPageForms: ((req, _res, next) => {
      const risk = pageFormRisk(req);
      if (risk !== undefined) throw new AppError('CSRF_REJECTED', { message: risk });
      next();
    }) satisfies RequestHandler,

    /**
     * A signed-in page's form post, once its body is read: with the session cookie, it must carry
     * the token that the page's form was given for that cookie (synchroniser token).
     */
    forSignedInPageForms: ((req, _res, next) => {
      const cookie = cookies.read(req.headers.cookie);
      if (cookie !== undefined) {
        const given = (req.body as Record<string, unknown> | undefined)?.[PAGE_FORM_TOKEN_FIELD];
        const expected = Buffer.from(pageFormTokenOf(cookie.token));
        const matches =
          typeof given === 'string' &&
          Buffer.byteLength(given) === expected.length &&
          timingSafeEqual(Buffer.from(given), expected);
        if (!matches) {
          throw new AppError('CSRF_REJECTED', { message: 'The form is out of date. Open the page again.' });
        }
      }
      next();
    }) satisfies RequestHandler,

    /** The token a signed-in page puts in its forms, for the session cookie the request carries. */
    pageFormToken(req: Request): string {
      const cookie = cookies.read(req.headers.cookie);
      return cookie === undefined ? '' : pageFormTokenOf(cookie.token);
    },
  };
}

export type CsrfDefence = ReturnType<typeof createCsrfDefence>;
