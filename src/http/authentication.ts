import type { RequestHandler, Response } from 'express';
import type { AuthenticatedSession } from '../domain/model';
import { AppError } from '../errors';
import { authenticateSession, type Authenticator } from './passport';

/** Lets the request through only with a live session, which later handlers read with currentSession. */
export function requireSession(passport: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const auth = await authenticateSession(passport, req.headers);
    if (!auth) throw new AppError('UNAUTHORIZED');
    res.locals.auth = auth;
    next();
  };
}

export function currentSession(res: Response): AuthenticatedSession {
  const auth = res.locals.auth as AuthenticatedSession | undefined;
  if (!auth) throw new Error('currentSession used on a route without requireSession');
  return auth;
}
