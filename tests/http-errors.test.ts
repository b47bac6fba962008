import request from 'supertest';
import { logIn, webhookGet, webhookPost } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import { PASSWORD, bearer, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const JSON_LIMIT = 2048;
const WEBHOOK_LIMIT = 8192;

/** A webhook POST body of about `bytes` bytes, which is otherwise a valid Hasura request. */
function webhookBodyOfSize(bytes: number, headers: Record<string, string> = {}) {
  const body = { headers, request: { query: '{ a }', variables: { padding: '' } } };
  body.request.variables.padding = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(body)));
  expect(Buffer.byteLength(JSON.stringify(body))).toBe(bytes);
  return body;
}

describe('HTTP errors', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      JSON_BODY_LIMIT_BYTES: String(JSON_LIMIT),
      WEBHOOK_BODY_LIMIT_BYTES: String(WEBHOOK_LIMIT),
    });
  });
  afterAll(() => app.close());

  describe('request bodies', () => {
    it.each(['/signup', '/login', '/webhook'])('answers malformed JSON on %s with 400 INVALID_JSON', async (path) => {
      const res = await request(app.http).post(path).set('Content-Type', 'application/json').send('{"username": "a",');
      expect(res.status).toBe(400);
      expectCleanErrorBody(res, 'INVALID_JSON');
    });

    it('answers a JSON body that is a bare string with 400 INVALID_JSON', async () => {
      const res = await request(app.http).post('/signup').set('Content-Type', 'application/json').send('"alice"');
      expect(res.status).toBe(400);
      expectCleanErrorBody(res, 'INVALID_JSON');
    });

    it('answers a body over JSON_BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await request(app.http)
        .post('/signup')
        .send({ username: uniqueUsername(), password: PASSWORD, padding: 'x'.repeat(JSON_LIMIT) });
      expect(res.status).toBe(413);
      expectCleanErrorBody(res, 'PAYLOAD_TOO_LARGE');
    });

    it('accepts a body just under JSON_BODY_LIMIT_BYTES', async () => {
      const body = { username: uniqueUsername(), password: PASSWORD, padding: '' };
      body.padding = 'x'.repeat(JSON_LIMIT - Buffer.byteLength(JSON.stringify(body)));
      const res = await request(app.http).post('/signup').send(body);
      expect(res.status).toBe(201);
    });

    it('accepts a webhook POST between the JSON limit and the larger webhook limit', async () => {
      const user = await signUp(app);
      const body = webhookBodyOfSize(JSON_LIMIT * 2, { Authorization: `Bearer ${user.token}` });
      const res = await request(app.http).post('/webhook').send(body);
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));

      // The same size is too large anywhere else.
      const elsewhere = await request(app.http).post('/login').send(body);
      expect(elsewhere.status).toBe(413);
    });

    it('answers a webhook POST over WEBHOOK_BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/webhook')
        .send(webhookBodyOfSize(WEBHOOK_LIMIT + 1, { Authorization: `Bearer ${user.token}` }));
      expect(res.status).toBe(413);
      expectCleanErrorBody(res, 'PAYLOAD_TOO_LARGE');
    });

    it('answers an unsupported charset with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await request(app.http)
        .post('/signup')
        .set('Content-Type', 'application/json; charset=klingon')
        .send(JSON.stringify({ username: uniqueUsername(), password: PASSWORD }));
      expect(res.status).toBe(415);
      expectCleanErrorBody(res, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it.each([
      ['without headers', { request: null }],
      ['with headers that are not an object', { headers: 'Authorization: Bearer x' }],
      ['with a header value that is not a string', { headers: { Authorization: 42 } }],
      ['that is empty', {}],
    ])('answers a webhook POST %s with 400 VALIDATION_FAILED', async (_label, body) => {
      const res = await request(app.http).post('/webhook').send(body);
      expect(res.status).toBe(400);
      expectCleanErrorBody(res, 'VALIDATION_FAILED');
    });

    it('answers validation failures with details naming the fields', async () => {
      const res = await request(app.http).post('/signup').send({ username: 1, password: null });
      expect(res.status).toBe(400);
      expectCleanErrorBody(res, 'VALIDATION_FAILED');
      const paths = res.body.error.details.map((detail: { path: string }) => detail.path);
      expect(paths).toEqual(expect.arrayContaining(['username', 'password']));
    });
  });

  describe('routes', () => {
    it.each([
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['GET', '/signup'],
      ['DELETE', '/me'],
      ['GET', '/webhook/extra'],
    ])('answers %s %s with 404 NOT_FOUND in JSON', async (method, path) => {
      const res = await request(app.http)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      expect(res.status).toBe(404);
      expectCleanErrorBody(res, 'NOT_FOUND');
    });

    it('sends no X-Powered-By header, on success or on error', async () => {
      const ok = await request(app.http).get('/healthz');
      const missing = await request(app.http).get('/nope');
      const refused = await request(app.http).get('/me');
      for (const res of [ok, missing, refused]) expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('marks every answer Cache-Control: no-store', async () => {
      const user = await signUp(app);
      const login = await logIn(app, user.username, user.password);
      expect(login.headers['cache-control']).toBe('no-store');
      expect((await request(app.http).get('/nope')).headers['cache-control']).toBe('no-store');
    });
  });

  describe('error bodies', () => {
    it('have exactly {error: {code, message}} and no internals, for every kind of refusal', async () => {
      const user = await signUp(app);
      const cases: [request.Test, number, string][] = [
        [request(app.http).post('/signup').send({ username: user.username, password: PASSWORD }), 409, 'USERNAME_TAKEN'],
        [request(app.http).post('/signup').send({ username: uniqueUsername(), password: 'short' }), 400, 'WEAK_PASSWORD'],
        [request(app.http).post('/signup').send({ username: 'a b', password: PASSWORD }), 400, 'VALIDATION_FAILED'],
        [request(app.http).post('/login').send({ username: user.username, password: 'wrong password' }), 401, 'INVALID_CREDENTIALS'],
        [request(app.http).get('/me'), 401, 'UNAUTHORIZED'],
        [request(app.http).get('/me').set(bearer('not-a-token')), 401, 'UNAUTHORIZED'],
        [request(app.http).delete('/sessions/not-a-uuid').set(bearer(user.token)), 404, 'NOT_FOUND'],
        [request(app.http).post('/password').set(bearer(user.token)).send({ currentPassword: 'wrong password', newPassword: PASSWORD }), 401, 'INVALID_CREDENTIALS'],
      ];
      for (const [pending, status, code] of cases) {
        const res = await pending;
        expect(res.status).toBe(status);
        expectCleanErrorBody(res, code);
      }
    });
  });

  describe('health', () => {
    it('answers /healthz with 200', async () => {
      const res = await request(app.http).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 while the database answers', async () => {
      const res = await request(app.http).get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ready' });
    });
  });
});

describe('HTTP errors during a database outage', () => {
  // The outage breaks the database for good, so this app is used for nothing else.
  let app: TestApp;
  let user: { username: string; password: string; token: string };
  beforeAll(async () => {
    app = await startTestApp();
    user = await signUp(app);
    expect((await request(app.http).get('/readyz')).status).toBe(200);
    await app.database.simulateOutage();
  });
  afterAll(() => app.close());

  it('answers /readyz with 503 DATABASE_UNAVAILABLE', async () => {
    const res = await request(app.http).get('/readyz');
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('still answers /healthz with 200', async () => {
    expect((await request(app.http).get('/healthz')).status).toBe(200);
  });

  it('answers /login with the right password with 503, not 401', async () => {
    const res = await logIn(app, user.username, user.password);
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers /login with a wrong password with 503, not 401', async () => {
    const res = await logIn(app, user.username, 'wrong password');
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers /signup with 503, not 401 or 409', async () => {
    const res = await request(app.http).post('/signup').send({ username: uniqueUsername(), password: PASSWORD });
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers /me with a valid token with 503, not 401', async () => {
    const res = await request(app.http).get('/me').set(bearer(user.token));
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('answers the webhook with a valid token with 503, never 401 or anonymous', async () => {
    const get = await webhookGet(app, user.token);
    expect(get.status).toBe(503);
    expectCleanErrorBody(get, 'DATABASE_UNAVAILABLE');
    const post = await webhookPost(app, user.token);
    expect(post.status).toBe(503);
    expectCleanErrorBody(post, 'DATABASE_UNAVAILABLE');
  });

  it('still refuses a malformed request with 400 before touching the database', async () => {
    const res = await request(app.http).post('/login').send({ username: user.username });
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
  });
});

describe('webhook without anonymous access', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ANONYMOUS_ROLE: '' });
  });
  afterAll(() => app.close());

  it('refuses a request without credentials with 401 and an empty object, in GET and POST', async () => {
    const get = await webhookGet(app);
    expect(get.status).toBe(401);
    expect(get.body).toEqual({});
    const post = await webhookPost(app, undefined, { headers: { 'Content-Type': 'application/json' } });
    expect(post.status).toBe(401);
    expect(post.body).toEqual({});
  });

  it('refuses a request for the anonymous role by name with 401', async () => {
    expect((await webhookGet(app, undefined, { role: 'anonymous' })).status).toBe(401);
  });

  it('still answers a valid token with 200', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
  });
});
