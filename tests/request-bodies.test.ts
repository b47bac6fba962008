import request from 'supertest';
import { expectCleanErrorBody } from './support/responses';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { logIn } from './support/requests';
import { PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const JSON_LIMIT = 2048;
const WEBHOOK_LIMIT = 8192;

/** A webhook POST body of about `bytes` bytes, which is otherwise a valid Hasura request. */
function webhookBodyOfSize(bytes: number, headers: Record<string, string> = {}) {
  const body = { headers, request: { query: '{ a }', variables: { padding: '' } } };
  body.request.variables.padding = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(body)));
  expect(Buffer.byteLength(JSON.stringify(body))).toBe(bytes);
  return body;
}

describe('request bodies', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      JSON_BODY_LIMIT_BYTES: String(JSON_LIMIT),
      WEBHOOK_BODY_LIMIT_BYTES: String(WEBHOOK_LIMIT),
      ADMIN_SECRET,
    });
  });
  afterAll(() => app.close());

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

  it('accepts a body of exactly JSON_BODY_LIMIT_BYTES', async () => {
    const body = { username: uniqueUsername(), password: PASSWORD, padding: '' };
    body.padding = 'x'.repeat(JSON_LIMIT - Buffer.byteLength(JSON.stringify(body)));
    expect(Buffer.byteLength(JSON.stringify(body))).toBe(JSON_LIMIT);
    const res = await request(app.http).post('/signup').send(body);
    expect(res.status).toBe(201);
    expect(res.body.username).toBe(body.username);
  });

  it('accepts a webhook POST between the JSON limit and the larger webhook limit, a size refused with 413 elsewhere', async () => {
    const user = await signUp(app);
    const body = webhookBodyOfSize(JSON_LIMIT * 2, { Authorization: `Bearer ${user.token}` });
    const res = await request(app.http).post('/webhook').send(body);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));

    // The same size is too large anywhere else.
    const elsewhere = await request(app.http).post('/login').send(body);
    expect(elsewhere.status).toBe(413);
    expectCleanErrorBody(elsewhere, 'PAYLOAD_TOO_LARGE');
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

  describe('the webhook POST body, which the webhook reads without Express', () => {
    const postWebhook = (token: string, contentType: string, contentEncoding?: string) => {
      const sent = request(app.http).post('/webhook').set('Content-Type', contentType);
      if (contentEncoding !== undefined) sent.set('Content-Encoding', contentEncoding);
      return sent.send(JSON.stringify({ headers: { Authorization: `Bearer ${token}` }, request: null }));
    };

    it.each([
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON; Charset=UTF-8',
      'application/json; charset="utf-8"',
      'application/json;charset=utf-8',
    ])('reads Content-Type: %s', async (contentType) => {
      const user = await signUp(app);
      const res = await postWebhook(user.token, contentType);
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    });

    it.each([
      'text/plain',
      'application/json; charset=latin1',
      'application/json; charset=utf-8x',
      'application/json; charset=not-utf-8',
      // The charset is read by its name, wherever it stands among the parameters.
      'application/json; q=1; charset=latin1',
      'application/jsonx',
    ])('answers Content-Type: %s with 415 UNSUPPORTED_MEDIA_TYPE', async (contentType) => {
      const user = await signUp(app);
      const res = await postWebhook(user.token, contentType);
      expect(res.status).toBe(415);
      expect(res.body.error).toEqual({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The webhook takes application/json in UTF-8.',
      });
    });

    it('reads a UTF-8 body that starts with a byte order mark, as express.json does', async () => {
      const user = await signUp(app);
      const json = JSON.stringify({ headers: { Authorization: `Bearer ${user.token}` }, request: null });
      const res = await request(app.http)
        .post('/webhook')
        .set('Content-Type', 'application/json')
        // Sent as UTF-8: the bytes EF BB BF, then the JSON. (A Buffer, superagent would turn into JSON.)
        .send(`\uFEFF${json}`);
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    });

    it.each(['identity', 'Identity'])('reads a body with Content-Encoding: %s', async (contentEncoding) => {
      const user = await signUp(app);
      const res = await postWebhook(user.token, 'application/json', contentEncoding);
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    });

    it('answers a body with Content-Encoding: gzip with 415 UNSUPPORTED_MEDIA_TYPE: Hasura never compresses', async () => {
      const user = await signUp(app);
      const res = await postWebhook(user.token, 'application/json', 'gzip');
      expect(res.status).toBe(415);
      expect(res.body.error).toEqual({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The webhook takes no Content-Encoding.',
      });
    });
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

  it('answers a validation failure with details naming the failing fields', async () => {
    const res = await request(app.http).post('/signup').send({ username: 1, password: null });
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
    const paths = res.body.error.details.map((detail: { path: string }) => detail.path);
    expect(paths).toEqual(expect.arrayContaining(['username', 'password']));
  });

  describe('text that is not Unicode, which would otherwise be replaced and so collide', () => {
    /** fetch sends a Buffer's bytes as they are; superagent would encode a string as UTF-8 first. */
    const postBytes = (path: string, body: Buffer) =>
      fetch(`${app.http}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

    it('refuses a password with a lone surrogate at signup, and its twin at login, with 400 VALIDATION_FAILED', async () => {
      const username = uniqueUsername();
      const signup = await request(app.http)
        .post('/signup')
        .set('Content-Type', 'application/json')
        .send(`{"username":"${username}","password":"\\ud800qwertyzxcv"}`);
      expect(signup.status).toBe(400);
      expectCleanErrorBody(signup, 'VALIDATION_FAILED');
      expect(signup.body.error.details).toEqual([{ path: 'password', message: expect.any(String) }]);

      await signUp(app, username);
      const login = await request(app.http)
        .post('/login')
        .set('Content-Type', 'application/json')
        .send(`{"username":"${username}","password":"\\udc00qwertyzxcv"}`);
      expect(login.status).toBe(400);
      expectCleanErrorBody(login, 'VALIDATION_FAILED');
      // The account is as it was.
      expect((await logIn(app, username)).status).toBe(200);
    });

    it('refuses a username of bytes that are not UTF-8 with 400 VALIDATION_FAILED, and makes no user', async () => {
      const res = await postBytes(
        '/signup',
        Buffer.concat([
          Buffer.from('{"username":"'),
          Buffer.from([0xff, 0xfe, 0xc0]),
          Buffer.from(`","password":"${PASSWORD}"}`),
        ]),
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
      const users = await request(app.http).get('/admin/users?limit=200').set(withAdminSecret);
      expect(users.body.users.map((user: { username: string }) => user.username)).not.toContain('\ufffd\ufffd\ufffd');
    });

    it('refuses a body in another charset with 415: JSON travels in UTF-8', async () => {
      const res = await request(app.http)
        .post('/login')
        .set('Content-Type', 'application/json; charset=utf-16le')
        .send(Buffer.from(JSON.stringify({ username: 'a', password: 'b' }), 'utf16le').toString('latin1'));
      expect(res.status).toBe(415);
      expectCleanErrorBody(res, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  it('refuses a body nested deeper than 32 levels with 400 before parsing it', async () => {
    const res = await request(app.http)
      .post('/login')
      .set('Content-Type', 'application/json')
      .send(`{"username":"a","password":"b","x":${'['.repeat(32)}${']'.repeat(32)}}`);
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
    // Brackets inside strings are text, not nesting.
    const text = await request(app.http)
      .post('/login')
      .send({ username: uniqueUsername(), password: '['.repeat(100) });
    expect(text.status).toBe(401);
  });

  it('refuses a session variable named __proto__ with 400, and keeps the variables the user had', async () => {
    const user = await signUp(app);
    const set = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'x-hasura-org-id': '7' } });
    expect(set.status).toBe(200);
    const res = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .set('Content-Type', 'application/json')
      .send('{"sessionVariables":{"__proto__":"x"}}');
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([{ path: 'sessionVariables.__proto__', message: expect.any(String) }]);
    const after = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
    expect(after.body.sessionVariables).toEqual({ 'x-hasura-org-id': '7' });
  });
});
