import { createHash } from 'node:crypto';
import request from 'supertest';
import { statusAndCode } from './support/responses';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('the calling user and session', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('GET /me', () => {
    it('answers the user and the calling session, which ends SESSION_ABSOLUTE_TIMEOUT_SECONDS after it began', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get('/me').set(bearer(user.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        roles: ['user'],
        defaultRole: 'user',
        displayName: null,
        email: null,
        emailVerified: false,
        mfa: { totp: false, passkeys: 0 },
        sessionVariables: {},
        session: {
          id: expect.any(String),
          createdAt: expect.any(String),
          expiresAt: expect.any(String),
          // Signed up with a password: one factor.
          amr: ['pwd'],
        },
      });
      const { createdAt, expiresAt } = res.body.session;
      expect(createdAt).toBe(app.clock.now().toISOString());
      expect(new Date(expiresAt).getTime() - new Date(createdAt).getTime()).toBe(
        app.config.sessions.absoluteTimeoutSeconds * 1000,
      );
    });

    it.each([
      ['without a token', {}],
      ['with an unknown token', bearer('A'.repeat(43))],
    ])('refuses a request %s with 401 UNAUTHORIZED and WWW-Authenticate: Bearer', async (_label, headers) => {
      const res = await request(app.http).get('/me').set(headers);
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('refuses a token in the query string with 401 UNAUTHORIZED: only the Authorization header counts', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get('/me').query({ access_token: user.token });
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });
  });

  describe('session tokens at rest', () => {
    it('stores only the SHA-256 hex of the token, and the token nowhere in the row', async () => {
      const user = await signUp(app);
      const sessionId = (await request(app.http).get('/me').set(bearer(user.token))).body.session.id;
      const row = await app.database.db('sessions').where({ id: sessionId }).first();
      expect(row.token_hash).toBe(createHash('sha256').update(user.token).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(user.token);
    });
  });
});
