import request from 'supertest';
import { logIn, logInToken, webhookGet } from './support/requests';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('a user’s own sessions', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SESSION_TOUCH_INTERVAL_SECONDS: '60' });
  });
  afterAll(() => app.close());

  describe('GET /sessions', () => {
    it('lists the user’s live sessions and marks the calling one current', async () => {
      const user = await signUp(app);
      const second = await logIn(app, user.username).set('User-Agent', 'session-list-test/1.0');
      await signUp(app); // someone else's session, which must not be listed

      const res = await request(app.http).get('/sessions').set(bearer(second.body.token));
      expect(res.status).toBe(200);
      expect(res.body.sessions).toHaveLength(2);
      for (const session of res.body.sessions) {
        expect(session).toEqual({
          id: expect.any(String),
          createdAt: expect.any(String),
          lastUsedAt: expect.any(String),
          expiresAt: expect.any(String),
          userAgent: session.userAgent,
          current: expect.any(Boolean),
        });
        expect(session.userAgent === null || typeof session.userAgent === 'string').toBe(true);
      }
      const me = await request(app.http).get('/me').set(bearer(second.body.token));
      const current = res.body.sessions.filter((session: { current: boolean }) => session.current);
      expect(current).toHaveLength(1);
      expect(current[0].id).toBe(me.body.session.id);
      expect(current[0].userAgent).toBe('session-list-test/1.0');
    });

    it('no longer lists a session after its logout', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);
      const otherId = (await request(app.http).get('/me').set(bearer(other))).body.session.id;
      expect((await request(app.http).post('/logout').set(bearer(other))).status).toBe(204);

      const res = await request(app.http).get('/sessions').set(bearer(user.token));
      expect(res.body.sessions.map((session: { id: string }) => session.id)).not.toContain(otherId);
      expect(res.body.sessions).toHaveLength(1);
    });

    it('refuses a request without a token with 401', async () => {
      expect((await request(app.http).get('/sessions')).status).toBe(401);
    });
  });

  describe('DELETE /sessions/:id', () => {
    it('ends one of the user’s own other sessions with 204', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);
      const otherId = (await request(app.http).get('/me').set(bearer(other))).body.session.id;

      expect((await request(app.http).delete(`/sessions/${otherId}`).set(bearer(user.token))).status).toBe(204);
      expect((await webhookGet(app, other)).status).toBe(401);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });

    it('answers 404 NOT_FOUND for another user’s session, which keeps working', async () => {
      const owner = await signUp(app);
      const intruder = await signUp(app);
      const ownerSessionId = (await request(app.http).get('/me').set(bearer(owner.token))).body.session.id;

      const res = await request(app.http).delete(`/sessions/${ownerSessionId}`).set(bearer(intruder.token));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
      expect((await request(app.http).get('/me').set(bearer(owner.token))).status).toBe(200);
      expect((await webhookGet(app, owner.token)).status).toBe(200);
    });

    it('answers 404 NOT_FOUND for an unknown session id', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .delete('/sessions/00000000-0000-4000-8000-000000000000')
        .set(bearer(user.token));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    });

    it.each(['not-a-uuid', '1', "1' or '1'='1", '00000000-0000-4000-8000-00000000000'])(
      'answers 404 NOT_FOUND for the malformed id %s',
      async (id) => {
        const user = await signUp(app);
        const res = await request(app.http).delete(`/sessions/${encodeURIComponent(id)}`).set(bearer(user.token));
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('NOT_FOUND');
        expect((await webhookGet(app, user.token)).status).toBe(200);
      },
    );

    it('refuses a request without a token with 401', async () => {
      const user = await signUp(app);
      const id = (await request(app.http).get('/me').set(bearer(user.token))).body.session.id;
      expect((await request(app.http).delete(`/sessions/${id}`)).status).toBe(401);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });
  });

  describe('last-used times', () => {
    const lastUsedAt = async (token: string) => {
      const res = await request(app.http).get('/sessions').set(bearer(token));
      expect(res.status).toBe(200);
      return res.body.sessions.find((session: { current: boolean }) => session.current).lastUsedAt as string;
    };

    it('writes last-used at most once per SESSION_TOUCH_INTERVAL_SECONDS', async () => {
      const user = await signUp(app);
      const createdAt = (await request(app.http).get('/me').set(bearer(user.token))).body.session.createdAt;
      expect(await lastUsedAt(user.token)).toBe(createdAt);

      app.clock.advanceSeconds(10);
      expect((await webhookGet(app, user.token)).status).toBe(200);
      app.clock.advanceSeconds(10);
      expect((await webhookGet(app, user.token)).status).toBe(200);
      expect(await lastUsedAt(user.token)).toBe(createdAt);

      app.clock.advanceSeconds(41); // 61 s after signup
      expect((await webhookGet(app, user.token)).status).toBe(200);
      const moved = await lastUsedAt(user.token);
      expect(moved).toBe(app.clock.now().toISOString());
      expect(new Date(moved).getTime() - new Date(createdAt).getTime()).toBe(61_000);
    });
  });
});
