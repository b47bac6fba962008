import type { Request } from 'express';
import type { User } from '../domain/model';
import type { RateLimits } from '../domain/rate-limits';
import { AppError } from '../errors';
import { accountOutcomeOf, type LoginKind, type Metrics } from '../metrics';
import { recordAuthEvent } from './auth-events';
import { checkLogin, type Authenticator } from './passport';
import { loginBody } from './schemas';
import { parseRequest } from './validation';

/**
 * Every way of logging in goes through here, so that each is rate limited, checked with the
 * same timing for unknown users, counted in hasura_auth_logins_total and recorded as an auth
 * event alike: an operator watching a credential-stuffing attack sees every door. What the login
 * gives (a session, a token pair) is the caller's `issue`.
 */
export function createLogins(passport: Authenticator, rateLimits: RateLimits, metrics: Metrics) {
  return async function logIn<T>(
    req: Request,
    kind: LoginKind,
    issue: (user: User) => Promise<{ answer: T; sessionId: string }>,
  ): Promise<T> {
    try {
      const user = await checkLogin(passport, rateLimits, req.ip, parseRequest(loginBody, req.body));
      if (!user) {
        recordAuthEvent(req, 'login.failed', { ...kind });
        throw new AppError('INVALID_CREDENTIALS');
      }
      const { answer, sessionId } = await issue(user);
      recordAuthEvent(req, 'login.succeeded', { ...kind, userId: user.id, sessionId });
      metrics.countLogin(kind, 'success');
      return answer;
    } catch (error) {
      metrics.countLogin(kind, accountOutcomeOf(error));
      throw error;
    }
  };
}

export type LogIn = ReturnType<typeof createLogins>;
