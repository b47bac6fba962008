import { decodeJwt } from 'jose';
import request from 'supertest';
import { ADMIN_SECRET, createRole, withAdminSecret } from './support/admin';
import { obtainTokens } from './support/jwt';
import { webhookWithHeaders } from './support/requests';
import { PASSWORD, bearer, signUp, startTestApp, type TestApp } from './support/test-app';

// A client's mistake is a 4xx with a stable code, and never an error-level log line.
describe('client mistakes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  /** The log lines at error level or above written since `from`. */
  const errorLinesSince = (from: number) =>
    app.logLines.slice(from).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

  it('answers a session id that does not decode (%ff) with 400 VALIDATION_FAILED', async () => {
    const before = app.logLines.length;
    const res = await request(app.http).delete('/sessions/%ff');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(errorLinesSince(before)).toEqual([]);
  });

  it('answers a body marked Content-Encoding: gzip that is not gzip with 400 VALIDATION_FAILED', async () => {
    const before = app.logLines.length;
    const res = await request(app.http)
      .post('/login')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send(JSON.stringify({ username: 'someone', password: PASSWORD }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(errorLinesSince(before)).toEqual([]);
  });

  it('answers a login whose username holds a NUL with 401 INVALID_CREDENTIALS, as any unknown name', async () => {
    const before = app.logLines.length;
    const res = await request(app.http).post('/login').send({ username: 'ali\u0000ce', password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
    expect(errorLinesSince(before)).toEqual([]);
  });

  it('answers a session variable value holding a NUL with 400 VALIDATION_FAILED, and keeps the old ones', async () => {
    const user = await signUp(app);
    const set = (value: string) =>
      request(app.http)
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ sessionVariables: { 'x-hasura-org-id': value } });
    expect((await set('42')).status).toBe(200);
    const before = app.logLines.length;
    const res = await set('4\u00002');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([{ path: 'sessionVariables.x-hasura-org-id', message: expect.any(String) }]);
    expect(errorLinesSince(before)).toEqual([]);
    const hook = await request(app.http).get('/webhook').set(bearer(user.token));
    expect(hook.body['X-Hasura-Org-Id']).toBe('42');
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'reads a POST-mode client header named %s as an ordinary header',
    async (name) => {
      const user = await signUp(app);
      const res = await webhookWithHeaders(app, 'POST', { [name]: 'x', Authorization: `Bearer ${user.token}` });
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    },
  );

  // Header names are case-insensitive, so `Authorization` and `authorization` are one header: with
  // two values, either reading would be a guess about whose request it is.
  it('refuses a POST-mode header spelled twice with different values with 400 VALIDATION_FAILED', async () => {
    const [owner, other] = [await signUp(app), await signUp(app)];
    const res = await webhookWithHeaders(app, 'POST', {
      Authorization: `Bearer ${owner.token}`,
      authorization: `Bearer ${other.token}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'The header authorization is given twice with different values.',
    });
  });

  it('reads a POST-mode X-Hasura-Role with spaces around it as that role, and a blank one as none', async () => {
    const user = await signUp(app);
    const asking = (role: string) =>
      webhookWithHeaders(app, 'POST', { Authorization: `Bearer ${user.token}`, 'X-Hasura-Role': role });
    expect((await asking('  user  ')).body['X-Hasura-Role']).toBe('user');
    expect((await asking('   ')).body['X-Hasura-Role']).toBe('user');
  });

  it('reads a POST-mode header spelled twice with one value as that header', async () => {
    const user = await signUp(app);
    const res = await webhookWithHeaders(app, 'POST', {
      Authorization: `Bearer ${user.token}`,
      AUTHORIZATION: `Bearer ${user.token}`,
    });
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
  });
});

describe('the anonymous role, when ANONYMOUS_ROLE names another', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, ANONYMOUS_ROLE: 'guest' });
    await createRole(app, 'guest');
  });
  afterAll(() => app.close());

  it.each(['guest', 'anonymous'])('refuses to grant %s with 400 VALIDATION_FAILED', async (role) => {
    const user = await signUp(app);
    const res = await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const hook = await request(app.http)
      .get('/webhook')
      .set({ ...bearer(user.token), 'X-Hasura-Role': role });
    expect(hook.status).toBe(401);
    expect(hook.body).toEqual({});
  });

  it('refuses to create a user holding it with 400 VALIDATION_FAILED', async () => {
    const res = await request(app.http)
      .post('/admin/users')
      .set(withAdminSecret)
      .send({ username: `guest-holder-${Date.now()}`, password: PASSWORD, roles: ['guest'] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([{ path: 'roles.0', message: expect.any(String) }]);
  });

  it('is never answered with a user id, nor offered as a JWT role, to a user who came to hold it outside the API', async () => {
    // An operator's SQL, or ANONYMOUS_ROLE changed to a role granted before: the admin API refuses it.
    const user = await signUp(app);
    await app.database.db('user_roles').insert({ user_id: user.id, role: 'guest' });
    const hook = await request(app.http)
      .get('/webhook')
      .set({ ...bearer(user.token), 'X-Hasura-Role': 'guest' });
    expect({ status: hook.status, body: hook.body }).toEqual({ status: 401, body: {} });
    const claims = decodeJwt((await obtainTokens(app, user.username)).accessToken)['https://hasura.io/jwt/claims'];
    expect(claims).toMatchObject({ 'x-hasura-allowed-roles': ['user'], 'x-hasura-default-role': 'user' });
  });

  it('leaves a user whose default role it became outside the API no JWT: 403 FORBIDDEN', async () => {
    const user = await signUp(app);
    await app.database.db('user_roles').insert({ user_id: user.id, role: 'guest' });
    await app.database.db('users').where({ id: user.id }).update({ default_role: 'guest' });
    const res = await request(app.http).post('/token').send({ username: user.username, password: PASSWORD });
    expect(res.status).toBe(403);
    expect(res.body.error).toEqual({ code: 'FORBIDDEN', message: 'This account has no usable role.' });
  });

  it('answers a request without credentials with it', async () => {
    const res = await request(app.http).get('/webhook');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ 'X-Hasura-Role': 'guest' });
  });
});
