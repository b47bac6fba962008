import request from 'supertest';
import { cookieHeader, sessionCookieOf } from './support/cookies';
import { logIn, webhookWithHeaders } from './support/requests';
import { expectCleanErrorBody, statusAndBody, statusAndCode } from './support/responses';
import { bearer, PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const APP_ORIGIN = 'https://app.example.com';
const OTHER_ORIGIN = 'https://evil.example.net';
const JSON_TYPE = { 'Content-Type': 'application/json' };

describe('CSRF defence', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      CORS_ORIGINS: `${APP_ORIGIN},http://localhost:5173`,
      ADMIN_USERNAME: 'root-admin',
      ADMIN_PASSWORD: PASSWORD,
    });
  });
  afterAll(() => app.close());

  async function cookieOf(username: string): Promise<{ Cookie: string }> {
    return cookieHeader(sessionCookieOf(await logIn(app, username)));
  }

  async function expectSessionAlive(cookie: { Cookie: string }): Promise<void> {
    expect((await request(app.http).get('/me').set(cookie)).status).toBe(200);
  }

  describe('a request authenticated by the session cookie', () => {
    it('is refused with 403 CSRF_REJECTED from an origin not in CORS_ORIGINS, and the session lives on', async () => {
      const cookie = await cookieOf((await signUp(app)).username);
      const res = await request(app.http).post('/logout').set(cookie).set(JSON_TYPE).set('Origin', OTHER_ORIGIN);
      expect(statusAndCode(res)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
      expectCleanErrorBody(res, 'CSRF_REJECTED');
      // The setting that lets a real app in.
      expect(res.body.error.message).toContain('CORS_ORIGINS');
      await expectSessionAlive(cookie);
    });

    it('is refused with 403 CSRF_REJECTED as a form post, even from an allowed origin', async () => {
      const cookie = await cookieOf((await signUp(app)).username);
      const res = await request(app.http)
        .post('/logout')
        .set(cookie)
        .set('Origin', APP_ORIGIN)
        .type('form')
        .send('a=b');
      expect(statusAndCode(res)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
      await expectSessionAlive(cookie);
    });

    it.each([
      ['a text/plain body', { 'Content-Type': 'text/plain' }],
      ['no content type and no origin', {}],
      ['Sec-Fetch-Site: cross-site', { ...JSON_TYPE, 'Sec-Fetch-Site': 'cross-site' }],
      ['Sec-Fetch-Site: same-site without an origin', { ...JSON_TYPE, 'Sec-Fetch-Site': 'same-site' }],
      ['Origin: null', { ...JSON_TYPE, Origin: 'null' }],
    ])('is refused with 403 CSRF_REJECTED with %s', async (_case, headers: Record<string, string>) => {
      const cookie = await cookieOf((await signUp(app)).username);
      const res = await request(app.http).post('/logout').set(cookie).set(headers);
      expect(statusAndCode(res)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
      await expectSessionAlive(cookie);
    });

    it.each([
      ['a JSON content type and no origin (not a browser)', JSON_TYPE],
      ['an allowed origin and no body', { Origin: APP_ORIGIN }],
      ['an allowed origin and JSON', { Origin: APP_ORIGIN, ...JSON_TYPE }],
      ['Sec-Fetch-Site: same-origin', { 'Sec-Fetch-Site': 'same-origin', Origin: 'https://auth.example.com' }],
    ])('is let through with %s', async (_case, headers: Record<string, string>) => {
      const cookie = await cookieOf((await signUp(app)).username);
      expect((await request(app.http).post('/logout').set(cookie).set(headers)).status).toBe(204);
    });

    it('guards /logout/all, /password, DELETE /sessions/:id and the admin API alike', async () => {
      const user = await signUp(app);
      const cookie = await cookieOf(user.username);
      const sessionId = (await request(app.http).get('/me').set(cookie)).body.session.id;
      const adminCookie = await cookieOf('root-admin');
      const forged = (test: request.Test, auth: { Cookie: string }) => test.set(auth).set('Origin', OTHER_ORIGIN);
      const attempts = [
        forged(request(app.http).post('/logout/all'), cookie),
        forged(request(app.http).post('/password'), cookie).send({
          currentPassword: PASSWORD,
          newPassword: 'x'.repeat(20),
        }),
        forged(request(app.http).delete(`/sessions/${sessionId}`), cookie),
        forged(request(app.http).post('/admin/roles'), adminCookie).send({ name: 'forged' }),
        forged(request(app.http).patch(`/admin/users/${user.id}`), adminCookie).send({ disabled: true }),
        forged(request(app.http).delete(`/admin/users/${user.id}/sessions`), adminCookie),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(statusAndCode(res)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
      }
      await expectSessionAlive(cookie);
      const roles = await request(app.http).get('/admin/roles').set(adminCookie).set('Origin', OTHER_ORIGIN);
      expect(roles.status).toBe(200);
      expect(roles.body.roles.map((role: { name: string }) => role.name)).not.toContain('forged');
    });
  });

  describe('the webhook, for a client request the browser marked cross-site', () => {
    const anonymous = { status: 200, body: { 'X-Hasura-Role': 'anonymous' } };

    it.each([
      ['GET', { 'Sec-Fetch-Site': 'cross-site' }],
      ['POST', { 'Sec-Fetch-Site': 'cross-site', Origin: OTHER_ORIGIN }],
      ['POST', { Origin: OTHER_ORIGIN }],
      ['POST', { Origin: 'null' }],
    ] as const)('does not count the cookie in %s mode with %j: the caller is anonymous', async (mode, marks) => {
      const cookie = await cookieOf((await signUp(app)).username);
      const res = await webhookWithHeaders(app, mode, { ...cookie, ...marks });
      expect(statusAndBody(res)).toEqual(anonymous);
    });

    it.each([
      ['GET', { 'Sec-Fetch-Site': 'same-site' }],
      ['GET', { 'Sec-Fetch-Site': 'same-origin' }],
      ['GET', {}],
      ['POST', { 'Sec-Fetch-Site': 'same-site', Origin: APP_ORIGIN }],
      ['POST', { 'Sec-Fetch-Site': 'same-origin', Origin: 'https://hasura.example.com' }],
      ['POST', {}],
    ] as const)('counts the cookie in %s mode with %j', async (mode, marks) => {
      const user = await signUp(app);
      const res = await webhookWithHeaders(app, mode, { ...(await cookieOf(user.username)), ...marks });
      expect(statusAndBody(res)).toEqual({
        status: 200,
        body: expect.objectContaining({ 'X-Hasura-User-Id': String(user.id) }),
      });
    });

    it.each(['GET', 'POST'] as const)('counts a bearer token in %s mode whatever the browser says', async (mode) => {
      const user = await signUp(app);
      const res = await webhookWithHeaders(app, mode, {
        ...bearer(user.token),
        'Sec-Fetch-Site': 'cross-site',
        Origin: OTHER_ORIGIN,
      });
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    });
  });

  describe('a request authenticated by a bearer token', () => {
    it('is not asked where it comes from: no cookie travelled with it', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').set(bearer(user.token)).set('Origin', OTHER_ORIGIN);
      expect(res.status).toBe(204);
    });
  });

  describe('login and signup, which set the cookie', () => {
    it('refuse a browser request from an origin not in CORS_ORIGINS with 403 CSRF_REJECTED', async () => {
      const user = await signUp(app);
      const login = await logIn(app, user.username).set('Origin', OTHER_ORIGIN);
      expect(statusAndCode(login)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
      const signup = await request(app.http)
        .post('/signup')
        .set('Origin', OTHER_ORIGIN)
        .send({ username: uniqueUsername(), password: PASSWORD });
      expect(statusAndCode(signup)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
    });

    it('refuse a form post from an allowed origin with 403 CSRF_REJECTED', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/login')
        .set('Origin', APP_ORIGIN)
        .type('form')
        .send({ username: user.username, password: PASSWORD });
      expect(statusAndCode(res)).toEqual({ status: 403, code: 'CSRF_REJECTED' });
    });

    it('accept JSON from an allowed origin, from the same origin, and from a client that is no browser', async () => {
      const user = await signUp(app);
      expect((await logIn(app, user.username).set('Origin', APP_ORIGIN)).status).toBe(200);
      expect((await logIn(app, user.username).set('Sec-Fetch-Site', 'same-origin')).status).toBe(200);
      expect((await logIn(app, user.username)).status).toBe(200);
    });
  });
});

describe('CORS', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ CORS_ORIGINS: APP_ORIGIN });
  });
  afterAll(() => app.close());

  it('answers a preflight from an allowed origin with that origin and credentials', async () => {
    const res = await request(app.http)
      .options('/login')
      .set('Origin', APP_ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-headers']).toMatch(/content-type/i);
  });

  it('lets an allowed origin read answers, errors included', async () => {
    const res = await request(app.http).get('/me').set('Origin', APP_ORIGIN);
    expect(res.status).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(res.headers.vary).toMatch(/origin/i);
  });

  /** Every CORS header of an answer. */
  const corsHeadersOf = (res: request.Response) =>
    Object.keys(res.headers).filter((name) => name.startsWith('access-control-'));

  it('never reflects an origin that is not allowed, and grants it nothing in a preflight', async () => {
    const preflight = await request(app.http)
      .options('/login')
      .set('Origin', OTHER_ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(corsHeadersOf(preflight)).toEqual([]);
    const res = await request(app.http).get('/me').set('Origin', OTHER_ORIGIN);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('serves no CORS on /webhook, preflight included: only Hasura calls it', async () => {
    const res = await request(app.http).get('/webhook').set('Origin', APP_ORIGIN);
    expect(res.status).toBe(200);
    expect(corsHeadersOf(res)).toEqual([]);
    for (const path of ['/webhook', '/webhook?from=hasura']) {
      const preflight = await request(app.http)
        .options(path)
        .set('Origin', APP_ORIGIN)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type');
      expect(corsHeadersOf(preflight)).toEqual([]);
    }
  });

  it('serves no CORS at all without CORS_ORIGINS', async () => {
    const plain = await startTestApp();
    try {
      const res = await request(plain.http).get('/me').set('Origin', APP_ORIGIN);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
