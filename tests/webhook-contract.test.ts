import request from 'supertest';
import { webhookGet, webhookPost } from './support/requests';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

// The conformance cases of docs/hasura-webhook-contract.md, numbered as there.
describe('Hasura webhook contract', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  // What Hasura sends along in GET mode: its own content type and user agent, no Host/Origin of the client's.
  const hasuraGetHeaders = {
    'Content-Type': 'application/json',
    'User-Agent': 'hasura-graphql-engine/v2.48.0',
    'x-request-id': 'req-123',
  };

  it('1. answers GET with a valid bearer token with the user role and id, all strings', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token, { headers: hasuraGetHeaders });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': String(user.id) });
    for (const value of Object.values(res.body)) expect(typeof value).toBe('string');
  });

  it('2. answers POST with the token in body.headers exactly as GET does', async () => {
    const user = await signUp(app);
    const get = await webhookGet(app, user.token);
    const post = await request(app.http)
      .post('/webhook')
      .send({ headers: { Authorization: `Bearer ${user.token}`, 'X-Request-Id': 'r1' }, request: { query: '{ me { id } }' } });
    expect(post.status).toBe(200);
    expect(post.body['X-Hasura-Role']).toBe('user');
    expect(post.body['X-Hasura-User-Id']).toBe(get.body['X-Hasura-User-Id']);
  });

  it.each([
    ['absent', {}],
    ['null', { request: null }],
    ['an array (batched query)', { request: [{ query: '{ a }' }, { query: '{ b }' }] }],
    ['an object', { request: { query: '{ a }', operationName: 'A', variables: { x: 1 } } }],
  ])('3. accepts POST whose request is %s', async (_label, extra) => {
    const user = await signUp(app);
    const res = await request(app.http)
      .post('/webhook')
      .send({ headers: bearer(user.token), ...extra });
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
  });

  it.each(['authorization', 'AUTHORIZATION', 'AuThOrIzAtIoN'])(
    '4. reads the header spelled %s in POST mode',
    async (name) => {
      const user = await signUp(app);
      const res = await webhookPost(app, undefined, { headers: { [name]: `Bearer ${user.token}` } });
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    },
  );

  it('4. accepts the bearer scheme in any case', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, undefined, { headers: { Authorization: `bearer ${user.token}` } });
    expect(res.status).toBe(200);
  });

  it('5. answers a request without credentials with the anonymous role, in GET and POST', async () => {
    const get = await webhookGet(app, undefined, { headers: hasuraGetHeaders });
    expect(get.status).toBe(200);
    expect(get.body).toEqual({ 'X-Hasura-Role': 'anonymous' });
    const post = await webhookPost(app, undefined, { headers: { 'Content-Type': 'application/json' } });
    expect(post.status).toBe(200);
    expect(post.body).toEqual({ 'X-Hasura-Role': 'anonymous' });
  });

  it.each([
    ['an unknown token', 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a token of the wrong shape', 'Bearer not-a-token'],
    ['an empty bearer token', 'Bearer '],
    ['a bare scheme', 'Bearer'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['extra words', 'Bearer abc def'],
    ['an empty header', ''],
  ])('6. refuses %s with 401 and an empty object, never anonymous', async (_label, authorization) => {
    const get = await webhookGet(app, undefined, { headers: { Authorization: authorization } });
    expect(get.status).toBe(401);
    expect(get.body).toEqual({});
    const post = await webhookPost(app, undefined, { headers: { Authorization: authorization } });
    expect(post.status).toBe(401);
    expect(post.body).toEqual({});
  });

  it('6. refuses a token after logout', async () => {
    const user = await signUp(app);
    expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(401);
  });

  it('7. grants a role the user holds when X-Hasura-Role asks for it', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token, { role: 'user' });
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-Role']).toBe('user');
  });

  it('7. refuses with 401 a role the user does not hold, in GET and POST', async () => {
    const user = await signUp(app);
    const get = await webhookGet(app, user.token, { role: 'admin' });
    expect(get.status).toBe(401);
    const post = await webhookPost(app, user.token, { headers: { 'x-hasura-role': 'admin' } });
    expect(post.status).toBe(401);
  });

  it('7. lets anonymous requests ask only for the anonymous role', async () => {
    expect((await webhookGet(app, undefined, { role: 'anonymous' })).status).toBe(200);
    expect((await webhookGet(app, undefined, { role: 'admin' })).status).toBe(401);
  });

  it('8. always answers a non-empty role and only string values', async () => {
    const user = await signUp(app);
    const res = await webhookPost(app, user.token);
    expect(res.body['X-Hasura-Role']).toEqual(expect.any(String));
    expect(res.body['X-Hasura-Role']).not.toBe('');
    expect(Object.values(res.body).every((value) => typeof value === 'string')).toBe(true);
  });

  it('9. bounds Cache-Control max-age by the configured cap', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.body['Cache-Control']).toBe(`max-age=${app.config.webhook.maxAgeSeconds}`);
  });

  it('11. answers 503, never 401 or anonymous, when the database is down', async () => {
    const outage = await startTestApp();
    try {
      const user = await signUp(outage);
      await outage.database.simulateOutage();
      const get = await webhookGet(outage, user.token);
      expect(get.status).toBe(503);
      expect(get.body.error.code).toBe('DATABASE_UNAVAILABLE');
      const post = await webhookPost(outage, user.token);
      expect(post.status).toBe(503);
    } finally {
      await outage.close();
    }
  });
});
