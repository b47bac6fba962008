import request from 'supertest';
import { webhookGet, webhookPost } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody, statusAndCode } from './support/responses';
import { signUp, startTestApp, type TestApp } from './support/test-app';

// The conformance cases of docs/hasura-webhook-contract.md, numbered as there. Cases tested where
// their behaviour is, once: 6 after logout in logout.test.ts; 7 for a role the user does not hold
// in roles-and-session-variables.test.ts; 9 (max-age) in webhook-max-age.test.ts; 11 (503 while the
// database is down) in database-outage.test.ts.
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
      .send({
        headers: { Authorization: `Bearer ${user.token}`, 'X-Request-Id': 'r1' },
        request: { query: '{ me { id } }' },
      });
    expect(get.status).toBe(200);
    expect(post.status).toBe(200);
    expect(post.body).toEqual(get.body);
    expect(post.body['X-Hasura-User-Id']).toBe(String(user.id));
  });

  it('answers GET and POST at the webhook URL with a query string, which Hasura sends as configured', async () => {
    const user = await signUp(app);
    const get = await request(app.http).get('/webhook?tenant=acme&x=1').set('Authorization', `Bearer ${user.token}`);
    const post = await request(app.http)
      .post('/webhook?tenant=acme')
      .send({ headers: { Authorization: `Bearer ${user.token}` } });
    for (const res of [get, post]) {
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    }
    // Only the path itself is the webhook's.
    expect(
      (await request(app.http).get('/webhookx?tenant=acme').set('Authorization', `Bearer ${user.token}`)).status,
    ).toBe(404);
  });

  it('answers HEAD as GET, without a body', async () => {
    const user = await signUp(app);
    const res = await request(app.http).head('/webhook').set('Authorization', `Bearer ${user.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).toBeUndefined();
  });

  it.each(['put', 'patch', 'delete'] as const)(
    'answers %s /webhook as an unknown route, 404 NOT_FOUND',
    async (method) => {
      const user = await signUp(app);
      const res = await request(app.http)[method]('/webhook').set('Authorization', `Bearer ${user.token}`);
      expect(statusAndCode(res)).toEqual({ status: 404, code: 'NOT_FOUND' });
    },
  );

  it.each([
    ['absent', {}],
    ['null', { request: null }],
    ['an array (batched query)', { request: [{ query: '{ a }' }, { query: '{ b }' }] }],
    ['an object', { request: { query: '{ a }', operationName: 'A', variables: { x: 1 } } }],
  ])('3. accepts POST whose request is %s', async (_label, extra) => {
    const user = await signUp(app);
    const res = await request(app.http)
      .post('/webhook')
      .send({ headers: { Authorization: `Bearer ${user.token}` }, ...extra });
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
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
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
  ])('6. refuses %s with 401 and an empty object, never anonymous, in GET and POST', async (_label, authorization) => {
    const headers = { Authorization: authorization };
    expect(statusAndBody(await webhookGet(app, undefined, { headers }))).toEqual(WEBHOOK_REFUSAL);
    expect(statusAndBody(await webhookPost(app, undefined, { headers }))).toEqual(WEBHOOK_REFUSAL);
  });

  it('7. grants a role the user holds when X-Hasura-Role asks for it', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token, { role: 'user' });
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-Role']).toBe('user');
  });

  it('7. lets anonymous requests ask for the anonymous role, and refuses any other with 401 {}', async () => {
    const anonymous = await webhookGet(app, undefined, { role: 'anonymous' });
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ 'X-Hasura-Role': 'anonymous' });
    expect(statusAndBody(await webhookGet(app, undefined, { role: 'admin' }))).toEqual(WEBHOOK_REFUSAL);
  });

  it('8. always answers a non-empty role and only string values', async () => {
    const user = await signUp(app);
    const res = await webhookPost(app, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-Role']).toEqual(expect.any(String));
    expect(res.body['X-Hasura-Role']).not.toBe('');
    expect(Object.values(res.body).every((value) => typeof value === 'string')).toBe(true);
  });
});
