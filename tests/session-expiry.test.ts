import request from 'supertest';
import { changePassword, logInToken, webhookGet } from './support/requests';
import { WEBHOOK_REFUSAL, expectTokenRefused, statusAndBody } from './support/responses';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

// Short timeouts, and every use recorded.
const SHORT_SESSIONS = {
  SESSION_IDLE_TIMEOUT_SECONDS: '120',
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
  SESSION_TOUCH_INTERVAL_SECONDS: '0',
};

describe('session expiry (idle timeout 120 s, absolute timeout 600 s)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(SHORT_SESSIONS);
  });
  afterAll(() => app.close());

  it('accepts a session idle for 119 s, just under SESSION_IDLE_TIMEOUT_SECONDS', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(119);
    expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
  });

  it('refuses a session idle for exactly SESSION_IDLE_TIMEOUT_SECONDS (120 s)', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(120);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
  });

  it('refuses a session idle for 121 s, past SESSION_IDLE_TIMEOUT_SECONDS: /me with 401, the webhook with 401 {}', async () => {
    const idle = await signUp(app);
    app.clock.advanceSeconds(121);
    await expectTokenRefused(app, idle.token);
  });

  it('keeps refusing an idle-expired session when it is used again, and lets the user log in anew', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(121);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
    app.clock.advanceSeconds(1);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
    expect((await webhookGet(app, await logInToken(app, user.username))).status).toBe(200);
  });

  it('keeps a session in use past the idle timeout valid until the absolute timeout, then refuses it', async () => {
    const user = await signUp(app);
    for (let elapsed = 100; elapsed <= 500; elapsed += 100) {
      app.clock.advanceSeconds(100);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    }
    app.clock.advanceSeconds(99); // 599 s after signup
    expect((await webhookGet(app, user.token)).status).toBe(200);
    app.clock.advanceSeconds(1); // 600 s: the absolute end
    await expectTokenRefused(app, user.token);
  });
});

describe('session expiry of a session the webhook has cached (touch interval 60 s)', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Uses recorded once a minute: between them the webhook answers from its cache.
    app = await startTestApp({ ...SHORT_SESSIONS, SESSION_TOUCH_INTERVAL_SECONDS: '60' });
  });
  afterAll(() => app.close());

  /** A user whose session the webhook has answered, and so holds in its cache. */
  async function cachedUser() {
    const user = await signUp(app);
    expect((await webhookGet(app, user.token)).status).toBe(200);
    expect(app.services.sessionCache!.size).toBeGreaterThan(0);
    return user;
  }

  it('refuses it once idle for SESSION_IDLE_TIMEOUT_SECONDS, and a call then does not revive it', async () => {
    const user = await cachedUser();
    app.clock.advanceSeconds(120);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
    await expectTokenRefused(app, user.token);
  });

  it('refuses it at the absolute timeout, however recently it was used', async () => {
    const user = await cachedUser();
    for (let elapsed = 100; elapsed <= 500; elapsed += 100) {
      app.clock.advanceSeconds(100);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    }
    app.clock.advanceSeconds(90); // 590 s: its use recorded once more
    expect((await webhookGet(app, user.token)).status).toBe(200);
    // 600 s: the absolute end, 10 s after its last recorded use, so no write is due to check it:
    // the cache's own record of the end refuses it, at that very second.
    app.clock.advanceSeconds(10);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
    await expectTokenRefused(app, user.token);
  });
});

/** Every session row, live or dead: what a purge leaves behind. */
const countSessions = async (app: TestApp) =>
  Number((await app.database.db('sessions').count({ count: '*' }))[0]!.count);

describe('purging dead sessions', () => {
  // An app of its own: the clock moves here, and the counts must see no other suite's sessions.
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(SHORT_SESSIONS);
  });
  afterAll(() => app.close());

  it('deletes idle and expired sessions, answers how many, and keeps live ones', async () => {
    const idle = await signUp(app); // never used again: idle-dead after 120 s
    const kept = await signUp(app); // used every 100 s: alive until its absolute end at 600 s
    for (let elapsed = 100; elapsed <= 500; elapsed += 100) {
      app.clock.advanceSeconds(100);
      expect((await webhookGet(app, kept.token)).status).toBe(200);
    }
    app.clock.advanceSeconds(101); // 601 s
    const live = await signUp(app);
    expect(await countSessions(app)).toBe(3);

    expect(await app.services.sessions.purgeDeadSessions()).toBe(2);
    expect(await countSessions(app)).toBe(1);
    expect((await webhookGet(app, live.token)).status).toBe(200);
    expect(statusAndBody(await webhookGet(app, idle.token))).toEqual(WEBHOOK_REFUSAL);
    expect(statusAndBody(await webhookGet(app, kept.token))).toEqual(WEBHOOK_REFUSAL);

    expect(await app.services.sessions.purgeDeadSessions()).toBe(0);
    expect(await countSessions(app)).toBe(1);
  });

  it('deletes the sessions that a password change ended', async () => {
    const user = await signUp(app);
    const before = await countSessions(app);
    const change = await changePassword(app, user.token, { newPassword: 'a brand new password' });
    expect(change.status).toBe(200);
    expect(await app.services.sessions.purgeDeadSessions()).toBe(1);
    expect(await countSessions(app)).toBe(before);
    expect((await webhookGet(app, change.body.token)).status).toBe(200);
  });
});

describe('the purge timer', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ...SHORT_SESSIONS, SESSION_PURGE_INTERVAL_SECONDS: '1' });
  });
  afterAll(() => app.close());

  it('purges dead sessions by itself every SESSION_PURGE_INTERVAL_SECONDS', async () => {
    await signUp(app);
    app.clock.advanceSeconds(121); // idle-dead
    // Waits for the timer, bounded by the test timeout; nothing here asserts how long it took.
    while ((await countSessions(app)) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await countSessions(app)).toBe(0);
  });
});
