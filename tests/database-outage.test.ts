import request from 'supertest';
import { logIn, webhookGet, webhookPost } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import { PASSWORD, bearer, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

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
