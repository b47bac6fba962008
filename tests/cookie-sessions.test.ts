import request from 'supertest';
import { cookieHeader, sessionCookieOf, setCookiesOf } from './support/cookies';
import { changePassword, logIn, WEBHOOK_MODES, webhookWithHeaders } from './support/requests';
import { statusAndBody, statusAndCode, WEBHOOK_REFUSAL } from './support/responses';
import { bearer, PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const SESSION_COOKIE = 'hasura_auth_session';

describe('the session cookie', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SESSION_IDLE_TIMEOUT_SECONDS: '600', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600' });
  });
  afterAll(() => app.close());

  describe('when a session starts', () => {
    it('login sets it HttpOnly, Path=/, SameSite=Lax, not Secure over plain HTTP, holding the token of the body, for the idle timeout', async () => {
      const user = await signUp(app);
      const res = await logIn(app, user.username);
      expect(res.status).toBe(200);
      expect(sessionCookieOf(res)).toEqual({
        name: SESSION_COOKIE,
        value: res.body.token,
        maxAge: 600,
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
      });
    });

    it('signup sets it with the token of the body', async () => {
      const res = await request(app.http).post('/signup').send({ username: uniqueUsername(), password: PASSWORD });
      expect(res.status).toBe(201);
      expect(sessionCookieOf(res)).toMatchObject({ name: SESSION_COOKIE, value: res.body.token, httpOnly: true });
    });

    it('a password change sets it with the new session token', async () => {
      const user = await signUp(app);
      const res = await changePassword(app, user.token, { newPassword: 'another long passphrase' });
      expect(res.status).toBe(200);
      expect(sessionCookieOf(res)).toMatchObject({ name: SESSION_COOKIE, value: res.body.token, maxAge: 600 });
      expect(res.body.token).not.toBe(user.token);
    });

    it('sets no cookie on a failed login', async () => {
      const user = await signUp(app);
      const res = await logIn(app, user.username, 'a wrong password');
      expect(res.status).toBe(401);
      expect(setCookiesOf(res)).toEqual([]);
    });
  });

  describe('wherever a token is read', () => {
    it('is accepted by GET /me', async () => {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username));
      const res = await request(app.http).get('/me').set(cookieHeader(cookie));
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(user.id);
    });

    it.each(WEBHOOK_MODES.map(([mode]) => mode))(
      'is accepted by the webhook in %s mode among other cookies',
      async (mode) => {
        const user = await signUp(app);
        const cookie = sessionCookieOf(await logIn(app, user.username));
        const res = await webhookWithHeaders(app, mode, {
          Cookie: `theme=dark; ${cookieHeader(cookie).Cookie}; lang=en`,
        });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': String(user.id) });
      },
    );

    it.each(WEBHOOK_MODES.map(([mode]) => mode))(
      'refuses an unknown or malformed cookie with 401 {} in %s mode, never the anonymous role',
      async (mode) => {
        for (const value of ['not-a-token', 'A'.repeat(43), '', '%E0%A4%A']) {
          const res = await webhookWithHeaders(app, mode, { Cookie: `${SESSION_COOKIE}=${value}` });
          expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL);
        }
      },
    );

    it('refuses an unknown cookie on /me with 401 UNAUTHORIZED', async () => {
      const res = await request(app.http).get('/me').set('Cookie', `${SESSION_COOKIE}=not-a-token`);
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });

    it('leaves a request whose cookies hold no session anonymous', async () => {
      const res = await webhookWithHeaders(app, 'GET', { Cookie: 'theme=dark' });
      expect(statusAndBody(res)).toEqual({ status: 200, body: { 'X-Hasura-Role': 'anonymous' } });
    });

    it.each(WEBHOOK_MODES.map(([mode]) => mode))(
      'lets Authorization win over the cookie in %s mode, both ways',
      async (mode) => {
        const alice = await signUp(app);
        const bob = await signUp(app);
        const bobsCookie = sessionCookieOf(await logIn(app, bob.username));

        const bearerWins = await webhookWithHeaders(app, mode, { ...bearer(alice.token), ...cookieHeader(bobsCookie) });
        expect(bearerWins.body['X-Hasura-User-Id']).toBe(String(alice.id));
        const badBearer = await webhookWithHeaders(app, mode, {
          ...bearer('not-a-token'),
          ...cookieHeader(bobsCookie),
        });
        expect(statusAndBody(badBearer)).toEqual(WEBHOOK_REFUSAL);
        const me = await request(app.http).get('/me').set(bearer(alice.token)).set(cookieHeader(bobsCookie));
        expect(me.body.id).toBe(alice.id);
      },
    );
  });

  describe('when the session ends', () => {
    it.each(['/logout', '/logout/all'])('%s deletes the cookie, after which the cookie is refused', async (path) => {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username));
      const res = await request(app.http).post(path).set(cookieHeader(cookie)).set('Content-Type', 'application/json');
      expect(res.status).toBe(204);
      const deletions = setCookiesOf(res);
      expect(deletions.map(({ name, value, maxAge }) => ({ name, value, maxAge }))).toEqual(
        expect.arrayContaining([{ name: SESSION_COOKIE, value: '', maxAge: 0 }]),
      );
      expect(statusAndBody(await webhookWithHeaders(app, 'GET', cookieHeader(cookie)))).toEqual(WEBHOOK_REFUSAL);
    });

    it('DELETE /sessions/:id deletes the cookie when it ends the session the cookie holds, and only then', async () => {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username));
      const json = { 'Content-Type': 'application/json' };
      const own = (await request(app.http).get('/me').set(cookieHeader(cookie))).body.session.id;
      const other = (await request(app.http).get('/me').set(bearer(user.token))).body.session.id;

      const endOther = await request(app.http).delete(`/sessions/${other}`).set(cookieHeader(cookie)).set(json);
      expect(endOther.status).toBe(204);
      expect(setCookiesOf(endOther)).toEqual([]);
      const endOwn = await request(app.http).delete(`/sessions/${own}`).set(cookieHeader(cookie)).set(json);
      expect(endOwn.status).toBe(204);
      expect(setCookiesOf(endOwn).map(({ name, maxAge }) => ({ name, maxAge }))).toContainEqual({
        name: SESSION_COOKIE,
        maxAge: 0,
      });
    });
  });
});

describe('the session cookie over HTTPS', () => {
  const overHttps = { 'X-Forwarded-Proto': 'https' };

  it('is Secure with the __Host- prefix when a trusted proxy says the request came over HTTPS', async () => {
    const app = await startTestApp({ TRUST_PROXY: 'loopback' });
    try {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username).set(overHttps));
      expect(cookie).toMatchObject({ name: `__Host-${SESSION_COOKIE}`, secure: true, path: '/', httpOnly: true });
      expect(cookie.domain).toBeUndefined();
      const hook = await webhookWithHeaders(app, 'GET', cookieHeader(cookie));
      expect(hook.body['X-Hasura-User-Id']).toBe(String(user.id));
    } finally {
      await app.close();
    }
  });

  it('believes no X-Forwarded-Proto without TRUST_PROXY', async () => {
    const app = await startTestApp();
    try {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username).set(overHttps));
      expect({ name: cookie.name, secure: cookie.secure }).toEqual({ name: SESSION_COOKIE, secure: undefined });
    } finally {
      await app.close();
    }
  });

  it('is always Secure with COOKIE_SECURE, and keeps its plain name, with a Domain, under COOKIE_DOMAIN', async () => {
    const app = await startTestApp({ COOKIE_SECURE: 'true', COOKIE_DOMAIN: 'example.com', COOKIE_SAME_SITE: 'Strict' });
    try {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username));
      expect(cookie).toMatchObject({ name: SESSION_COOKIE, secure: true, domain: 'example.com', sameSite: 'strict' });
    } finally {
      await app.close();
    }
  });

  it('is read only under the __Host- name with COOKIE_SECURE and no COOKIE_DOMAIN: a plain one can only be planted', async () => {
    const app = await startTestApp({ COOKIE_SECURE: 'true' });
    try {
      const user = await signUp(app);
      const cookie = sessionCookieOf(await logIn(app, user.username));
      expect(cookie).toMatchObject({ name: `__Host-${SESSION_COOKIE}`, secure: true });
      expect(cookie.domain).toBeUndefined();
      // A sibling subdomain can set a plain-named cookie for the parent domain (cookie tossing).
      const tossed = cookieHeader({ name: SESSION_COOKIE, value: cookie.value });
      for (const [mode] of WEBHOOK_MODES) {
        const hook = await webhookWithHeaders(app, mode, tossed);
        expect(statusAndBody(hook)).toEqual({ status: 200, body: { 'X-Hasura-Role': 'anonymous' } });
      }
      expect(statusAndCode(await request(app.http).get('/me').set(tossed))).toEqual({
        status: 401,
        code: 'UNAUTHORIZED',
      });
      const hook = await webhookWithHeaders(app, 'GET', cookieHeader(cookie));
      expect(hook.body['X-Hasura-User-Id']).toBe(String(user.id));
    } finally {
      await app.close();
    }
  });

  it('lives only until the absolute end when that comes before the idle deadline', async () => {
    const app = await startTestApp({ SESSION_IDLE_TIMEOUT_SECONDS: '600', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '120' });
    try {
      const user = await signUp(app);
      expect(sessionCookieOf(await logIn(app, user.username)).maxAge).toBe(120);
    } finally {
      await app.close();
    }
  });
});
