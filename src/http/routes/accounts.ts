import { Router, type Request, type Response } from 'express';
import type { NewSession } from '../../domain/model';
import { AppError } from '../../errors';
import { accountOutcomeOf, type AccountAction, type Metrics } from '../../metrics';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import type { CsrfDefence } from '../csrf';
import { authenticateWithPassword, type Authenticator } from '../passport';
import { presentCurrentUser, presentNewSession } from '../presenters';
import { loginBody, passwordChangeBody, signupBody } from '../schemas';
import type { SessionCookies } from '../session-cookie';
import { parseRequest } from '../validation';

export interface BrowserSessions {
  cookies: SessionCookies;
  csrf: CsrfDefence;
}

/** Signing up, logging in, and the signed-in user's own account. */
export function accountsRouter(
  services: Services,
  passport: Authenticator,
  { cookies, csrf, metrics }: BrowserSessions & { metrics: Metrics },
): Router {
  const { accounts, sessions } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  // The token goes in the body for mobile and server clients, and in the cookie for browsers.
  const setSessionCookie = (req: Request, res: Response, created: NewSession) => {
    res.append('Set-Cookie', cookies.issue(created.token, sessions.remainingLifetimeSeconds(created), req.secure));
  };

  /** Runs the action and counts how it ended: `success` or its catalogue code. */
  async function counted(action: AccountAction, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      metrics.countAccountOutcome(action, 'success');
    } catch (error) {
      metrics.countAccountOutcome(action, accountOutcomeOf(error));
      throw error;
    }
  }

  router.post('/signup', csrf.forSessionIssuing, (req, res) =>
    counted('signup', async () => {
      const body = parseRequest(signupBody, req.body);
      const user = await accounts.registerUser(body);
      const created = await sessions.createSession(user, req.get('user-agent'));
      setSessionCookie(req, res, created);
      res.status(201).json(presentNewSession(user, created));
    }),
  );

  router.post('/login', csrf.forSessionIssuing, (req, res) =>
    counted('login', async () => {
      const body = parseRequest(loginBody, req.body);
      const user = await authenticateWithPassword(passport, body);
      if (!user) throw new AppError('INVALID_CREDENTIALS');
      const created = await sessions.createSession(user, req.get('user-agent'));
      setSessionCookie(req, res, created);
      res.json(presentNewSession(user, created));
    }),
  );

  router.get('/me', sessionRequired, (_req, res) => {
    res.json(presentCurrentUser(currentSession(res)));
  });

  router.post('/password', sessionRequired, (req, res) =>
    counted('password_change', async () => {
      const body = parseRequest(passwordChangeBody, req.body);
      const { user } = currentSession(res);
      const created = await accounts.changePassword(user.id, { ...body, userAgent: req.get('user-agent') });
      setSessionCookie(req, res, created);
      res.json(presentNewSession(user, created));
    }),
  );

  return router;
}
