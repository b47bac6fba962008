import request from 'supertest';
import { requestTokens } from './support/jwt';
import { changePassword, logIn, webhookGet, webhookPost, type HttpTarget } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import {
  bearer,
  PASSWORD,
  signUp,
  startPeerInstance,
  startTestApp,
  uniqueUsername,
  type TestApp,
} from './support/test-app';

const METRICS_TOKEN = 'a-metrics-token-for-the-scraper';

async function scrape(target: HttpTarget, token = METRICS_TOKEN): Promise<string> {
  const res = await request(target.http).get('/metrics').set(bearer(token));
  if (res.status !== 200) throw new Error(`scrape failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.text;
}

/** The value of one series, such as `hasura_auth_logins_total{outcome="success"}`; undefined if absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** How much each series grew between two scrapes. */
const growth = (before: string, after: string, series: string) =>
  (valueOf(after, series) ?? 0) - (valueOf(before, series) ?? 0);

const webhookCount = (outcome: string) => `hasura_auth_webhook_duration_seconds_count{outcome="${outcome}"}`;

describe('GET /metrics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_TOKEN });
  });
  afterAll(() => app.close());

  it('serves Prometheus text with the default process metrics, event-loop lag included', async () => {
    const res = await request(app.http).get('/metrics').set(bearer(METRICS_TOKEN));

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(res.text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(res.text).toContain('# TYPE hasura_auth_webhook_duration_seconds histogram');
  });

  it('refuses a scrape without the bearer token, or with a wrong one, with 401 UNAUTHORIZED', async () => {
    const without = await request(app.http).get('/metrics');
    const wrong = await request(app.http)
      .get('/metrics')
      .set(bearer(`${METRICS_TOKEN}-not`));

    expect(without.status).toBe(401);
    expectCleanErrorBody(without, 'UNAUTHORIZED');
    expect(without.headers['www-authenticate']).toBe('Bearer');
    expect(wrong.status).toBe(401);
    expectCleanErrorBody(wrong, 'UNAUTHORIZED');
  });

  it('times each webhook answer under its outcome: user, anonymous, refused, error', async () => {
    const user = await signUp(app);
    const before = await scrape(app);

    const sentAt = performance.now();
    await webhookGet(app, user.token).expect(200);
    await webhookPost(app, user.token).expect(200);
    await webhookGet(app).expect(200);
    await webhookGet(app, 'not-a-session-token').expect(401);
    await request(app.http).post('/webhook').send({ headers: 'not an object' }).expect(400);
    const elapsedSeconds = (performance.now() - sentAt) / 1000;
    const after = await scrape(app);

    expect({
      user: growth(before, after, webhookCount('user')),
      anonymous: growth(before, after, webhookCount('anonymous')),
      refused: growth(before, after, webhookCount('refused')),
      error: growth(before, after, webhookCount('error')),
    }).toEqual({ user: 2, anonymous: 1, refused: 1, error: 1 });
    expect(valueOf(after, 'hasura_auth_webhook_duration_seconds_bucket{le="+Inf",outcome="user"}')).toBe(
      valueOf(after, webhookCount('user')),
    );
    // In seconds, and no more than the calls took as the test saw them.
    const timed = ['user', 'anonymous', 'refused', 'error'].reduce(
      (sum, outcome) => sum + growth(before, after, `hasura_auth_webhook_duration_seconds_sum{outcome="${outcome}"}`),
      0,
    );
    expect(timed).toBeGreaterThan(0);
    expect(timed).toBeLessThanOrEqual(elapsedSeconds);
  });

  it('counts signups, logins and password changes by outcome, as success or the catalogue code', async () => {
    const before = await scrape(app);
    const user = await signUp(app);
    await request(app.http).post('/signup').send({ username: user.username, password: PASSWORD }).expect(409);
    await request(app.http).post('/signup').send({ username: uniqueUsername(), password: 'short' }).expect(400);
    await logIn(app, user.username).expect(200);
    await logIn(app, user.username, 'not the password').expect(401);
    await changePassword(app, user.token, {
      newPassword: 'another long password',
      currentPassword: 'not the password',
    }).expect(401);
    await changePassword(app, user.token, { newPassword: 'another long password' }).expect(200);
    const after = await scrape(app);

    const counted = (series: string) => growth(before, after, series);
    expect({
      signupSuccess: counted('hasura_auth_signups_total{outcome="success"}'),
      signupTaken: counted('hasura_auth_signups_total{outcome="username_taken"}'),
      signupWeak: counted('hasura_auth_signups_total{outcome="weak_password"}'),
      loginSuccess: counted('hasura_auth_logins_total{method="password",issued="session",outcome="success"}'),
      loginRefused: counted(
        'hasura_auth_logins_total{method="password",issued="session",outcome="invalid_credentials"}',
      ),
      changeSuccess: counted('hasura_auth_password_changes_total{outcome="success"}'),
      changeRefused: counted('hasura_auth_password_changes_total{outcome="invalid_credentials"}'),
    }).toEqual({
      signupSuccess: 1,
      signupTaken: 1,
      signupWeak: 1,
      loginSuccess: 1,
      loginRefused: 1,
      changeSuccess: 1,
      changeRefused: 1,
    });
  });

  it('counts JWT-mode logins (POST /token) under what they issue, as /login under sessions', async () => {
    const user = await signUp(app);
    const before = await scrape(app);
    await requestTokens(app, user.username).expect(200);
    await requestTokens(app, user.username, 'not the password').expect(401);
    const after = await scrape(app);
    const tokens = (outcome: string) =>
      `hasura_auth_logins_total{method="password",issued="tokens",outcome="${outcome}"}`;
    expect({
      success: growth(before, after, tokens('success')),
      refused: growth(before, after, tokens('invalid_credentials')),
      sessions: growth(before, after, 'hasura_auth_logins_total{method="password",issued="session",outcome="success"}'),
    }).toEqual({ success: 1, refused: 1, sessions: 0 });
  });

  it('reports the database pool: connections in use, idle and opening, queries waiting, and its size', async () => {
    const text = await scrape(app);

    for (const state of ['in_use', 'idle', 'opening']) {
      expect(valueOf(text, `hasura_auth_database_pool_connections{state="${state}"}`)).toBeGreaterThanOrEqual(0);
    }
    expect(valueOf(text, 'hasura_auth_database_pool_waiting')).toBe(0);
    expect(valueOf(text, 'hasura_auth_database_pool_max')).toBe(globalThis.TEST_DATABASE_KIND === 'postgres' ? 10 : 1);
  });

  it('labels its own series only with values from closed sets: never a username, user id or path', async () => {
    const user = await signUp(app, uniqueUsername('metrics-label'));
    await webhookGet(app, user.token).expect(200);
    await request(app.http).get(`/admin/users/${user.id}`).expect(401);
    const text = await scrape(app);

    const labelValues = new Set(
      text
        .split('\n')
        .filter((line) => line.startsWith('hasura_auth_'))
        .flatMap((line) => [...line.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, value]) => `${name}=${value}`)),
    );
    const allowed =
      /^(outcome=[a-z_]+|method=(password|second_factor|passkey)|issued=(session|tokens)|state=(in_use|idle|opening)|le=[0-9.e+-]+|le=\+Inf)$/;
    expect([...labelValues].filter((label) => !allowed.test(label))).toEqual([]);
    expect(text).not.toContain(user.username);
  });

  it('counts per instance: a peer on the same database keeps its own figures', async () => {
    const peer = { http: await startPeerInstance(app) };
    const user = await signUp(app);
    const before = await scrape(app);

    await webhookGet(peer, user.token).expect(200);
    const after = await scrape(app);

    expect(growth(before, after, webhookCount('user'))).toBe(0);
    expect(valueOf(await scrape(peer), webhookCount('user'))).toBe(1);
  });
});

describe('the live sessions gauge', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_TOKEN });
  });
  afterAll(() => app.close());

  it('reports the live sessions, counted in the background so that no scrape waits for the database', async () => {
    const [alice, bob] = [await signUp(app), await signUp(app)];
    await logIn(app, alice.username).expect(200);
    await request(app.http).post('/logout').set(bearer(bob.token)).expect(204);

    // The first scrape starts the count and answers the last one known; a later scrape has it.
    let live: number | undefined;
    for (let scrapes = 0; scrapes < 50 && live !== 2; scrapes++) {
      live = valueOf(await scrape(app), 'hasura_auth_live_sessions');
      if (live !== 2) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(live).toBe(2);
  });
});

describe('GET /metrics without METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('answers nobody: 401 UNAUTHORIZED, saying that no METRICS_TOKEN is configured', async () => {
    for (const res of [
      await request(app.http).get('/metrics'),
      await request(app.http).get('/metrics').set(bearer(METRICS_TOKEN)),
    ]) {
      expect(res.status).toBe(401);
      expectCleanErrorBody(res, 'UNAUTHORIZED');
      expect(res.body.error.message).toMatch(/No METRICS_TOKEN is configured/);
      expect(res.text).not.toContain('hasura_auth_webhook_duration_seconds');
    }
  });
});

describe('GET /metrics with METRICS_ENABLED=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_ENABLED: 'false', METRICS_TOKEN });
  });
  afterAll(() => app.close());

  it('is 404 NOT_FOUND, even with the token', async () => {
    const res = await request(app.http).get('/metrics').set(bearer(METRICS_TOKEN));

    expect(res.status).toBe(404);
    expectCleanErrorBody(res, 'NOT_FOUND');
  });
});
