import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import { authenticateWithPassword, type Authenticator } from '../passport';
import { recordAuthEvent } from '../auth-events';
import { presentCurrentUser, presentNewSession } from '../presenters';
import { parseRequest } from '../validation';

const signupBody = z
  .object({ username: z.string(), password: z.string(), confirmPassword: z.string().optional() })
  .refine((body) => body.confirmPassword === undefined || body.confirmPassword === body.password, {
    path: ['confirmPassword'],
    message: 'does not match password',
  });

const loginBody = z.object({ username: z.string(), password: z.string() });

const passwordChangeBody = z.object({ currentPassword: z.string(), newPassword: z.string() });

/** Signing up, logging in, and the signed-in user's own account. */
export function accountsRouter(services: Services, passport: Authenticator): Router {
  const { accounts, sessions, rateLimits } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  router.post('/signup', async (req, res) => {
    const body = parseRequest(signupBody, req.body);
    await rateLimits.admitSignup(req.ip);
    const user = await accounts.registerUser(body);
    const created = await sessions.createSession(user, req.get('user-agent'));
    recordAuthEvent(req, 'signup', { userId: user.id });
    res.status(201).json(presentNewSession(user, created));
  });

  router.post('/login', async (req, res) => {
    const body = parseRequest(loginBody, req.body);
    const attempt = await rateLimits.admitLogin(req.ip, body.username);
    const user = await authenticateWithPassword(passport, body);
    if (!user) {
      recordAuthEvent(req, 'login.failed');
      throw new AppError('INVALID_CREDENTIALS');
    }
    await attempt.succeeded();
    const created = await sessions.createSession(user, req.get('user-agent'));
    recordAuthEvent(req, 'login.succeeded', { userId: user.id, sessionId: created.session.id });
    res.json(presentNewSession(user, created));
  });

  router.get('/me', sessionRequired, (_req, res) => {
    res.json(presentCurrentUser(currentSession(res)));
  });

  router.post('/password', sessionRequired, async (req, res) => {
    const body = parseRequest(passwordChangeBody, req.body);
    await rateLimits.admitPasswordChange(req.ip);
    const { user } = currentSession(res);
    const created = await accounts.changePassword(user, { ...body, userAgent: req.get('user-agent') });
    recordAuthEvent(req, 'password.changed', { userId: user.id, sessionId: created.session.id });
    res.json(presentNewSession(user, created));
  });

  return router;
}
