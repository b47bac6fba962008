import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { statusAndCode } from './support/responses';
import { signUp, startTestApp, type TestApp } from './support/test-app';

describe('security headers and the query string', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  it.each([
    ['a success', () => request(app.http).get('/healthz')],
    ['a refusal', () => request(app.http).post('/login').send({ username: 'nobody', password: 'not a password' })],
    ['an unknown route', () => request(app.http).get('/no-such-route')],
  ])('sends the hardening headers on %s', async (_label, send) => {
    const res = await send();
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  describe('GET /admin/users, the one route that reads the query string', () => {
    it('pages with limit and offset', async () => {
      await signUp(app);
      await signUp(app);
      const res = await request(app.http).get('/admin/users?limit=1&offset=1').set(withAdminSecret);
      expect(res.status).toBe(200);
      expect(res.body.users).toHaveLength(1);
      expect(res.body.total).toBeGreaterThanOrEqual(2);
    });

    it.each([
      ['a parameter given twice', '?limit=1&limit=2'],
      ['a value that is not a number', '?limit=ten'],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_label, query) => {
      const res = await request(app.http).get(`/admin/users${query}`).set(withAdminSecret);
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });

    it('reads bracketed names as plain names, never as nested objects', async () => {
      const res = await request(app.http).get('/admin/users?limit[$gt]=0&__proto__[limit]=1').set(withAdminSecret);
      expect(res.status).toBe(200);
      expect(res.body.users.length).toBeGreaterThanOrEqual(2);
    });
  });
});
