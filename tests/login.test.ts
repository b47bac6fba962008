import request from 'supertest';
import { changePassword, logIn, webhookGet } from './support/requests';
import { statusAndCode } from './support/responses';
import { PASSWORD, bearer, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

describe('POST /login', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('with the right credentials', () => {
    it('answers 200 with the same shape as signup', async () => {
      const user = await signUp(app);
      const res = await logIn(app, user.username, user.password);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
        expiresAt: expect.any(String),
        roles: ['user'],
        defaultRole: 'user',
        displayName: null,
        email: null,
        emailVerified: false,
      });
      expect(new Date(res.body.expiresAt).toISOString()).toBe(res.body.expiresAt);
    });

    it('starts a new session, with a different token, each time', async () => {
      const user = await signUp(app);
      const first = await logIn(app, user.username, user.password);
      const second = await logIn(app, user.username, user.password);
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(new Set([user.token, first.body.token, second.body.token]).size).toBe(3);

      const me1 = await request(app.http).get('/me').set(bearer(first.body.token));
      const me2 = await request(app.http).get('/me').set(bearer(second.body.token));
      expect(me1.body.session.id).not.toBe(me2.body.session.id);
    });

    it('leaves every token working on /me and the webhook, old and new', async () => {
      const user = await signUp(app);
      const first = await logIn(app, user.username, user.password);
      const second = await logIn(app, user.username, user.password);
      for (const token of [user.token, first.body.token, second.body.token]) {
        expect((await request(app.http).get('/me').set(bearer(token))).status).toBe(200);
        const hook = await webhookGet(app, token);
        expect(hook.status).toBe(200);
        expect(hook.body['X-Hasura-User-Id']).toBe(String(user.id));
      }
    });

    it.each<[string, (name: string) => string]>([
      ['lower case', (name) => name.toLowerCase()],
      ['upper case', (name) => name.toUpperCase()],
    ])('accepts the username in %s and answers the stored spelling', async (_label, spell) => {
      const username = `Mixed-${uniqueUsername()}`;
      const user = await signUp(app, username);
      const res = await logIn(app, spell(username), user.password);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(user.id);
      expect(res.body.username).toBe(username);
    });

    it('refuses the password in another case with 401 INVALID_CREDENTIALS', async () => {
      const user = await signUp(app);
      const res = await logIn(app, user.username, user.password.toUpperCase());
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    });
  });

  describe('with the wrong credentials', () => {
    it('answers an unknown username and a wrong password with the identical 401 INVALID_CREDENTIALS, neither with WWW-Authenticate', async () => {
      const user = await signUp(app);
      const unknown = await logIn(app, uniqueUsername('nobody'), PASSWORD);
      const wrong = await logIn(app, user.username, `${PASSWORD}-wrong`);
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      expect(unknown.body).toEqual({
        error: { code: 'INVALID_CREDENTIALS', message: expect.any(String) },
      });
      expect(wrong.body).toEqual(unknown.body);
      // A login failure is not a missing bearer token: neither answer challenges for one.
      expect(unknown.headers['www-authenticate']).toBeUndefined();
      expect(wrong.headers['www-authenticate']).toBeUndefined();
    });

    // bcrypt reads only the first 72 bytes: a longer password that starts with the stored one must not pass.
    it.each([
      ['one ASCII byte', 'x'],
      ['one three-byte character', '€'],
    ])('refuses the user’s 72-byte password followed by %s with 401 INVALID_CREDENTIALS', async (_label, extra) => {
      const password = '€'.repeat(24);
      expect(Buffer.byteLength(password, 'utf8')).toBe(72);
      const user = await signUp(app);
      const change = await changePassword(app, user.token, { newPassword: password, currentPassword: user.password });
      expect(change.status).toBe(200);
      expect((await logIn(app, user.username, password)).status).toBe(200);

      const longer = await logIn(app, user.username, `${password}${extra}`);
      expect(statusAndCode(longer)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    });

    it('refuses an empty password with 401 INVALID_CREDENTIALS', async () => {
      const user = await signUp(app);
      const res = await logIn(app, user.username, '');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
    });

    it('starts no session for a refused login', async () => {
      const user = await signUp(app);
      expect(statusAndCode(await logIn(app, user.username, 'not the password'))).toEqual({
        status: 401,
        code: 'INVALID_CREDENTIALS',
      });
      const sessions = await request(app.http).get('/sessions').set(bearer(user.token));
      expect(sessions.status).toBe(200);
      expect(sessions.body.sessions).toHaveLength(1);
    });
  });

  describe('with a malformed request', () => {
    it.each([
      ['a missing password', { username: 'someone' }],
      ['a missing username', { password: PASSWORD }],
      ['a numeric username', { username: 42, password: PASSWORD }],
      ['a null username', { username: null, password: PASSWORD }],
      ['an array username', { username: ['someone'], password: PASSWORD }],
      ['an object username', { username: { name: 'someone' }, password: PASSWORD }],
      ['a numeric password', { username: 'someone', password: 12345678 }],
      ['an array password', { username: 'someone', password: [PASSWORD] }],
      ['an object password', { username: 'someone', password: { value: PASSWORD } }],
      ['an empty body', {}],
    ])('answers %s at once with 400 VALIDATION_FAILED', async (_label, body) => {
      const res = await request(app.http).post('/login').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('answers a request with no body at all with 400 VALIDATION_FAILED', async () => {
      const res = await request(app.http).post('/login');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('does not read a form-encoded body, even with the right credentials in it: 400 VALIDATION_FAILED', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/login')
        .type('form')
        .send({ username: user.username, password: user.password });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('does not read a text/plain body that holds JSON: 400 VALIDATION_FAILED', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/login')
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify({ username: user.username, password: user.password }));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('credentials in the query string', () => {
    it('are not used: /login?username=..&password=.. with an empty body answers 400 VALIDATION_FAILED', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/login')
        .query({ username: user.username, password: user.password })
        .send({});
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('do not stand in for an empty password in the body: 401 INVALID_CREDENTIALS and no token', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/login')
        .query({ password: user.password })
        .send({ username: user.username, password: '' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
      expect(res.body.token).toBeUndefined();
    });

    it('do not stand in for an empty username in the body: 401 INVALID_CREDENTIALS and no token', async () => {
      const user = await signUp(app);
      const res = await request(app.http)
        .post('/login')
        .query({ username: user.username })
        .send({ username: '', password: user.password });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
      expect(res.body.token).toBeUndefined();
    });
  });
});
