import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { logIn } from './support/requests';
import { statusAndCode } from './support/responses';
import {
  bearer,
  PASSWORD,
  signUp,
  startTestApp,
  uniqueUsername,
  type SignedUpUser,
  type TestApp,
} from './support/test-app';

describe('admin API', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  describe('who may call it', () => {
    it('refuses a request without credentials with 401 UNAUTHORIZED', async () => {
      const res = await request(app.http).get('/admin/users');
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });

    describe('a signed-in user without the admin role', () => {
      let user: SignedUpUser;
      beforeAll(async () => {
        user = await signUp(app);
      });

      it.each<[string, 'get' | 'put' | 'patch' | 'delete' | 'post', (id: number) => string]>([
        ['list users', 'get', () => '/admin/users'],
        ['read a user', 'get', (id) => `/admin/users/${id}`],
        ['grant a role', 'put', (id) => `/admin/users/${id}/roles/admin`],
        ['change a user', 'patch', (id) => `/admin/users/${id}`],
        ['expire a user’s sessions', 'delete', (id) => `/admin/users/${id}/sessions`],
        ['create a role', 'post', () => '/admin/roles'],
      ])('is refused with 403 FORBIDDEN when trying to %s, and nothing changes', async (_label, method, path) => {
        const res = await request(app.http)
          [method](path(user.id))
          .set(bearer(user.token))
          .send({ defaultRole: 'admin', name: 'x' });
        expect(statusAndCode(res)).toEqual({ status: 403, code: 'FORBIDDEN' });
        const me = await request(app.http).get('/me').set(bearer(user.token));
        expect(me.status).toBe(200);
        expect(me.body.roles).toEqual(['user']);
        expect(me.body.defaultRole).toBe('user');
      });
    });

    it.each(['wrong', ADMIN_SECRET.slice(0, -1), `${ADMIN_SECRET}x`, ''])(
      'refuses the wrong admin secret %j with 401 UNAUTHORIZED',
      async (secret) => {
        const res = await request(app.http).get('/admin/users').set('X-Hasura-Admin-Secret', secret);
        expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      },
    );

    it('admits the admin secret', async () => {
      const res = await request(app.http).get('/admin/users').set(withAdminSecret);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ users: expect.any(Array), total: expect.any(Number) });
    });

    it('admits a session of a user holding admin, whatever their default role', async () => {
      const admin = await createUserAsAdmin(app, { roles: ['admin'] });
      const res = await request(app.http).get('/admin/roles').set(bearer(admin.token));
      expect(res.status).toBe(200);
      expect(res.body.roles).toContainEqual({ name: 'admin', builtIn: true });
    });
  });

  describe('users', () => {
    it('creates a user with roles and a default role, who can then log in', async () => {
      const role = uniqueRoleName('editor');
      await createRole(app, role);
      const username = uniqueUsername();
      // A role named twice, and the role every user holds anyway, are each held once.
      const res = await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username, password: PASSWORD, roles: [role, 'user', role], defaultRole: role });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        username,
        roles: ['user', role],
        defaultRole: role,
        displayName: null,
        email: null,
        emailVerified: false,
        disabled: false,
        sessionVariables: {},
        createdAt: expect.any(String),
        identities: [],
        mfa: { totp: false, passkeys: 0 },
      });
      const login = await logIn(app, username);
      expect(login.status).toBe(200);
      expect(login.body.defaultRole).toBe(role);
    });

    it.each([
      ['a role that does not exist', 404, 'NOT_FOUND', { roles: ['no-such-role'] }],
      ['a default role not among its roles', 400, 'VALIDATION_FAILED', { defaultRole: 'admin' }],
    ])('refuses to create a user with %s with %i %s, and creates nobody', async (_label, status, code, extra) => {
      const username = uniqueUsername();
      const res = await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username, password: PASSWORD, ...extra });
      expect(statusAndCode(res)).toEqual({ status, code });
      expect(statusAndCode(await logIn(app, username))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    });

    it('lists users with a total and pages through them', async () => {
      await signUp(app);
      await signUp(app);
      const all = await request(app.http).get('/admin/users?limit=200').set(withAdminSecret);
      expect(all.status).toBe(200);
      expect(all.body.total).toBe(all.body.users.length);
      const page = await request(app.http).get('/admin/users?limit=1&offset=1').set(withAdminSecret);
      expect(page.status).toBe(200);
      expect(page.body.users).toEqual([all.body.users[1]]);
      expect(page.body.total).toBe(all.body.total);
    });

    it('finds users whose username or address contains `search`, in any case, with LIKE wildcards as text', async () => {
      const needle = uniqueUsername('Find_me');
      await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: `${needle.toLowerCase()}-a`, password: PASSWORD })
        .expect(201);
      await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: uniqueUsername('other'), password: PASSWORD, email: `${needle}@Example.com` })
        .expect(201);
      const found = await request(app.http)
        .get(`/admin/users?search=${encodeURIComponent(needle.toUpperCase())}`)
        .set(withAdminSecret)
        .expect(200);
      expect(found.body.total).toBe(2);
      expect(found.body.users).toHaveLength(2);
      // `_` and `%` are matched as themselves, not as LIKE's wildcards.
      const underscore = await request(app.http).get('/admin/users?search=find%25me').set(withAdminSecret).expect(200);
      expect(underscore.body).toEqual({ users: [], total: 0 });
      const wildcard = await request(app.http).get('/admin/users?search=find_me_').set(withAdminSecret).expect(200);
      expect(wildcard.body.total).toBe(0);
    });

    it.each(['limit=0', 'limit=201', 'offset=-1'])(
      'refuses the paging %s with 400 VALIDATION_FAILED',
      async (query) => {
        const res = await request(app.http).get(`/admin/users?${query}`).set(withAdminSecret);
        expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      },
    );

    it('reads one user', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, username: user.username, roles: ['user'], defaultRole: 'user' });
    });

    it('lists the user role once, first, even when a grant of it was written in SQL', async () => {
      const user = await signUp(app);
      // The API never stores the implicit role; an operator's SQL might.
      await app.database.db('user_roles').insert({ user_id: user.id, role: 'user' });
      const res = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(res.body.roles).toEqual(['user']);
    });

    it('answers 404 NOT_FOUND for an unknown user id', async () => {
      const res = await request(app.http).get('/admin/users/999999').set(withAdminSecret);
      expect(statusAndCode(res)).toEqual({ status: 404, code: 'NOT_FOUND' });
    });

    it('answers 400 VALIDATION_FAILED for a malformed user id', async () => {
      const res = await request(app.http).get('/admin/users/abc').set(withAdminSecret);
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });

    it.each([
      ['an unknown field', { username: 'x' }],
      ['a disabled flag that is not a boolean', { disabled: 'yes' }],
      ['a session variable that is not a string', { sessionVariables: { 'x-hasura-org-id': 5 } }],
    ])('refuses a PATCH with %s with 400 VALIDATION_FAILED, and changes nothing', async (_label, body) => {
      const user = await signUp(app);
      const res = await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send(body);
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      const after = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(after.body).toMatchObject({ username: user.username, disabled: false, sessionVariables: {} });
    });

    it('deletes a user with 204, after which reading or deleting them again answers 404 NOT_FOUND', async () => {
      const user = await signUp(app);
      expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
      const read = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(statusAndCode(read)).toEqual({ status: 404, code: 'NOT_FOUND' });
      const again = await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(statusAndCode(again)).toEqual({ status: 404, code: 'NOT_FOUND' });
    });
  });

  describe('roles', () => {
    it('lists the built-in roles', async () => {
      const res = await request(app.http).get('/admin/roles').set(withAdminSecret);
      expect(res.status).toBe(200);
      expect(res.body.roles).toEqual(
        expect.arrayContaining([
          { name: 'anonymous', builtIn: true },
          { name: 'user', builtIn: true },
          { name: 'admin', builtIn: true },
        ]),
      );
    });

    it('creates a role once, then answers 409 ROLE_EXISTS', async () => {
      const name = uniqueRoleName();
      const created = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ name, builtIn: false });
      const again = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
      expect(statusAndCode(again)).toEqual({ status: 409, code: 'ROLE_EXISTS' });
    });

    it.each(['Editor', 'has space', 'a'.repeat(64), '', 'ünïcode', 'a.b'])(
      'refuses the role name %j with 400 VALIDATION_FAILED',
      async (name) => {
        const res = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
        expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      },
    );

    it('accepts a name of 63 characters with digits, "_" and "-"', async () => {
      const name = `r_-9${'x'.repeat(59)}`;
      const res = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ name, builtIn: false });
    });

    it.each(['anonymous', 'user', 'admin'])(
      'refuses to delete the built-in role %s with 409 ROLE_BUILT_IN',
      async (name) => {
        const res = await request(app.http).delete(`/admin/roles/${name}`).set(withAdminSecret);
        expect(statusAndCode(res)).toEqual({ status: 409, code: 'ROLE_BUILT_IN' });
        const roles = await request(app.http).get('/admin/roles').set(withAdminSecret);
        expect(roles.body.roles).toContainEqual({ name, builtIn: true });
      },
    );

    it('deletes a created role, which its holders then lose; deleting it again answers 404 NOT_FOUND', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await createUserAsAdmin(app, { roles: [role], defaultRole: role });
      expect((await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)).status).toBe(204);
      const after = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(after.body.roles).toEqual(['user']);
      expect(after.body.defaultRole).toBe('user');
      const again = await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret);
      expect(statusAndCode(again)).toEqual({ status: 404, code: 'NOT_FOUND' });
    });

    it.each<[string, number, string, 'put' | 'delete', (id: number) => string]>([
      ['grant a role that does not exist', 404, 'NOT_FOUND', 'put', (id) => `/admin/users/${id}/roles/nope`],
      ['grant the anonymous role', 400, 'VALIDATION_FAILED', 'put', (id) => `/admin/users/${id}/roles/anonymous`],
      ['revoke the user role', 400, 'VALIDATION_FAILED', 'delete', (id) => `/admin/users/${id}/roles/user`],
      ['grant a role to a user who does not exist', 404, 'NOT_FOUND', 'put', () => '/admin/users/999999/roles/admin'],
    ])('refuses to %s with %i %s, and changes no one’s roles', async (_label, status, code, method, path) => {
      const user = await signUp(app);
      const res = await request(app.http)[method](path(user.id)).set(withAdminSecret);
      expect(statusAndCode(res)).toEqual({ status, code });
      const after = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(after.body.roles).toEqual(['user']);
    });
  });
});

describe('admin API without ADMIN_SECRET configured', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('refuses the admin secret header with 401 UNAUTHORIZED, saying that no admin secret is configured', async () => {
    const res = await request(app.http).get('/admin/users').set(withAdminSecret);
    expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(res.body.error.message).toMatch(/no admin secret configured.*ADMIN_SECRET/);
  });

  it('says nothing of the admin secret to a request that did not send one', async () => {
    const res = await request(app.http).get('/admin/users');
    expect(res.body.error).toEqual({ code: 'UNAUTHORIZED', message: 'A valid session is required.' });
  });
});
