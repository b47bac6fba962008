import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { logIn, webhookGet, webhookPost } from './support/requests';
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
    const cookie = `session=cookie-${randomBytes(12).toString('hex')}`;
    const username = uniqueUsername();
    const sent: { id: string; method: string; path: string; status: number }[] = [];
    /** Sends a request tagged with its own x-request-id, and remembers what its log line must say. */
    const call = async (method: 'get' | 'post', path: string, build: (req: request.Test) => request.Test) => {
      const id = requestId();
      const res = await build(request(app.http)[method](path).set('x-request-id', id));
      sent.push({ id, method: method.toUpperCase(), path, status: res.status });
      return res;
    };
    const withToken = (token: string) => ({ Authorization: `Bearer ${token}`, Cookie: cookie });

    const signup = await call('post', '/signup', (req) => req.send({ username, password, confirmPassword: password }));
    expect(signup.status).toBe(201);
    const login = await call('post', '/login', (req) => req.send({ username, password }));
    expect(login.status).toBe(200);
    const token: string = login.body.token;
    expect((await call('post', '/login', (req) => req.send({ username, password: `${password}-typo` }))).status).toBe(401);
    expect((await call('get', '/me', (req) => req.set(withToken(token)))).status).toBe(200);
    expect((await call('get', '/webhook', (req) => req.set(withToken(token)))).status).toBe(200);
    const hookPost = await call('post', '/webhook', (req) =>
      req.send({ headers: withToken(token), request: { query: 'mutation { login(password: $p) }', variables: { p: password } } }),
    );
    expect(hookPost.status).toBe(200);
    expect((await call('get', '/me', (req) => req.query({ access_token: token }))).status).toBe(401);
    expect((await call('post', '/login', (req) => req.query({ username, password }).send({}))).status).toBe(400);
    const change = await call('post', '/password', (req) =>
      req.set(withToken(token)).send({ currentPassword: password, newPassword }),
    );
    expect(change.status).toBe(200);
    const changedToken: string = change.body.token;
    expect((await call('post', '/logout', (req) => req.set(withToken(changedToken)))).status).toBe(204);

    const log = app.logLines.join('\n');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [password, newPassword, signup.body.token, token, changedToken, cookie]) {
      expect(log).not.toContain(secret);
    }
    expect(log.toLowerCase()).not.toContain('bearer ');
    expect(log).not.toContain('access_token');

    for (const { id, method, path, status } of sent) {
      const line = logLineFor(id);
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

    expect((await logIn(app, username, password)).status).toBe(503);
    expect((await webhookGet(app, token)).status).toBe(503);
    expect((await webhookPost(app, token)).status).toBe(503);
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
