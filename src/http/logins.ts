import type { Request } from 'express';
import type { User } from '../domain/model';
import type { RateLimits } from '../domain/rate-limits';
import { AppError } from '../errors';
import type { LoginKind } from '../metrics';
import { recordAuthEvent } from './auth-events';
import { checkLogin, type Authenticator } from './passport';

/**
 * Every way of logging in goes through here, so that each is rate limited, checked with the
 * same timing for unknown users and recorded as an auth event alike: an operator watching a
 * credential-stuffing attack sees every door. Its route counts it in hasura_auth_logins_total
 * (its definition's `countedAs`, which is the kind passed here). What the login gives (a
 * session, a token pair) is the caller's `issue`.
 */
export function createLogins(passport: Authenticator, rateLimits: RateLimits) {
  return async function logIn<T>(
    req: Request,
    credentials: { username: string; password: string },
    kind: LoginKind,
    issue: (user: User) => Promise<{ answer: T; sessionId: string }>,
  ): Promise<T> {
    const user = await checkLogin(passport, rateLimits, req.ip, credentials);
    if (!user) {
      recordAuthEvent(req, 'login.failed', { ...kind });
      throw new AppError('INVALID_CREDENTIALS');
    }
    const { answer, sessionId } = await issue(user);
    recordAuthEvent(req, 'login.succeeded', { ...kind, userId: user.id, sessionId });
    return answer;
  };
}

export type LogIn = ReturnType<typeof createLogins>;
