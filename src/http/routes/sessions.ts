import { Router } from 'express';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { currentSession, requireSession } from '../authentication';
import type { Authenticator } from '../passport';
import { recordAuthEvent } from '../auth-events';
import { presentSession } from '../presenters';
import { sessionIdParams } from '../schemas';
import type { SessionCookies } from '../session-cookie';

/** A signed-in user's sessions: ending this one or all of them, listing them, ending one. */
export function sessionsRouter(services: Services, passport: Authenticator, cookies: SessionCookies): Router {
  const { sessions } = services;
  const router = Router();
  const sessionRequired = requireSession(passport);

  router.post('/logout', sessionRequired, async (req, res) => {
    const { user, session } = currentSession(res);
    await sessions.invalidateSession(session.id);
    recordAuthEvent(req, 'logout', { userId: user.id, sessionId: session.id });
    res.append('Set-Cookie', cookies.clear(req.secure)).status(204).end();
  });

  router.post('/logout/all', sessionRequired, async (req, res) => {
    const { user } = currentSession(res);
    await sessions.invalidateUserSessions(user.id);
    recordAuthEvent(req, 'logout.all', { userId: user.id });
    res.append('Set-Cookie', cookies.clear(req.secure)).status(204).end();
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
    const { user, session } = currentSession(res);
    await sessions.invalidateOwnSession(user.id, params.data.id);
    recordAuthEvent(req, 'session.revoked', { userId: user.id, sessionId: params.data.id });
    // Ending the very session the request came with is a logout.
    if (params.data.id === session.id) res.append('Set-Cookie', cookies.clear(req.secure));
    res.status(204).end();
  });

  return router;
}
