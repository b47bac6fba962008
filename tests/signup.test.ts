import request from 'supertest';
import { logIn, webhookGet } from './support/requests';
import { statusAndCode } from './support/responses';
import { PASSWORD, bearer, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

/** ASCII → its fullwidth form (ａｌｉｃｅ), which NFKC folds back to ASCII. */
const toFullwidth = (text: string) =>
  [...text].map((char) => String.fromCodePoint(char.codePointAt(0)! + 0xfee0)).join('');

describe('POST /signup', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PASSWORD_MIN_LENGTH: '8' });
  });
  afterAll(() => app.close());

  const signup = (body: object) => request(app.http).post('/signup').send(body);

  describe('a new account', () => {
    it('answers 201 with the user, a base64url token, its expiry and the user role', async () => {
      const username = uniqueUsername();
      const res = await signup({ username, password: PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        username,
        token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
        expiresAt: expect.any(String),
        roles: ['user'],
        defaultRole: 'user',
        displayName: null,
        email: null,
        emailVerified: false,
      });
      expect(Number.isInteger(res.body.id)).toBe(true);
      expect(new Date(res.body.expiresAt).toISOString()).toBe(res.body.expiresAt);
      expect(new Date(res.body.expiresAt).getTime()).toBeGreaterThan(app.clock.now().getTime());
    });

    it('gives each account its own id', async () => {
      const first = await signup({ username: uniqueUsername(), password: PASSWORD });
      const second = await signup({ username: uniqueUsername(), password: PASSWORD });
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(first.body.id).not.toBe(second.body.id);
    });

    it('hands out a token that works on /me and on the webhook', async () => {
      const username = uniqueUsername();
      const res = await signup({ username, password: PASSWORD });
      const me = await request(app.http).get('/me').set(bearer(res.body.token));
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: res.body.id, username });
      const hook = await webhookGet(app, res.body.token);
      expect(hook.status).toBe(200);
      expect(hook.body).toMatchObject({ 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': String(res.body.id) });
    });

    it('accepts a matching confirmPassword', async () => {
      const res = await signup({ username: uniqueUsername(), password: PASSWORD, confirmPassword: PASSWORD });
      expect(res.status).toBe(201);
    });

    it('accepts an email address as the username, which then logs in', async () => {
      const username = `${uniqueUsername('first.last+tag')}@example.com`;
      const res = await signup({ username, password: PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body.username).toBe(username);
      expect((await logIn(app, username, PASSWORD)).status).toBe(200);
    });

    it('accepts a username of exactly 254 characters', async () => {
      const username = uniqueUsername().padEnd(254, 'a');
      const res = await signup({ username, password: PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body.username).toBe(username);
    });
  });

  describe('a taken username', () => {
    it('refuses the same name in lower or upper case with 409 USERNAME_TAKEN', async () => {
      const name = uniqueUsername();
      expect((await signup({ username: `Alice-${name}`, password: PASSWORD })).status).toBe(201);
      const res = await signup({ username: `alice-${name}`, password: PASSWORD });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('USERNAME_TAKEN');
      const upper = await signup({ username: `ALICE-${name.toUpperCase()}`, password: PASSWORD });
      expect(upper.status).toBe(409);
      expect(upper.body.error.code).toBe('USERNAME_TAKEN');
    });

    it('refuses a name that is NFKC-equivalent (fullwidth letters) with 409 USERNAME_TAKEN', async () => {
      const name = uniqueUsername('alice');
      expect((await signup({ username: name, password: PASSWORD })).status).toBe(201);
      const fullwidth = toFullwidth(name);
      expect(fullwidth).not.toBe(name);
      const res = await signup({ username: fullwidth, password: PASSWORD });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('USERNAME_TAKEN');
    });

    it('stores a fullwidth name in its NFKC form, so the ASCII spelling is then taken', async () => {
      const name = uniqueUsername('alice');
      const first = await signup({ username: toFullwidth(name), password: PASSWORD });
      expect(first.status).toBe(201);
      expect(first.body.username).toBe(name);
      const res = await signup({ username: name, password: PASSWORD });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('USERNAME_TAKEN');
    });

    it('loses no data: after a refused duplicate, the original user logs in with their own password and their session still works', async () => {
      const username = uniqueUsername();
      const original = await signup({ username, password: PASSWORD });
      expect(original.status).toBe(201);
      const duplicate = await signup({ username, password: 'a different password entirely' });
      expect(statusAndCode(duplicate)).toEqual({ status: 409, code: 'USERNAME_TAKEN' });

      const withOriginal = await logIn(app, username, PASSWORD);
      expect(withOriginal.status).toBe(200);
      expect(withOriginal.body.id).toBe(original.body.id);
      const withDuplicate = await logIn(app, username, 'a different password entirely');
      expect(statusAndCode(withDuplicate)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      // The first session is untouched as well.
      expect((await request(app.http).get('/me').set(bearer(original.body.token))).status).toBe(200);
    });

    it('gives exactly one 201 and 49 × 409 to 50 simultaneous signups of one username', async () => {
      const username = uniqueUsername('race');
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => request(app.http).post('/signup').send({ username, password: PASSWORD })),
      );
      const statuses = responses.map((res) => res.status);
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(49);
      for (const res of responses.filter((each) => each.status === 409)) {
        expect(res.body.error.code).toBe('USERNAME_TAKEN');
      }

      const winner = responses.find((res) => res.status === 201)!;
      const res = await logIn(app, username, PASSWORD);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(winner.body.id);
    });
  });

  describe('an invalid username', () => {
    it('refuses an empty username with 400 VALIDATION_FAILED', async () => {
      const res = await signup({ username: '', password: PASSWORD });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('refuses a username over 254 characters with 400 VALIDATION_FAILED', async () => {
      const res = await signup({ username: uniqueUsername().padEnd(255, 'a'), password: PASSWORD });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it.each<[string, (name: string) => string]>([
      ['a space inside', (name) => `ali ce-${name}`],
      ['a leading space', (name) => ` ${name}`],
      ['a trailing space', (name) => `${name} `],
      ['a tab', (name) => `ali\tce-${name}`],
      ['a newline', (name) => `ali\nce-${name}`],
      ['a NUL', (name) => `ali\u0000ce-${name}`],
      ['an escape character', (name) => `ali\u001bce-${name}`],
      ['a DEL', (name) => `ali\u007fce-${name}`],
      ['a non-breaking space', (name) => `ali\u00a0ce-${name}`],
      ['a zero-width space', (name) => `ali\u200bce-${name}`],
      ['a right-to-left override', (name) => `ali\u202ece-${name}`],
      ['an ideographic space', (name) => `ali\u3000ce-${name}`],
    ])('refuses a username with %s with 400 VALIDATION_FAILED', async (_label, makeUsername) => {
      const res = await signup({ username: makeUsername(uniqueUsername()), password: PASSWORD });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('a malformed body', () => {
    it.each([
      ['a missing username', { password: PASSWORD }],
      ['a missing password', { username: 'someone' }],
      ['a numeric username', { username: 12345, password: PASSWORD }],
      ['a null username', { username: null, password: PASSWORD }],
      ['an array username', { username: ['someone'], password: PASSWORD }],
      ['an object username', { username: { name: 'someone' }, password: PASSWORD }],
      ['a numeric password', { username: 'someone', password: 12345678 }],
      ['a null password', { username: 'someone', password: null }],
      ['an array password', { username: 'someone', password: [PASSWORD] }],
      ['an object password', { username: 'someone', password: { value: PASSWORD } }],
      ['a non-string confirmPassword', { username: 'someone', password: PASSWORD, confirmPassword: 1 }],
      ['an empty body', {}],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_label, body) => {
      const res = await signup(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('refuses a confirmPassword that does not match with 400 VALIDATION_FAILED, and creates nobody', async () => {
      const username = uniqueUsername();
      const res = await signup({ username, password: PASSWORD, confirmPassword: `${PASSWORD}!` });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'confirmPassword' })]);
      // Nobody was created: the name is still free.
      expect((await signup({ username, password: PASSWORD })).status).toBe(201);
    });
  });

  describe('the password policy', () => {
    it('refuses a password shorter than PASSWORD_MIN_LENGTH with 400 WEAK_PASSWORD', async () => {
      const res = await signup({ username: uniqueUsername(), password: '1234567' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('WEAK_PASSWORD');
    });

    it('accepts a password of exactly PASSWORD_MIN_LENGTH characters', async () => {
      const res = await signup({ username: uniqueUsername(), password: 'tq8#vz2k' });
      expect(res.status).toBe(201);
    });

    it('counts code points, not UTF-16 units: 8 emoji pass and 7 emoji do not', async () => {
      const eight = '😀🔒🦄🎉🚀🌍🍕🐙';
      expect(eight.length).toBe(16);
      expect([...eight]).toHaveLength(8);
      const username = uniqueUsername();
      const res = await signup({ username, password: eight });
      expect(res.status).toBe(201);
      expect((await logIn(app, username, eight)).status).toBe(200);

      const seven = [...eight].slice(0, 7).join('');
      expect(seven.length).toBe(14);
      const short = await signup({ username: uniqueUsername(), password: seven });
      expect(short.status).toBe(400);
      expect(short.body.error.code).toBe('WEAK_PASSWORD');
    });

    it.each([
      ['72 ASCII characters', 'a'.repeat(72)],
      ['24 three-byte characters', '€'.repeat(24)],
    ])('accepts a password of exactly 72 UTF-8 bytes (%s), which then logs in', async (_label, password) => {
      expect(Buffer.byteLength(password, 'utf8')).toBe(72);
      const username = uniqueUsername();
      expect((await signup({ username, password })).status).toBe(201);
      expect((await logIn(app, username, password)).status).toBe(200);
    });

    it.each([
      ['73 ASCII characters (73 bytes)', 'a'.repeat(73), 73],
      ['25 three-byte characters (75 bytes, only 25 characters)', '€'.repeat(25), 75],
    ])('refuses a password of %s with 400 WEAK_PASSWORD', async (_label, password, bytes) => {
      expect(Buffer.byteLength(password, 'utf8')).toBe(bytes);
      const res = await signup({ username: uniqueUsername(), password });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
    });

    // bcrypt's C core stops at a NUL: everything after one would be ignored at every login.
    it('refuses a password with a NUL character in it with 400 WEAK_PASSWORD, saying why', async () => {
      const res = await signup({ username: uniqueUsername(), password: `${PASSWORD}\u0000more` });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
      expect(res.body.error.message).toBe('The password must not contain NUL characters.');
    });

    it('creates nobody when the password is refused', async () => {
      const username = uniqueUsername();
      expect(statusAndCode(await signup({ username, password: 'short' }))).toEqual({
        status: 400,
        code: 'WEAK_PASSWORD',
      });
      expect((await signup({ username, password: PASSWORD })).status).toBe(201);
    });
  });
});
