import request from 'supertest';
import { expectCleanErrorBody } from './support/responses';
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
});
