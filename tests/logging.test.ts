import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { eventually } from './support/eventually';
import { logIn, webhookGet, webhookPost } from './support/requests';
import { statusAndCode } from './support/responses';
import { startTestApp, uniqueUsername, type TestApp } from './support/test-app';

interface RequestLogLine {
  level?: number;
  req?: { id?: string; method?: string; path?: string };
  res?: { statusCode?: number };
  msg?: string;
  responseTime?: number;
  refusals?: Record<string, number>;
}

const requestId = () => `log-test-${randomBytes(6).toString('hex')}`;

describe('request logging', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ WEBHOOK_REFUSAL_SUMMARY_SECONDS: '1' });
  });
  afterAll(() => app.close());

  /** The request log line for the request sent with this x-request-id. */
  function logLineFor(id: string): RequestLogLine | undefined {
    return app.logLines
      .map((line) => JSON.parse(line) as RequestLogLine)
      .find((line) => line.req?.id === id && line.res !== undefined);
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
    const typo = await call('post', '/login', (req) => req.send({ username, password: `${password}-typo` }));
    expect(statusAndCode(typo)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect((await call('get', '/me', (req) => req.set(withToken(token)))).status).toBe(200);
    expect((await call('get', '/webhook', (req) => req.set(withToken(token)))).status).toBe(200);
    const hookPost = await call('post', '/webhook', (req) =>
      req.send({
        headers: withToken(token),
        request: { query: 'mutation { login(password: $p) }', variables: { p: password } },
      }),
    );
    expect(hookPost.status).toBe(200);
    const queryToken = await call('get', '/me', (req) => req.query({ access_token: token }));
    expect(statusAndCode(queryToken)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    const queryCredentials = await call('post', '/login', (req) => req.query({ username, password }).send({}));
    expect(statusAndCode(queryCredentials)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
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

    // Webhook successes are logged at debug, below this app's level (see below).
    for (const { id, method, path, status } of sent.filter(
      (each) => !(each.path === '/webhook' && each.status === 200),
    )) {
      const line = logLineFor(id);
      expect(line).toBeDefined();
      expect(line!.req).toEqual(expect.objectContaining({ method, path }));
      expect(line!.res?.statusCode).toBe(status);
    }
  });

  it('logs no line per webhook refusal or success, and sums refusals up by reason once per interval', async () => {
    const summaries = () =>
      app.logLines.map((line) => JSON.parse(line) as RequestLogLine).filter((line) => line.refusals !== undefined);
    // No test before this one is refused by the webhook: no summary is pending.
    const before = summaries().length;

    const refused = requestId();
    const answered = requestId();
    expect((await webhookGet(app, 'not-a-token').set('x-request-id', refused)).status).toBe(401);
    expect((await webhookGet(app, 'not-a-token')).status).toBe(401);
    expect((await webhookGet(app, undefined, { role: 'admin' })).status).toBe(401);
    expect((await webhookGet(app).set('x-request-id', answered)).status).toBe(200);
    expect(logLineFor(refused)).toBeUndefined();
    expect(logLineFor(answered)).toBeUndefined();

    const after = await eventually(
      () => Promise.resolve(summaries().slice(before)),
      (lines) => lines.length > 0,
      3000,
    );
    expect(after).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'webhook refusals in the last 1 s',
        refusals: { 'invalid-credential': 2, 'role-not-anonymous': 1 },
      }),
    ]);
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

describe('request logging at debug', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ LOG_LEVEL: 'debug' });
  });
  afterAll(() => app.close());

  it.each([
    ['GET', webhookGet],
    ['POST', webhookPost],
  ] as const)(
    'logs a webhook success in %s mode at debug, with its request id, method, path and 200',
    async (method, send) => {
      const id = requestId();
      expect((await send(app).set('x-request-id', id)).status).toBe(200);
      const line = app.logLines
        .map((each) => JSON.parse(each) as RequestLogLine & { level: number })
        .find((each) => each.req?.id === id);
      expect(line).toEqual(
        expect.objectContaining({ level: 20, req: { id, method, path: '/webhook' }, res: { statusCode: 200 } }),
      );
    },
  );
});

describe('logging during a database outage', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  // The statuses themselves are tested in database-outage.test.ts; here, what the log says about them.
  it('logs each failed request as an error with method, path and 503, and its cause under the same request id, without the password or token that came with it', async () => {
    const username = uniqueUsername();
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const signup = await request(app.http).post('/signup').send({ username, password });
    expect(signup.status).toBe(201);
    const token: string = signup.body.token;
    await app.database.simulateOutage();
    const before = app.logLines.length;

    const sent: { id: string; method: string; path: string }[] = [];
    const tagged = (method: string, path: string, req: request.Test) => {
      const id = requestId();
      sent.push({ id, method, path });
      return req.set('x-request-id', id);
    };
    await tagged('POST', '/login', logIn(app, username, password));
    await tagged('GET', '/webhook', webhookGet(app, token));
    await tagged('POST', '/webhook', webhookPost(app, token));
    await tagged('POST', '/signup', request(app.http).post('/signup').send({ username: uniqueUsername(), password }));

    const lines = app.logLines.slice(before);
    const parsed = lines.map((line) => JSON.parse(line) as RequestLogLine & { level: number; code?: string });
    for (const { id, method, path } of sent) {
      const completed = parsed.find((each) => each.req?.id === id && each.res !== undefined);
      expect(completed).toEqual(
        expect.objectContaining({ level: 50, req: { id, method, path }, res: { statusCode: 503 } }),
      );
      const cause = parsed.find((each) => each.req?.id === id && each.res === undefined);
      expect(cause).toEqual(
        expect.objectContaining({
          level: 50,
          code: 'DATABASE_UNAVAILABLE',
          err: expect.objectContaining({ type: 'DatabaseError' }),
        }),
      );
    }
    const log = lines.join('\n');
    expect(log).not.toContain(password);
    expect(log).not.toContain(token);
    expect(log.toLowerCase()).not.toContain('bearer ');
  });
});
