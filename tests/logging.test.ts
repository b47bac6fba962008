import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { startTestApp, uniqueUsername, type TestApp } from './support/test-app';

interface RequestLogLine {
  req?: { id?: string; method?: string; path?: string };
  res?: { statusCode?: number };
}

describe('request logging', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const requestId = () => `log-test-${randomBytes(6).toString('hex')}`;

  /** The request log line for the request sent with this x-request-id. */
  function logLineFor(id: string): RequestLogLine | undefined {
    return app.logLines
      .map((line) => JSON.parse(line) as RequestLogLine)
      .find((line) => line.req?.id === id);
  }

  it('writes no password, token, bearer header or cookie value, and one line per request with method and path', async () => {
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const newPassword = `NewPw-${randomBytes(12).toString('hex')}`;
    const cookieValue = `cookie-${randomBytes(12).toString('hex')}`;
    const username = uniqueUsername();
    const sent: { id: string; method: string; path: string; status: number }[] = [];
    const track = async (method: string, path: string, pending: request.Test, id: string) => {
      const res = await pending;
      sent.push({ id, method, path, status: res.status });
      return res;
    };

    let id = requestId();
    const signup = await track(
      'POST',
      '/signup',
      request(app.http).post('/signup').set('x-request-id', id).send({ username, password, confirmPassword: password }),
      id,
    );
    expect(signup.status).toBe(201);
    const signupToken: string = signup.body.token;

    id = requestId();
    const login = await track(
      'POST',
      '/login',
      request(app.http).post('/login').set('x-request-id', id).send({ username, password }),
      id,
    );
    expect(login.status).toBe(200);
    const token: string = login.body.token;

    id = requestId();
    const wrongLogin = await track(
      'POST',
      '/login',
      request(app.http).post('/login').set('x-request-id', id).send({ username, password: `${password}-typo` }),
      id,
    );
    expect(wrongLogin.status).toBe(401);

    id = requestId();
    const me = await track(
      'GET',
      '/me',
      request(app.http)
        .get('/me')
        .set({ 'x-request-id': id, Authorization: `Bearer ${token}`, Cookie: `session=${cookieValue}` }),
      id,
    );
    expect(me.status).toBe(200);

    id = requestId();
    const hookGet = await track(
      'GET',
      '/webhook',
      request(app.http)
        .get('/webhook')
        .set({ 'x-request-id': id, Authorization: `Bearer ${token}`, Cookie: `session=${cookieValue}` }),
      id,
    );
    expect(hookGet.status).toBe(200);

    id = requestId();
    const hookPost = await track(
      'POST',
      '/webhook',
      request(app.http)
        .post('/webhook')
        .set('x-request-id', id)
        .send({
          headers: { Authorization: `Bearer ${token}`, Cookie: `session=${cookieValue}` },
          request: { query: 'mutation { login(password: $p) }', variables: { p: password } },
        }),
      id,
    );
    expect(hookPost.status).toBe(200);

    id = requestId();
    const tokenInQuery = await track(
      'GET',
      '/me',
      request(app.http).get('/me').query({ access_token: token }).set('x-request-id', id),
      id,
    );
    expect(tokenInQuery.status).toBe(401);

    id = requestId();
    const passwordInQuery = await track(
      'POST',
      '/login',
      request(app.http).post('/login').query({ username, password }).set('x-request-id', id).send({}),
      id,
    );
    expect(passwordInQuery.status).toBe(400);

    id = requestId();
    const change = await track(
      'POST',
      '/password',
      request(app.http)
        .post('/password')
        .set({ 'x-request-id': id, Authorization: `Bearer ${token}` })
        .send({ currentPassword: password, newPassword }),
      id,
    );
    expect(change.status).toBe(200);
    const changedToken: string = change.body.token;

    id = requestId();
    const logout = await track(
      'POST',
      '/logout',
      request(app.http).post('/logout').set({ 'x-request-id': id, Authorization: `Bearer ${changedToken}` }),
      id,
    );
    expect(logout.status).toBe(204);

    const log = app.logLines.join('\n');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [password, newPassword, signupToken, token, changedToken, cookieValue]) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toContain('Bearer ');
    expect(log.toLowerCase()).not.toContain('bearer ');
    expect(log).not.toContain('access_token');

    for (const { id: requestIdSent, method, path, status } of sent) {
      const line = logLineFor(requestIdSent);
      expect(line).toBeDefined();
      expect(line!.req).toEqual(expect.objectContaining({ method, path }));
      expect(line!.res?.statusCode).toBe(status);
    }
  });

  it('logs the path without its query string', async () => {
    const id = requestId();
    const secret = `q-${randomBytes(8).toString('hex')}`;
    await request(app.http).get('/healthz-not-here').query({ secret }).set('x-request-id', id);
    const line = logLineFor(id);
    expect(line?.req?.path).toBe('/healthz-not-here');
    expect(app.logLines.join('\n')).not.toContain(secret);
  });

  it('makes up a request id when the given one is unusable', async () => {
    const before = app.logLines.length;
    await request(app.http).get('/nope').set('x-request-id', 'spaces and "quotes" are not allowed');
    const lines = app.logLines.slice(before).map((line) => JSON.parse(line) as RequestLogLine);
    const line = lines.find((each) => each.req?.path === '/nope');
    expect(line?.req?.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('logging during a database outage', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('logs the failures as errors without the password or token that came with them', async () => {
    const username = uniqueUsername();
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const signup = await request(app.http).post('/signup').send({ username, password });
    expect(signup.status).toBe(201);
    const token: string = signup.body.token;
    await app.database.simulateOutage();
    const before = app.logLines.length;

    expect((await request(app.http).post('/login').send({ username, password })).status).toBe(503);
    expect((await request(app.http).get('/webhook').set('Authorization', `Bearer ${token}`)).status).toBe(503);
    expect(
      (await request(app.http).post('/webhook').send({ headers: { Authorization: `Bearer ${token}` } })).status,
    ).toBe(503);
    expect((await request(app.http).post('/signup').send({ username: uniqueUsername(), password })).status).toBe(503);

    const lines = app.logLines.slice(before);
    const errors = lines.map((line) => JSON.parse(line) as { level: number }).filter((line) => line.level >= 50);
    expect(errors.length).toBeGreaterThan(0);
    const log = lines.join('\n');
    expect(log).not.toContain(password);
    expect(log).not.toContain(token);
    expect(log.toLowerCase()).not.toContain('bearer ');
  });
});
