import request from 'supertest';
import { changePassword, logIn } from './support/requests';
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

describe('HTTP errors', () => {
  let app: TestApp;
  let user: SignedUpUser;
  beforeAll(async () => {
    app = await startTestApp();
    user = await signUp(app);
  });
  afterAll(() => app.close());

  describe('routes', () => {
    it.each([
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['GET', '/signup'],
      ['DELETE', '/me'],
      ['GET', '/webhook/extra'],
    ])('answers %s %s with 404 NOT_FOUND in JSON', async (method, path) => {
      const res = await request(app.http)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      expect(res.status).toBe(404);
      expectCleanErrorBody(res, 'NOT_FOUND');
    });

    it.each([
      ['a success (GET /healthz)', '/healthz', 200],
      ['a 404 (GET /nope)', '/nope', 404],
      ['a 401 (GET /me without a token)', '/me', 401],
    ])('sends no X-Powered-By header on %s', async (_label, path, status) => {
      const res = await request(app.http).get(path);
      expect(res.status).toBe(status);
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it.each<[string, () => request.Test, number]>([
      ['a successful login', () => logIn(app, user.username, user.password), 200],
      ['a 404', () => request(app.http).get('/nope'), 404],
    ])('marks %s Cache-Control: no-store', async (_label, send, status) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers['cache-control']).toBe('no-store');
    });
  });

  describe('error bodies', () => {
    it.each<[string, number, string, () => request.Test]>([
      [
        'a taken username',
        409,
        'USERNAME_TAKEN',
        () => request(app.http).post('/signup').send({ username: user.username, password: PASSWORD }),
      ],
      [
        'a weak password',
        400,
        'WEAK_PASSWORD',
        () => request(app.http).post('/signup').send({ username: uniqueUsername(), password: 'short' }),
      ],
      [
        'an invalid username',
        400,
        'VALIDATION_FAILED',
        () => request(app.http).post('/signup').send({ username: 'a b', password: PASSWORD }),
      ],
      ['a wrong password at login', 401, 'INVALID_CREDENTIALS', () => logIn(app, user.username, 'wrong password')],
      ['a missing token', 401, 'UNAUTHORIZED', () => request(app.http).get('/me')],
      ['a malformed token', 401, 'UNAUTHORIZED', () => request(app.http).get('/me').set(bearer('not-a-token'))],
      [
        'an unknown session id',
        404,
        'NOT_FOUND',
        () => request(app.http).delete('/sessions/not-a-uuid').set(bearer(user.token)),
      ],
      [
        'a wrong current password',
        401,
        'INVALID_CREDENTIALS',
        () => changePassword(app, user.token, { newPassword: PASSWORD, currentPassword: 'wrong password' }),
      ],
    ])(
      'answers %s with %i %s, exactly {error: {code, message}} and no internals',
      async (_label, status, code, send) => {
        const res = await send();
        expect(res.status).toBe(status);
        expectCleanErrorBody(res, code);
      },
    );
  });
});
