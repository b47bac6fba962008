import request from 'supertest';
import { logIn, logInToken, webhookGet } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody, statusAndCode } from './support/responses';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('a user’s own sessions', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SESSION_TOUCH_INTERVAL_SECONDS: '60' });
  });
  afterAll(() => app.close());

  const sessionIdOf = async (token: string): Promise<string> =>
    (await request(app.http).get('/me').set(bearer(token))).body.session.id;

  describe('GET /sessions', () => {
    it('lists exactly the user’s live sessions, with their times and user agents, and marks the calling one current', async () => {
      const user = await signUp(app); // supertest sends no User-Agent
      const second = await logIn(app, user.username).set('User-Agent', 'session-list-test/1.0');
      expect(second.status).toBe(200);
      await signUp(app); // someone else's session, which must not be listed
      const now = app.clock.now();
      const times = {
        createdAt: now.toISOString(),
        lastUsedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + app.config.sessions.absoluteTimeoutSeconds * 1000).toISOString(),
      };

      const res = await request(app.http).get('/sessions').set(bearer(second.body.token));
      expect(res.status).toBe(200);
      expect(res.body.sessions).toHaveLength(2);
      expect(res.body.sessions).toEqual(
        expect.arrayContaining([
          {
            id: await sessionIdOf(user.token),
            kind: 'bearer',
            ...times,
            userAgent: null,
            current: false,
            amr: ['pwd'],
          },
          {
            id: await sessionIdOf(second.body.token),
            kind: 'bearer',
            ...times,
            userAgent: 'session-list-test/1.0',
            current: true,
            amr: ['pwd'],
          },
        ]),
      );
    });

    it('lists the newest session first', async () => {
      const user = await signUp(app);
      const tokens = [user.token];
      for (let login = 0; login < 2; login += 1) {
        app.clock.advanceSeconds(1);
        tokens.push(await logInToken(app, user.username));
      }
      const res = await request(app.http).get('/sessions').set(bearer(user.token));
      const newestFirst = await Promise.all(tokens.reverse().map(sessionIdOf));
      expect(res.body.sessions.map((session: { id: string }) => session.id)).toEqual(newestFirst);
    });

    it('no longer lists a session after its logout', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);
      expect((await request(app.http).post('/logout').set(bearer(other))).status).toBe(204);

      const res = await request(app.http).get('/sessions').set(bearer(user.token));
      expect(res.status).toBe(200);
      expect(res.body.sessions.map((session: { id: string }) => session.id)).toEqual([await sessionIdOf(user.token)]);
    });

    it('refuses a request without a token with 401 UNAUTHORIZED', async () => {
      expect(statusAndCode(await request(app.http).get('/sessions'))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });

    it('moves lastUsedAt at most once per SESSION_TOUCH_INTERVAL_SECONDS (60 s), however often the session is used', async () => {
      const lastUsedAt = async (token: string) => {
        const res = await request(app.http).get('/sessions').set(bearer(token));
        expect(res.status).toBe(200);
        return res.body.sessions.find((session: { current: boolean }) => session.current).lastUsedAt as string;
      };
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

  describe('GET /sessions, at the edges', () => {
    const currentSession = async (token: string) => {
      const res = await request(app.http).get('/sessions').set(bearer(token));
      expect(res.status).toBe(200);
      return res.body.sessions.find((session: { current: boolean }) => session.current) as {
        lastUsedAt: string;
        userAgent: string | null;
      };
    };

    it('moves lastUsedAt once exactly SESSION_TOUCH_INTERVAL_SECONDS (60 s) have passed', async () => {
      const user = await signUp(app);
      app.clock.advanceSeconds(60);
      expect((await webhookGet(app, user.token)).status).toBe(200);
      expect((await currentSession(user.token)).lastUsedAt).toBe(app.clock.now().toISOString());
    });

    it('keeps the first 512 characters of a longer user agent', async () => {
      const user = await signUp(app);
      const userAgent = `long-agent/${'x'.repeat(1000)}`;
      const token = (await logIn(app, user.username).set('User-Agent', userAgent)).body.token as string;
      expect((await currentSession(token)).userAgent).toBe(userAgent.slice(0, 512));
    });
  });

  describe('DELETE /sessions/:id', () => {
    it('ends another of the user’s own sessions with 204, and the calling one stays live', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);

      const res = await request(app.http)
        .delete(`/sessions/${await sessionIdOf(other)}`)
        .set(bearer(user.token));
      expect(res.status).toBe(204);
      expect(statusAndBody(await webhookGet(app, other))).toEqual(WEBHOOK_REFUSAL);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });

    it('answers 404 NOT_FOUND for another user’s session, which keeps working', async () => {
      const owner = await signUp(app);
      const intruder = await signUp(app);

      const res = await request(app.http)
        .delete(`/sessions/${await sessionIdOf(owner.token)}`)
        .set(bearer(intruder.token));
      expect(statusAndCode(res)).toEqual({ status: 404, code: 'NOT_FOUND' });
      expect(res.body.error.message).toBe('No such session.');
      expect((await request(app.http).get('/me').set(bearer(owner.token))).status).toBe(200);
      expect((await webhookGet(app, owner.token)).status).toBe(200);
    });

    it('answers 404 NOT_FOUND for an unknown session id', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .delete('/sessions/00000000-0000-4000-8000-000000000000')
        .set(bearer(user.token));
      expect(statusAndCode(res)).toEqual({ status: 404, code: 'NOT_FOUND' });
    });

    it.each(['not-a-uuid', '1', "1' or '1'='1", '00000000-0000-4000-8000-00000000000'])(
      'answers 404 NOT_FOUND for the malformed id %s, and ends nothing',
      async (id) => {
        const user = await signUp(app);
        const res = await request(app.http)
          .delete(`/sessions/${encodeURIComponent(id)}`)
          .set(bearer(user.token));
        expect(statusAndCode(res)).toEqual({ status: 404, code: 'NOT_FOUND' });
        expect((await webhookGet(app, user.token)).status).toBe(200);
      },
    );

    it('refuses a request without a token with 401 UNAUTHORIZED, and ends nothing', async () => {
      const user = await signUp(app);
      const res = await request(app.http).delete(`/sessions/${await sessionIdOf(user.token)}`);
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });
  });
});
