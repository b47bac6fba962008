import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import { authenticateWithPassword, type Authenticator } from '../passport';
import { presentNewSession, presentSession } from '../presenters';
import { parseRequest } from '../validation';

const signupBody = z
  .object({ username: z.string(), password: z.string(), confirmPassword: z.string().optional() })
  .refine((body) => body.confirmPassword === undefined || body.confirmPassword === body.password, {
    path: ['confirmPassword'],
    message: 'does not match password',
  });

const loginBody = z.object({ username: z.string(), password: z.string() });

const passwordChangeBody = z.object({ currentPassword: z.string(), newPassword: z.string() });

const sessionIdParams = z.object({ id: z.uuid() });

export function accountsRouter(services: Services, passport: Authenticator): Router {
  const { accounts, sessions } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  router.post('/signup', async (req, res) => {
    const body = parseRequest(signupBody, req.body);
    const user = await accounts.registerUser(body);
    const created = await sessions.createSession(user.id, req.get('user-agent'));
    res.status(201).json(presentNewSession(user, created));
  });

  router.post('/login', async (req, res) => {
    const body = parseRequest(loginBody, req.body);
    const user = await authenticateWithPassword(passport, body);
    if (!user) throw new AppError('INVALID_CREDENTIALS');
    const created = await sessions.createSession(user.id, req.get('user-agent'));
    res.json(presentNewSession(user, created));
  });

  router.post('/logout', sessionRequired, async (_req, res) => {
    await sessions.invalidateSession(currentSession(res).session.id);
    res.status(204).end();
  });

  router.post('/logout/all', sessionRequired, async (_req, res) => {
    await sessions.invalidateUserSessions(currentSession(res).user.id);
    res.status(204).end();
  });

  router.get('/me', sessionRequired, (_req, res) => {
    const { user, session } = currentSession(res);
    res.json({
      id: user.id,
      username: user.username,
      roles: user.roles,
      defaultRole: user.defaultRole,
      sessionVariables: user.sessionVariables,
      session: { id: session.id, createdAt: session.createdAt.toISOString(), expiresAt: session.expiresAt.toISOString() },
    });
  });

  router.post('/password', sessionRequired, async (req, res) => {
    const body = parseRequest(passwordChangeBody, req.body);
    const { user } = currentSession(res);
    const created = await accounts.changePassword(user.id, { ...body, userAgent: req.get('user-agent') });
    res.json(presentNewSession(user, created));
  });

  router.get('/sessions', sessionRequired, async (_req, res) => {
    const { user, session } = currentSession(res);
    const live = await sessions.listUserSessions(user.id);
    res.json({ sessions: live.map((each) => presentSession(each, session.id)) });
  });

  router.delete('/sessions/:id', sessionRequired, async (req, res) => {
    const params = sessionIdParams.safeParse(req.params);
    if (!params.success) throw new AppError('NOT_FOUND', 'No such session.');
    await sessions.invalidateOwnSession(currentSession(res).user.id, params.data.id);
    res.status(204).end();
  });

  return router;
}
