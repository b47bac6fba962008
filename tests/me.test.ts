import { createHash } from 'node:crypto';
import request from 'supertest';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('the calling user and session', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('GET /me', () => {
    it('answers the user and the calling session', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get('/me').set(bearer(user.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        roles: ['user'],
        defaultRole: 'user',
        sessionVariables: {},
        session: { id: expect.any(String), createdAt: expect.any(String), expiresAt: expect.any(String) },
      });
      const { createdAt, expiresAt } = res.body.session;
      expect(new Date(createdAt).toISOString()).toBe(createdAt);
      expect(new Date(expiresAt).getTime() - new Date(createdAt).getTime()).toBe(
        app.config.sessions.absoluteTimeoutSeconds * 1000,
      );
    });

    it('refuses a request without a token with 401 UNAUTHORIZED and a WWW-Authenticate header', async () => {
      const res = await request(app.http).get('/me');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('refuses an unknown token with 401 UNAUTHORIZED and a WWW-Authenticate header', async () => {
      const res = await request(app.http).get('/me').set(bearer('A'.repeat(43)));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('ignores a token in the query string', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get('/me').query({ access_token: user.token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    });

  });

  describe('storage', () => {
    it('stores only the SHA-256 hex of the token, and the token nowhere in the row', async () => {
      const user = await signUp(app);
      const sessionId = (await request(app.http).get('/me').set(bearer(user.token))).body.session.id;
      const row = await app.database.db('sessions').where({ id: sessionId }).first();
      expect(row.token_hash).toBe(createHash('sha256').update(user.token).digest('hex'));
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(user.token);
    });
  });
});
