import { Router } from 'express';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import { authenticateWithPassword, type Authenticator } from '../passport';
import { presentCurrentUser, presentNewSession } from '../presenters';
import { loginBody, passwordChangeBody, signupBody } from '../schemas';
import { parseRequest } from '../validation';

/** Signing up, logging in, and the signed-in user's own account. */
export function accountsRouter(services: Services, passport: Authenticator): Router {
  const { accounts, sessions } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  router.post('/signup', async (req, res) => {
    const body = parseRequest(signupBody, req.body);
    const user = await accounts.registerUser(body);
    const created = await sessions.createSession(user, req.get('user-agent'));
    res.status(201).json(presentNewSession(user, created));
  });

  router.post('/login', async (req, res) => {
    const body = parseRequest(loginBody, req.body);
    const user = await authenticateWithPassword(passport, body);
    if (!user) throw new AppError('INVALID_CREDENTIALS');
    const created = await sessions.createSession(user, req.get('user-agent'));
    res.json(presentNewSession(user, created));
  });

  router.get('/me', sessionRequired, (_req, res) => {
    res.json(presentCurrentUser(currentSession(res)));
  });

  router.post('/password', sessionRequired, async (req, res) => {
    const body = parseRequest(passwordChangeBody, req.body);
    const { user } = currentSession(res);
    const created = await accounts.changePassword(user.id, { ...body, userAgent: req.get('user-agent') });
    res.json(presentNewSession(user, created));
  });

  return router;
}
