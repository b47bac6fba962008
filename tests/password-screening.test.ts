import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { changePassword, logIn } from './support/requests';
import { expectCleanErrorBody, statusAndCode } from './support/responses';
import { PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

// The passwords the issue found accepted, and their variants in other cases.
const COMMON_PASSWORDS = ['password', 'password123', '12345678', 'qwertyuiop', 'iloveyou', 'PassWord123', 'ILOVEYOU'];

describe('password screening (NIST SP 800-63B)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PASSWORD_MIN_LENGTH: '8', ADMIN_SECRET });
  });
  afterAll(() => app.close());

  const signup = (body: object) => request(app.http).post('/signup').send(body);

  describe('at signup', () => {
    it.each(COMMON_PASSWORDS)(
      'refuses the common password %p with 400 WEAK_PASSWORD, and creates nobody',
      async (password) => {
        const username = uniqueUsername();
        const res = await signup({ username, password });
        expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
        expectCleanErrorBody(res, 'WEAK_PASSWORD');
        expect(res.body.error.message).toMatch(/most common passwords/);
        expect(statusAndCode(await logIn(app, username, password))).toEqual({
          status: 401,
          code: 'INVALID_CREDENTIALS',
        });
      },
    );

    const toFullwidth = (text: string) =>
      [...text].map((char) => String.fromCodePoint(char.codePointAt(0)! + 0xfee0)).join('');

    it.each([
      ['equal to the username', (username: string) => username],
      ['equal to the username in another case', (username: string) => username.toUpperCase()],
      ['with the username inside it', (username: string) => `my ${username} secret`],
      [
        'with the fullwidth username inside it, which NFKC folds',
        (username: string) => `my ${toFullwidth(username)} secret`,
      ],
    ])('refuses a password %s with 400 WEAK_PASSWORD', async (_label, passwordFor) => {
      const username = uniqueUsername('sebastian');
      const res = await signup({ username, password: passwordFor(username) });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
      expect(res.body.error.message).toBe('The password must not contain the username.');
    });

    it('refuses a password that contains the local part of an email username', async () => {
      const localPart = uniqueUsername('sebastian');
      const res = await signup({ username: `${localPart}@example.com`, password: `${localPart} was here` });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
    });

    it('has no composition rules: a long password of lower-case words is accepted', async () => {
      const res = await signup({ username: uniqueUsername(), password: 'purple elephants juggle quietly' });
      expect(res.status).toBe(201);
    });

    it('screens a username of three characters, the shortest it screens', async () => {
      const res = await signup({ username: 'zqx', password: 'my zqx secret phrase' });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
    });

    it('refuses the whole username only: a password holding all of it but its last character is accepted', async () => {
      const username = uniqueUsername('sebastian');
      const res = await signup({ username, password: `my ${username.slice(0, -1)} secret` });
      expect(res.status).toBe(201);
    });

    it('does not screen usernames too short to mean anything: "al" may appear in the password', async () => {
      const res = await signup({ username: 'al', password: 'totally alright passphrase' });
      expect(res.status).toBe(201);
    });
  });

  describe('at password change', () => {
    it('refuses a common new password with 400 WEAK_PASSWORD, and the old password still logs in', async () => {
      const user = await signUp(app);
      const res = await changePassword(app, user.token, { newPassword: 'iloveyou' });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
      expect((await logIn(app, user.username, PASSWORD)).status).toBe(200);
    });

    it('refuses a new password that contains the username with 400 WEAK_PASSWORD', async () => {
      const user = await signUp(app);
      const res = await changePassword(app, user.token, { newPassword: `${user.username.toUpperCase()} forever` });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
      expect(res.body.error.message).toBe('The password must not contain the username.');
    });
  });

  describe('at admin user creation', () => {
    it.each([
      ['a common password', () => 'qwertyuiop'],
      ['a password containing the username', (username: string) => `${username}!!`],
    ])('refuses %s with 400 WEAK_PASSWORD, and creates nobody', async (_label, passwordFor) => {
      const username = uniqueUsername();
      const password = passwordFor(username);
      const res = await request(app.http).post('/admin/users').set(withAdminSecret).send({ username, password });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
      expect(statusAndCode(await logIn(app, username, password))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    });
  });
});
