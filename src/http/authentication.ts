import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ADMIN_ROLE, rolesOfSession, type AuthenticatedSession } from '../domain/model';
import { AppError } from '../errors';
import { authenticateSession, type Authenticator } from './passport';

/** 401 with the challenge RFC 6750 asks for, naming the scheme a client should use. */
function unauthorized(message?: string): AppError {
  return new AppError('UNAUTHORIZED', { message, headers: { 'WWW-Authenticate': 'Bearer' } });
}

/** Lets the request through only with a live session, which later handlers read with currentSession. */
export function requireSession(passport: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const auth = await authenticateSession(passport, req.headers);
    if (!auth) throw unauthorized();
    res.locals.auth = auth;
    next();
  };
}

export function currentSession(res: Response): AuthenticatedSession {
  const auth = res.locals.auth as AuthenticatedSession | undefined;
  if (!auth) throw new Error('currentSession used on a route without requireSession');
  return auth;
}

/** The user the request's session belongs to, on a route that required one; otherwise undefined. */
export function signedInUserId(res: Response): number | undefined {
  return (res.locals.auth as AuthenticatedSession | undefined)?.user.id;
}

/** Hashing first gives equal lengths, so timingSafeEqual leaks neither content nor length. */
function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Admits only a request with `Authorization: Bearer <secret>`: for a machine, such as a metrics scraper. */
export function requireBearerSecret(secret: string): RequestHandler {
  return (req, _res, next) => {
    const given = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '')?.[1];
    if (given === undefined || !secretsEqual(given, secret)) throw unauthorized('A valid bearer secret is required.');
    next();
  };
}

/**
 * Admits the admin secret (X-Hasura-Admin-Secret, as Hasura itself names it) or a session of a
 * user holding `admin`. Without ADMIN_SECRET configured the header admits nothing, and a request
 * that relied on it is told why. A wrong secret or no session is 401; a session without `admin`
 * is 403, as is one whose `admin` MFA_REQUIRED_ROLES keeps for sessions with a second factor.
 */
export function requireAdmin(
  passport: Authenticator,
  adminSecret: string | null,
  secondFactorRoles: ReadonlySet<string>,
): RequestHandler {
  return async (req, res, next) => {
    const givenSecret = req.get('x-hasura-admin-secret');
    if (adminSecret !== null && givenSecret !== undefined) {
      if (!secretsEqual(givenSecret, adminSecret)) throw unauthorized('The admin secret is wrong.');
      next();
      return;
    }
    const auth = await authenticateSession(passport, req.headers);
    if (!auth) {
      throw unauthorized(
        givenSecret === undefined
          ? undefined
          : 'This service has no admin secret configured, so X-Hasura-Admin-Secret admits nothing: ' +
              'start it with ADMIN_SECRET set (at least 16 characters), or use the session of a user with the admin role.',
      );
    }
    if (!auth.user.roles.includes(ADMIN_ROLE))
      throw new AppError('FORBIDDEN', { message: 'This needs the admin role.' });
    if (!rolesOfSession(auth.user, auth.session, secondFactorRoles).includes(ADMIN_ROLE)) {
      throw new AppError('FORBIDDEN', {
        message: 'The admin role needs a session proved with a second factor: set one up, and log in with it.',
      });
    }
    res.locals.auth = auth;
    next();
  };
}
