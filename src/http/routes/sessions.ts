import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import type { Authenticator } from '../passport';
import { recordAuthEvent } from '../auth-events';
import { presentSession } from '../presenters';

const sessionIdParams = z.object({ id: z.uuid() });

/** A signed-in user's sessions: ending this one or all of them, listing them, ending one. */
export function sessionsRouter(services: Services, passport: Authenticator): Router {
  const { sessions } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  router.post('/logout', sessionRequired, async (req, res) => {
    const { user, session } = currentSession(res);
    await sessions.invalidateSession(session.id);
    recordAuthEvent(req, 'logout', { userId: user.id, sessionId: session.id });
    res.status(204).end();
  });

  router.post('/logout/all', sessionRequired, async (req, res) => {
    const { user } = currentSession(res);
    await sessions.invalidateUserSessions(user.id);
    recordAuthEvent(req, 'logout.all', { userId: user.id });
    res.status(204).end();
  });

  router.get('/sessions', sessionRequired, async (_req, res) => {
    const { user, session } = currentSession(res);
    const live = await sessions.listUserSessions(user.id);
    res.json({ sessions: live.map((each) => presentSession(each, session.id)) });
  });

  router.delete('/sessions/:id', sessionRequired, async (req, res) => {
    const params = sessionIdParams.safeParse(req.params);
    // A malformed id names no session, exactly as an unknown one does.
    if (!params.success) throw new AppError('NOT_FOUND', { message: 'No such session.' });
    const { user } = currentSession(res);
    await sessions.invalidateOwnSession(user.id, params.data.id);
    recordAuthEvent(req, 'session.revoked', { userId: user.id, sessionId: params.data.id });
    res.status(204).end();
  });

  return router;
}
