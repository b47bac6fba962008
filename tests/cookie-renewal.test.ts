import request from 'supertest';
import { cookieHeader, sessionCookieOf, setCookiesOf } from './support/cookies';
import { logIn, webhookGet, webhookWithHeaders } from './support/requests';
import { bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

const IDLE_SECONDS = 600;
const TOUCH_SECONDS = 60;

describe('sliding renewal of the cookie through the webhook', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS),
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '86400',
      SESSION_TOUCH_INTERVAL_SECONDS: String(TOUCH_SECONDS),
    });
  });
  afterAll(() => app.close());

  it.each(['GET', 'POST'] as const)(
    'in %s mode answers a refreshed cookie once per touch interval, not once per request',
    async (mode) => {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username));

      // Within the touch interval of the login, no use is recorded and nothing moves.
      const early = await webhookWithHeaders(app, mode, cookieHeader(cookie));
      expect(early.status).toBe(200);
      expect(setCookiesOf(early)).toEqual([]);

      app.clock.advanceSeconds(TOUCH_SECONDS + 1);
      const renewed = await webhookWithHeaders(app, mode, cookieHeader(cookie));
      expect(renewed.status).toBe(200);
      expect(sessionCookieOf(renewed)).toEqual({ ...cookie, maxAge: IDLE_SECONDS });

      const next = await webhookWithHeaders(app, mode, cookieHeader(cookie));
      expect(next.status).toBe(200);
      expect(setCookiesOf(next)).toEqual([]);
    },
  );

  it('answers one refreshed cookie among concurrent calls on two instances', async () => {
    const peer = { http: await startPeerInstance(app) };
    const user = await signUp(app);
    const cookie = sessionCookieOf(await logIn(app, user.username));
    app.clock.advanceSeconds(TOUCH_SECONDS + 1);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => webhookWithHeaders(i % 2 === 0 ? app : peer, 'GET', cookieHeader(cookie))),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((res) => setCookiesOf(res).length > 0)).toHaveLength(1);
  });

  it('keeps an active browser signed in past the idle timeout of its login', async () => {
    const user = await signUp(app);
    const cookie = sessionCookieOf(await logIn(app, user.username));
    for (let elapsed = 0; elapsed < 2 * IDLE_SECONDS; elapsed += 5 * TOUCH_SECONDS) {
      app.clock.advanceSeconds(5 * TOUCH_SECONDS);
      const res = await webhookWithHeaders(app, 'GET', cookieHeader(cookie));
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
      expect(sessionCookieOf(res).maxAge).toBe(IDLE_SECONDS);
    }
  });

  it('sets no cookie for a session that came as a bearer token', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(TOUCH_SECONDS + 1);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(setCookiesOf(res)).toEqual([]);
    expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
  });

  it('sets no cookie on a refusal', async () => {
    const user = await signUp(app);
    const cookie = sessionCookieOf(await logIn(app, user.username));
    app.clock.advanceSeconds(TOUCH_SECONDS + 1);
    const res = await webhookWithHeaders(app, 'GET', { ...cookieHeader(cookie), 'X-Hasura-Role': 'admin' });
    expect(res.status).toBe(401);
    expect(setCookiesOf(res)).toEqual([]);
  });
});

describe('renewal of a __Host- cookie', () => {
  it('keeps the __Host- name and Secure, though Hasura calls the webhook over plain HTTP', async () => {
    const app = await startTestApp({ TRUST_PROXY: '127.0.0.1', SESSION_TOUCH_INTERVAL_SECONDS: String(TOUCH_SECONDS) });
    try {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username).set('X-Forwarded-Proto', 'https'));
      expect(cookie.name).toBe('__Host-hasura_auth_session');
      app.clock.advanceSeconds(TOUCH_SECONDS + 1);
      const renewed = sessionCookieOf(await webhookWithHeaders(app, 'GET', cookieHeader(cookie)));
      expect(renewed).toMatchObject({ name: cookie.name, value: cookie.value, secure: true, path: '/' });
    } finally {
      await app.close();
    }
  });
});
