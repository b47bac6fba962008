import request, { type Response } from 'supertest';
import { ADMIN_SECRET, uniqueRoleName, withAdminSecret } from './support/admin';
import { changePassword, webhookGet } from './support/requests';
import { PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

/** The error of a refusal as the client reads it: status, code, message and details. */
const refusal = (res: Response) => ({ status: res.status, ...res.body.error });

// A refusal's code says what kind of mistake it was; its message and details say which field and
// rule, so that an admin or a client can fix the request without reading the server's log.
describe('what a refusal tells the client', () => {
  const UNKNOWN_ID = 999_999;
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, ANONYMOUS_ROLE: 'guest' });
  });
  afterAll(() => app.close());

  const admin = () => ({
    get: (path: string) => request(app.http).get(path).set(withAdminSecret),
    post: (path: string, body: object) => request(app.http).post(path).set(withAdminSecret).send(body),
    patch: (path: string, body: object) => request(app.http).patch(path).set(withAdminSecret).send(body),
    put: (path: string) => request(app.http).put(path).set(withAdminSecret),
    delete: (path: string) => request(app.http).delete(path).set(withAdminSecret),
  });

  describe('an unknown user or role', () => {
    it.each<[string, () => request.Test]>([
      ['read', () => admin().get(`/admin/users/${UNKNOWN_ID}`)],
      ['changed', () => admin().patch(`/admin/users/${UNKNOWN_ID}`, { disabled: true })],
      ['deleted', () => admin().delete(`/admin/users/${UNKNOWN_ID}`)],
      ['granted a role', () => admin().put(`/admin/users/${UNKNOWN_ID}/roles/admin`)],
      ['revoked a role', () => admin().delete(`/admin/users/${UNKNOWN_ID}/roles/admin`)],
      ['logged out everywhere', () => admin().delete(`/admin/users/${UNKNOWN_ID}/sessions`)],
    ])(
      'answers a user who does not exist being %s with 404 "No such user.", among users who do',
      async (_label, send) => {
        // Someone exists: a lookup that lost its user id would find them instead.
        await signUp(app);
        expect(refusal(await send())).toEqual({ status: 404, code: 'NOT_FOUND', message: 'No such user.' });
      },
    );

    it('names the role that does not exist, whether granted, revoked, deleted or given at creation', async () => {
      const user = await signUp(app);
      const role = uniqueRoleName('missing');
      const expected = { status: 404, code: 'NOT_FOUND', message: `No such role: ${role}.` };
      expect(refusal(await admin().put(`/admin/users/${user.id}/roles/${role}`))).toEqual(expected);
      expect(refusal(await admin().delete(`/admin/users/${user.id}/roles/${role}`))).toEqual(expected);
      expect(refusal(await admin().delete(`/admin/roles/${role}`))).toEqual(expected);
      expect(
        refusal(await admin().post('/admin/users', { username: uniqueUsername(), password: PASSWORD, roles: [role] })),
      ).toEqual(expected);
    });
  });

  describe('a role rule broken', () => {
    it.each(['guest', 'anonymous'])('says that %s, the anonymous role, cannot be granted', async (role) => {
      const user = await signUp(app);
      expect(refusal(await admin().put(`/admin/users/${user.id}/roles/${role}`))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'The anonymous role cannot be granted.',
        details: [{ path: 'role', message: `${role} is for requests without a session` }],
      });
    });

    it('says which of a new user’s roles is the anonymous one, by its place in the list', async () => {
      const body = { username: uniqueUsername(), password: PASSWORD, roles: ['admin', 'guest'] };
      expect(refusal(await admin().post('/admin/users', body))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'The anonymous role cannot be granted.',
        details: [{ path: 'roles.1', message: 'guest is for requests without a session' }],
      });
    });

    it('says that the user role cannot be revoked', async () => {
      const user = await signUp(app);
      expect(refusal(await admin().delete(`/admin/users/${user.id}/roles/user`))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'Every user holds the user role; it cannot be revoked.',
        details: [{ path: 'role', message: 'user is implicit' }],
      });
    });

    it('says that a new user’s default role must be among their roles', async () => {
      const body = { username: uniqueUsername(), password: PASSWORD, defaultRole: 'admin' };
      expect(refusal(await admin().post('/admin/users', body))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'The default role must be one of the user’s roles.',
        details: [{ path: 'defaultRole', message: 'not among roles' }],
      });
    });

    it('says that a user’s default role must be a role they hold', async () => {
      const user = await signUp(app);
      expect(refusal(await admin().patch(`/admin/users/${user.id}`, { defaultRole: 'admin' }))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'The default role must be one of the user’s roles.',
        details: [{ path: 'defaultRole', message: 'the user does not hold this role' }],
      });
    });

    it('says which names a role may have', async () => {
      expect(refusal(await admin().post('/admin/roles', { name: 'Not A Role' }))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'Invalid role name.',
        details: [{ path: 'name', message: 'lower-case letters, digits, "_" and "-", at most 63 characters' }],
      });
    });

    it('names the built-in role that cannot be deleted', async () => {
      expect(refusal(await admin().delete('/admin/roles/admin'))).toEqual({
        status: 409,
        code: 'ROLE_BUILT_IN',
        message: 'admin is built in and cannot be deleted.',
      });
    });
  });

  describe('a username that cannot be registered', () => {
    it.each([
      ['too long', 'a'.repeat(255), 'must be 1 to 254 characters long'],
      ['with a space', 'has space', 'must not contain whitespace or control characters'],
    ])('says why a username %s is refused', async (_label, username, problem) => {
      expect(refusal(await request(app.http).post('/signup').send({ username, password: PASSWORD }))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: `The username ${problem}.`,
        details: [{ path: 'username', message: problem }],
      });
    });

    it('registers a username of a single character', async () => {
      // One character is the shortest name there is, in a database that no other suite shares.
      const res = await request(app.http).post('/signup').send({ username: 'q', password: PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body.username).toBe('q');
    });
  });

  describe('session variables', () => {
    it('lists every variable that is refused and why, all at once, and stores none of them', async () => {
      const user = await signUp(app);
      const res = await admin().patch(`/admin/users/${user.id}`, {
        sessionVariables: {
          'org-id': '1',
          'X-Hasura-Role': 'admin',
          'x-hasura-team': '1',
          'X-Hasura-Team': '2',
          'x-hasura-long': 'x'.repeat(4097),
          'x-hasura-nul': 'a\u0000b',
          'x-hasura-fine': 'yes',
        },
      });
      expect(refusal(res)).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: 'Invalid session variables.',
        details: [
          {
            path: 'sessionVariables.org-id',
            message: 'names start with x-hasura- and use letters, digits, "_" and "-"',
          },
          { path: 'sessionVariables.X-Hasura-Role', message: 'x-hasura-role is reserved' },
          { path: 'sessionVariables.X-Hasura-Team', message: 'the same name is given twice' },
          { path: 'sessionVariables.x-hasura-long', message: 'values are at most 4096 characters' },
          { path: 'sessionVariables.x-hasura-nul', message: 'values must not contain NUL characters' },
        ],
      });
      expect((await webhookGet(app, user.token)).body['X-Hasura-Fine']).toBeUndefined();
    });

    it('accepts a value of exactly 4096 characters, which the webhook answers whole', async () => {
      const user = await signUp(app);
      const value = 'v'.repeat(4096);
      const res = await admin().patch(`/admin/users/${user.id}`, { sessionVariables: { 'x-hasura-long': value } });
      expect(res.status).toBe(200);
      expect((await webhookGet(app, user.token)).body['X-Hasura-Long']).toBe(value);
    });
  });

  describe('a password change', () => {
    it('says that the current password is wrong, and the session still works', async () => {
      const user = await signUp(app);
      const res = await changePassword(app, user.token, {
        newPassword: 'a brand new password',
        currentPassword: 'not the password',
      });
      expect(refusal(res)).toEqual({
        status: 401,
        code: 'INVALID_CREDENTIALS',
        message: 'The current password is incorrect.',
      });
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });
  });
});
