import type { Router } from 'express';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import { readSessionCredential } from '../credentials';
import { recordAuthEvent } from '../auth-events';
import { presentSession } from '../presenters';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';
import type { SessionCookies } from '../session-cookie';

/** A signed-in user's sessions: ending this one or all of them, listing them, ending one. */
export const sessionRoutes = {
  logOut: defineRoute({
    method: 'post',
    path: '/logout',
    summary: 'End the calling session',
    tag: 'sessions',
    access: 'session',
    answers: [noContent('The session is dead everywhere.')],
    usesDatabase: true,
  }),
  logOutEverywhere: defineRoute({
    method: 'post',
    path: '/logout/all',
    summary: 'End every session of the signed-in user',
    tag: 'sessions',
    access: 'session',
    answers: [noContent('Every session of the user is dead.')],
    usesDatabase: true,
  }),
  describeSession: defineRoute({
    method: 'get',
    path: '/session',
    summary: 'The calling session; a cookie session gets its cookie renewed',
    description:
      "Answers Set-Cookie with the session cookie's expiry moved to the session's own, whenever the session " +
      "came as the cookie. Hasura v2 renews the cookie through the webhook's answer; Hasura DDN drops that " +
      'header, so a browser app under DDN calls this at least once per idle timeout to keep its cookie.',
    tag: 'sessions',
    access: 'session',
    answers: [
      { status: 200, description: 'The session.', body: named('CurrentSession', schemas.currentSessionResponse) },
    ],
    usesDatabase: true,
  }),
  listSessions: defineRoute({
    method: 'get',
    path: '/sessions',
    summary: "The signed-in user's live sessions",
    tag: 'sessions',
    access: 'session',
    answers: [
      {
        status: 200,
        description: 'The live sessions, newest first.',
        body: named('SessionList', schemas.sessionListResponse),
      },
    ],
    usesDatabase: true,
  }),
  endSession: defineRoute({
    method: 'delete',
    path: '/sessions/{id}',
    summary: "End one of the signed-in user's own sessions",
    description: "A malformed id, an unknown one and another user's session are all 404.",
    tag: 'sessions',
    access: 'session',
    params: schemas.sessionIdParams,
    // A malformed id names no session, exactly as an unknown one does.
    malformedParams: { code: 'NOT_FOUND', message: 'No such session.' },
    answers: [noContent('That session is dead.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
};

export function sessionsRouter(
  services: Services,
  { cookies, support }: { cookies: SessionCookies; support: RouteSupport },
): Router {
  const { sessions } = services;
  return routerFor(
    sessionRoutes,
    {
      logOut: async (req, res) => {
        const { user, session } = currentSession(res);
        await sessions.endSession(session.id);
        recordAuthEvent(req, 'logout', { userId: user.id, sessionId: session.id });
        res.append('Set-Cookie', cookies.clear(req.secure)).status(204).end();
      },

      logOutEverywhere: async (req, res) => {
        const { user } = currentSession(res);
        await sessions.endUserSessions(user.id);
        recordAuthEvent(req, 'logout.all', { userId: user.id });
        res.append('Set-Cookie', cookies.clear(req.secure)).status(204).end();
      },

      describeSession: (req, res) => {
        const auth = currentSession(res);
        const credential = readSessionCredential(req.headers, cookies);
        if (credential.kind === 'session-token' && credential.source === 'cookie') {
          const renewed = cookies.reissue(req.headers, sessions.remainingLifetimeSeconds(auth), req.secure);
          if (renewed !== undefined) res.append('Set-Cookie', renewed);
        }
        res.json({ ...presentSession(auth.session, auth.session.id), endsAt: auth.endsAt.toISOString() });
      },

      listSessions: async (_req, res) => {
        const { user, session } = currentSession(res);
        const live = await sessions.listUserSessions(user.id);
        res.json({ sessions: live.map((each) => presentSession(each, session.id)) });
      },

      endSession: async (req, res, { params }) => {
        const { user, session } = currentSession(res);
        await sessions.endOwnSession(user.id, params.id);
        recordAuthEvent(req, 'session.ended', { userId: user.id, sessionId: params.id });
        // Ending the very session the request came with is a logout.
        if (params.id === session.id) res.append('Set-Cookie', cookies.clear(req.secure));
        res.status(204).end();
      },
    },
    support,
  );
}
