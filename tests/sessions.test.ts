import { createHash } from 'node:crypto';
import request from 'supertest';
import { logIn, logInToken, webhookGet, webhookPost } from './support/requests';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';


describe('sessions', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('GET /me', () => {
    it('answers the user and the calling session', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get('/me').set(bearer(user.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        roles: ['user'],
        defaultRole: 'user',
        sessionVariables: {},
        session: { id: expect.any(String), createdAt: expect.any(String), expiresAt: expect.any(String) },
      });
      const { createdAt, expiresAt } = res.body.session;
      expect(new Date(createdAt).toISOString()).toBe(createdAt);
      expect(new Date(expiresAt).getTime() - new Date(createdAt).getTime()).toBe(
        app.config.sessions.absoluteTimeoutSeconds * 1000,
      );
    });

    it('refuses a request without a token with 401 UNAUTHORIZED and a WWW-Authenticate header', async () => {
      const res = await request(app.http).get('/me');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('refuses an unknown token with 401 UNAUTHORIZED and a WWW-Authenticate header', async () => {
      const res = await request(app.http).get('/me').set(bearer('A'.repeat(43)));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('ignores a token in the query string', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get('/me').query({ access_token: user.token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    });

    it('ignores a token in the body', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').send({ access_token: user.token });
      expect(res.status).toBe(401);
      expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
    });
  });

  describe('POST /logout', () => {
    it('answers 204, after which the token is refused by /me and by the webhook in GET and POST', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').set(bearer(user.token));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      const me = await request(app.http).get('/me').set(bearer(user.token));
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe('UNAUTHORIZED');
      const get = await webhookGet(app, user.token);
      expect(get.status).toBe(401);
      expect(get.body).toEqual({});
      const post = await webhookPost(app, user.token);
      expect(post.status).toBe(401);
      expect(post.body).toEqual({});
    });

    it('leaves another session of the same user working', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);

      expect((await request(app.http).get('/me').set(bearer(other))).status).toBe(200);
      const hook = await webhookGet(app, other);
      expect(hook.status).toBe(200);
      expect(hook.body['X-Hasura-User-Id']).toBe(String(user.id));
    });

    it('refuses a second logout with the same token with 401', async () => {
      const user = await signUp(app);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(401);
    });

    it('refuses a request without a token with 401', async () => {
      expect((await request(app.http).post('/logout')).status).toBe(401);
    });
  });

  describe('POST /logout/all', () => {
    it('ends every session of the user and no one else’s', async () => {
      const user = await signUp(app);
      const second = await logInToken(app, user.username);
      const third = await logInToken(app, user.username);
      const bystander = await signUp(app);

      expect((await request(app.http).post('/logout/all').set(bearer(second)).send()).status).toBe(204);

      for (const token of [user.token, second, third]) {
        expect((await request(app.http).get('/me').set(bearer(token))).status).toBe(401);
        expect((await webhookGet(app, token)).status).toBe(401);
        expect((await webhookPost(app, token)).status).toBe(401);
      }
      expect((await webhookGet(app, bystander.token)).status).toBe(200);
    });

    it('lets the user log in again afterwards', async () => {
      const user = await signUp(app);
      expect((await request(app.http).post('/logout/all').set(bearer(user.token))).status).toBe(204);
      const fresh = await logInToken(app, user.username);
      expect((await webhookGet(app, fresh)).status).toBe(200);
    });
  });

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

  describe('storage', () => {
    it('stores only the SHA-256 hex of the token, and the token nowhere in the row', async () => {
      const user = await signUp(app);
      const sessionId = (await request(app.http).get('/me').set(bearer(user.token))).body.session.id;
      const row = await app.database.db('sessions').where({ id: sessionId }).first();
      expect(row.token_hash).toBe(createHash('sha256').update(user.token).digest('hex'));
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(user.token);
    });
  });
});

// Short timeouts, and every use recorded.
const SHORT_SESSIONS = {
  SESSION_IDLE_TIMEOUT_SECONDS: '120',
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
  SESSION_TOUCH_INTERVAL_SECONDS: '0',
};

describe('session expiry', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(SHORT_SESSIONS);
  });
  afterAll(() => app.close());

  it('refuses a session idle for longer than SESSION_IDLE_TIMEOUT_SECONDS', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(119);
    expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);

    const idle = await signUp(app);
    app.clock.advanceSeconds(121);
    const get = await webhookGet(app, idle.token);
    expect(get.status).toBe(401);
    expect(get.body).toEqual({});
    expect((await webhookPost(app, idle.token)).status).toBe(401);
    expect((await request(app.http).get('/me').set(bearer(idle.token))).status).toBe(401);
  });

  it('refuses an idle session even when it is used again later, and lets the user log in again', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(121);
    expect((await webhookGet(app, user.token)).status).toBe(401);
    app.clock.advanceSeconds(1);
    expect((await webhookGet(app, user.token)).status).toBe(401);
    expect((await webhookGet(app, await logInToken(app, user.username))).status).toBe(200);
  });

  it('keeps a session in use past the idle timeout valid until the absolute timeout, then refuses it', async () => {
    const user = await signUp(app);
    for (let elapsed = 100; elapsed <= 500; elapsed += 100) {
      app.clock.advanceSeconds(100);
      const res = await webhookGet(app, user.token);
      expect(res.status).toBe(200);
    }
    app.clock.advanceSeconds(99); // 599 s after signup
    expect((await webhookGet(app, user.token)).status).toBe(200);
    app.clock.advanceSeconds(1); // 600 s: the absolute end
    const get = await webhookGet(app, user.token);
    expect(get.status).toBe(401);
    expect(get.body).toEqual({});
    expect((await webhookPost(app, user.token)).status).toBe(401);
    expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(401);
  });

  it('bounds the webhook max-age by the idle timeout when that ends the session first', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    // WEBHOOK_MAX_AGE_SECONDS is the default 60 here, below the 120 s of idle life left.
    expect(res.body['Cache-Control']).toBe('max-age=60');
  });
});

describe('webhook max-age and the remaining session life', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      WEBHOOK_MAX_AGE_SECONDS: '86400',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
      SESSION_IDLE_TIMEOUT_SECONDS: '86400',
      SESSION_TOUCH_INTERVAL_SECONDS: '0',
    });
  });
  afterAll(() => app.close());

  const maxAge = (res: request.Response) => Number(/^max-age=(\d+)$/.exec(res.body['Cache-Control'])![1]);

  it('answers a max-age of the whole session life, not the larger cap, for a new session', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBe(600);
  });

  it('answers a max-age equal to the seconds left once the clock has moved', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(200);
    const get = await webhookGet(app, user.token);
    expect(get.status).toBe(200);
    expect(maxAge(get)).toBe(400);

    app.clock.advanceSeconds(350);
    const post = await webhookPost(app, user.token);
    expect(post.status).toBe(200);
    expect(maxAge(post)).toBe(50);
  });

  it('never answers a max-age beyond the session’s end', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(599);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBeLessThanOrEqual(1);
  });

  it('bounds max-age by the idle time left when the idle timeout is the nearer end', async () => {
    const shortIdle = await startTestApp({
      WEBHOOK_MAX_AGE_SECONDS: '86400',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
      SESSION_IDLE_TIMEOUT_SECONDS: '120',
      SESSION_TOUCH_INTERVAL_SECONDS: '60',
    });
    try {
      const user = await signUp(shortIdle);
      shortIdle.clock.advanceSeconds(30);
      // The use is not recorded yet (touch interval 60 s), so the idle end is still 120 s after signup.
      const res = await webhookGet(shortIdle, user.token);
      expect(res.status).toBe(200);
      expect(maxAge(res)).toBe(90);
    } finally {
      await shortIdle.close();
    }
  });
});

describe('last-used times', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SESSION_TOUCH_INTERVAL_SECONDS: '60' });
  });
  afterAll(() => app.close());

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

describe('purging dead sessions', () => {
  // An app of its own: the clock moves here, and the counts must see no other suite's sessions.
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(SHORT_SESSIONS);
  });
  afterAll(() => app.close());

  const countSessions = async () => Number((await app.database.db('sessions').count({ count: '*' }))[0].count);

  it('deletes idle and expired sessions, answers how many, and keeps live ones', async () => {
    const idle = await signUp(app); // never used again: idle-dead after 120 s
    const kept = await signUp(app); // used every 100 s: alive until its absolute end at 600 s
    for (let elapsed = 100; elapsed <= 500; elapsed += 100) {
      app.clock.advanceSeconds(100);
      expect((await webhookGet(app, kept.token)).status).toBe(200);
    }
    app.clock.advanceSeconds(101); // 601 s
    const live = await signUp(app);
    expect(await countSessions()).toBe(3);

    expect(await app.services.sessions.purgeDeadSessions()).toBe(2);
    expect(await countSessions()).toBe(1);
    expect((await webhookGet(app, live.token)).status).toBe(200);
    expect((await webhookGet(app, idle.token)).status).toBe(401);
    expect((await webhookGet(app, kept.token)).status).toBe(401);

    expect(await app.services.sessions.purgeDeadSessions()).toBe(0);
    expect(await countSessions()).toBe(1);
  });
});
