import { Router, type Request, type Response } from 'express';
import type { NewSession } from '../../domain/model';
import { accountOutcomeOf, type AccountAction, type Metrics } from '../../metrics';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import type { LogIn } from '../logins';
import type { Authenticator } from '../passport';
import { recordAuthEvent } from '../auth-events';
import { presentCurrentUser, presentNewSession } from '../presenters';
import { passwordChangeBody, signupBody } from '../schemas';
import type { SessionCookies } from '../session-cookie';
import { parseRequest } from '../validation';

export interface AccountsRouterDeps {
  cookies: SessionCookies;
  metrics: Metrics;
  logIn: LogIn;
}

/** Signing up, logging in, and the signed-in user's own account. */
export function accountsRouter(
  services: Services,
  passport: Authenticator,
  { cookies, metrics, logIn }: AccountsRouterDeps,
): Router {
  const { accounts, sessions, rateLimits } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  // The token goes in the body for mobile and server clients, and in the cookie for browsers.
  const setSessionCookie = (req: Request, res: Response, created: NewSession) => {
    res.append('Set-Cookie', cookies.issue(created.token, sessions.remainingLifetimeSeconds(created), req.secure));
  };

  /** Runs the action and counts how it ended: `success` or its catalogue code (`rate_limited` too). */
  async function counted(action: AccountAction, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      metrics.countAccountOutcome(action, 'success');
    } catch (error) {
      metrics.countAccountOutcome(action, accountOutcomeOf(error));
      throw error;
    }
  }

  router.post('/signup', (req, res) =>
    counted('signup', async () => {
      const body = parseRequest(signupBody, req.body);
      await rateLimits.admitSignup(req.ip);
      const user = await accounts.registerUser(body);
      const created = await sessions.createSession(user, req.get('user-agent'));
      recordAuthEvent(req, 'signup', { userId: user.id });
      setSessionCookie(req, res, created);
      res.status(201).json(presentNewSession(user, created));
    }),
  );

  router.post('/login', async (req, res) => {
    const answer = await logIn(req, { method: 'password', issued: 'session' }, async (user) => {
      const created = await sessions.createSession(user, req.get('user-agent'));
      setSessionCookie(req, res, created);
      return { answer: presentNewSession(user, created), sessionId: created.session.id };
    });
    res.json(answer);
  });

  router.get('/me', sessionRequired, (_req, res) => {
    res.json(presentCurrentUser(currentSession(res)));
  });

  router.post('/password', sessionRequired, (req, res) =>
    counted('password_change', async () => {
      const body = parseRequest(passwordChangeBody, req.body);
      await rateLimits.admitPasswordChange(req.ip);
      const { user } = currentSession(res);
      const created = await accounts.changePassword(user, { ...body, userAgent: req.get('user-agent') });
      recordAuthEvent(req, 'password.changed', { userId: user.id, sessionId: created.session.id });
      setSessionCookie(req, res, created);
      res.json(presentNewSession(user, created));
    }),
  );

  return router;
}
