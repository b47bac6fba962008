import request from 'supertest';
import { logIn } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import { PASSWORD, bearer, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

describe('HTTP errors', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
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

    it('sends no X-Powered-By header, on success or on error', async () => {
      const ok = await request(app.http).get('/healthz');
      const missing = await request(app.http).get('/nope');
      const refused = await request(app.http).get('/me');
      for (const res of [ok, missing, refused]) expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('marks every answer Cache-Control: no-store', async () => {
      const user = await signUp(app);
      const login = await logIn(app, user.username, user.password);
      expect(login.headers['cache-control']).toBe('no-store');
      expect((await request(app.http).get('/nope')).headers['cache-control']).toBe('no-store');
    });
  });

  describe('error bodies', () => {
    it('have exactly {error: {code, message}} and no internals, for every kind of refusal', async () => {
      const user = await signUp(app);
      const cases: [request.Test, number, string][] = [
        [request(app.http).post('/signup').send({ username: user.username, password: PASSWORD }), 409, 'USERNAME_TAKEN'],
        [request(app.http).post('/signup').send({ username: uniqueUsername(), password: 'short' }), 400, 'WEAK_PASSWORD'],
        [request(app.http).post('/signup').send({ username: 'a b', password: PASSWORD }), 400, 'VALIDATION_FAILED'],
        [request(app.http).post('/login').send({ username: user.username, password: 'wrong password' }), 401, 'INVALID_CREDENTIALS'],
        [request(app.http).get('/me'), 401, 'UNAUTHORIZED'],
        [request(app.http).get('/me').set(bearer('not-a-token')), 401, 'UNAUTHORIZED'],
        [request(app.http).delete('/sessions/not-a-uuid').set(bearer(user.token)), 404, 'NOT_FOUND'],
        [request(app.http).post('/password').set(bearer(user.token)).send({ currentPassword: 'wrong password', newPassword: PASSWORD }), 401, 'INVALID_CREDENTIALS'],
      ];
      for (const [pending, status, code] of cases) {
        const res = await pending;
        expect(res.status).toBe(status);
        expectCleanErrorBody(res, code);
      }
    });
  });
});
