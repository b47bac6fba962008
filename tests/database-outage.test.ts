import request from 'supertest';
import { WEBHOOK_MODES, logIn } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import {
  PASSWORD,
  bearer,
  signUp,
  startTestApp,
  uniqueUsername,
  type SignedUpUser,
  type TestApp,
} from './support/test-app';

describe('during a database outage', () => {
  // The outage breaks the database for good, so this app is used for nothing else.
  let app: TestApp;
  let user: SignedUpUser;
  beforeAll(async () => {
    app = await startTestApp();
    user = await signUp(app);
    await app.database.simulateOutage();
  });
  afterAll(() => app.close());

  it.each([
    ['the right', PASSWORD],
    ['a wrong', 'wrong password'],
  ])('answers /login with %s password with 503 DATABASE_UNAVAILABLE, not 401', async (_label, password) => {
    const res = await logIn(app, user.username, password);
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers /signup with 503 DATABASE_UNAVAILABLE, not 401 or 409', async () => {
    const res = await request(app.http).post('/signup').send({ username: uniqueUsername(), password: PASSWORD });
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers /me with a valid token with 503 DATABASE_UNAVAILABLE, not 401, and no WWW-Authenticate header', async () => {
    const res = await request(app.http).get('/me').set(bearer(user.token));
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it.each(WEBHOOK_MODES)(
    'answers the webhook in %s mode with a valid token with 503 DATABASE_UNAVAILABLE, never 401 or anonymous',
    async (_mode, send) => {
      const res = await send(app, user.token);
      expect(res.status).toBe(503);
      expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    },
  );

  it.each(WEBHOOK_MODES)(
    'answers the webhook in %s mode without credentials with the anonymous role, which needs no database',
    async (_mode, send) => {
      const res = await send(app);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ 'X-Hasura-Role': 'anonymous' });
    },
  );

  it.each(WEBHOOK_MODES)(
    'answers the webhook in %s mode with a token of the wrong shape with 401 {}, which needs no database',
    async (_mode, send) => {
      const res = await send(app, 'not-a-token');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({});
    },
  );

  it('still refuses a malformed request with 400 VALIDATION_FAILED before touching the database', async () => {
    const res = await request(app.http).post('/login').send({ username: user.username });
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
  });
});
