import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { Strategy as BearerStrategy, type VerifyFunction } from 'passport-http-bearer';
import type { Accounts } from '../domain/accounts';
import type { AuthenticatedSession, User } from '../domain/model';
import type { LoginAttempt, RateLimits } from '../domain/rate-limits';
import type { SessionManager } from '../domain/sessions';
import { AppError } from '../errors';
import { readSessionCredential } from './credentials';
import type { SessionCookieReader } from './session-cookie';

/**
 * passport-http-bearer would read the Authorization header itself, and also take
 * `access_token` from the query string and the body. This strategy is shown only the token
 * that readSessionCredential found, wherever the request carried it.
 */
class SessionTokenStrategy extends BearerStrategy<VerifyFunction> {
  constructor(
    private readonly cookies: SessionCookieReader,
    verify: VerifyFunction,
  ) {
    super(verify);
  }

  override authenticate(req: Request, options?: object): void {
    const credential = readSessionCredential(req.headers, this.cookies);
    const headers = credential.kind === 'session-token' ? { authorization: `Bearer ${credential.token}` } : {};
    super.authenticate({ headers } as Request, options);
  }
}

/** An app's own Passport instance. */
export type Authenticator = InstanceType<typeof Passport>;

export function createPassport(
  accounts: Accounts,
  sessions: SessionManager,
  cookies: SessionCookieReader,
): Authenticator {
  // A fresh instance per app: the global one would be shared between apps in one process.
  const passport = new Passport();
  passport.use(
    new LocalStrategy(
      { usernameField: 'username', passwordField: 'password', session: false },
      (username, password, done) => {
        // done(null, false) is a wrong password; done(error) is an outage and must not read as one.
        accounts.verifyCredentials(username, password).then((user) => done(null, user ?? false), done);
      },
    ),
  );
  passport.use(
    new SessionTokenStrategy(cookies, (token, done) => {
      sessions.validateSessionToken(token).then((auth) => done(null, auth ?? false), done);
    }),
  );
  return passport;
}

function runStrategy<T>(passport: Authenticator, strategy: string, req: object): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const middleware = passport.authenticate(strategy, { session: false }, (error: Error | null, result: T | false) => {
      if (error) reject(error);
      else resolve(result || undefined);
    }) as RequestHandler;
    void middleware(req as Request, {} as Response, reject);
  });
}

/**
 * Checks a username and password taken from the validated body. passport-local falls back to
 * the query string for any body field that is missing or empty, and URLs end up in logs, so
 * the strategy is shown the credentials alone.
 */
function authenticateWithPassword(
  passport: Authenticator,
  credentials: { username: string; password: string },
): Promise<User | undefined> {
  return runStrategy<User>(passport, 'local', { body: credentials, query: {} });
}

/**
 * The login check of /login and /token: the rate limits, then the password. Answers the user and
 * the attempt, whose success the caller records once the login is complete (after its second
 * factor, where the user has one), or undefined for wrong credentials; throws RATE_LIMITED, or
 * OVERLOADED when the password could not be checked, which then counts against no account.
 */
export async function checkLogin(
  passport: Authenticator,
  rateLimits: RateLimits,
  clientAddress: string | undefined,
  credentials: { username: string; password: string },
): Promise<{ user: User; attempt: LoginAttempt } | undefined> {
  const attempt = await rateLimits.admitLogin(clientAddress, credentials.username);
  let user: User | undefined;
  try {
    user = await authenticateWithPassword(passport, credentials);
  } catch (error) {
    if (error instanceof AppError && error.code === 'OVERLOADED') await attempt.notChecked();
    throw error;
  }
  return user && { user, attempt };
}

/** Finds the live session that these request headers carry credentials for. */
export function authenticateSession(
  passport: Authenticator,
  headers: IncomingHttpHeaders,
): Promise<AuthenticatedSession | undefined> {
  return runStrategy<AuthenticatedSession>(passport, 'bearer', { headers });
}
