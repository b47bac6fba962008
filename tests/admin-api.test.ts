import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { logIn, webhookGet } from './support/requests';
import { bearer, PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

describe('admin API', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  describe('who may call it', () => {
    it('refuses a request without credentials with 401', async () => {
      const res = await request(app.http).get('/admin/users');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    });

    it('refuses a signed-in user without the admin role with 403', async () => {
      const user = await signUp(app);
      for (const [method, path] of [
        ['get', '/admin/users'],
        ['get', `/admin/users/${user.id}`],
        ['put', `/admin/users/${user.id}/roles/admin`],
        ['patch', `/admin/users/${user.id}`],
        ['delete', `/admin/users/${user.id}/sessions`],
        ['post', '/admin/roles'],
      ] as const) {
        const res = await request(app.http)[method](path).set(bearer(user.token)).send({ defaultRole: 'admin', name: 'x' });
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(res.body.error.code).toBe('FORBIDDEN');
      }
      const me = await request(app.http).get('/me').set(bearer(user.token));
      expect(me.body.roles).toEqual(['user']);
    });

    it('refuses a wrong admin secret with 401, even one that shares a prefix', async () => {
      for (const secret of ['wrong', ADMIN_SECRET.slice(0, -1), `${ADMIN_SECRET}x`, '']) {
        const res = await request(app.http).get('/admin/users').set('X-Hasura-Admin-Secret', secret);
        expect(res.status).toBe(401);
      }
    });

    it('admits the admin secret', async () => {
      const res = await request(app.http).get('/admin/users').set(withAdminSecret);
      expect(res.status).toBe(200);
    });

    it('admits a session of a user holding admin, whatever their default role', async () => {
      const admin = await createUserAsAdmin(app, { roles: ['admin'] });
      const res = await request(app.http).get('/admin/roles').set(bearer(admin.token));
      expect(res.status).toBe(200);
    });

    it('ignores the admin secret header when ADMIN_SECRET is not configured', async () => {
      const noSecret = await startTestApp();
      try {
        const res = await request(noSecret.http).get('/admin/users').set(withAdminSecret);
        expect(res.status).toBe(401);
      } finally {
        await noSecret.close();
      }
    });
  });

  describe('users', () => {
    it('creates a user with roles and a default role, who can then log in', async () => {
      const role = uniqueRoleName('editor');
      await createRole(app, role);
      const username = uniqueUsername();
      const res = await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username, password: PASSWORD, roles: [role], defaultRole: role });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        username,
        roles: ['user', role],
        defaultRole: role,
        disabled: false,
        sessionVariables: {},
        createdAt: expect.any(String),
      });
      const login = await logIn(app, username);
      expect(login.status).toBe(200);
      expect(login.body.defaultRole).toBe(role);
    });

    it('refuses to create a user with a role that does not exist, or a default role not among its roles', async () => {
      const unknown = await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: uniqueUsername(), password: PASSWORD, roles: ['no-such-role'] });
      expect(unknown.status).toBe(404);
      const badDefault = await request(app.http)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: uniqueUsername(), password: PASSWORD, defaultRole: 'admin' });
      expect(badDefault.status).toBe(400);
      expect(badDefault.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('lists users with a total and pages through them', async () => {
      await signUp(app);
      await signUp(app);
      const all = await request(app.http).get('/admin/users?limit=200').set(withAdminSecret);
      expect(all.status).toBe(200);
      expect(all.body.total).toBe(all.body.users.length);
      const page = await request(app.http).get('/admin/users?limit=1&offset=1').set(withAdminSecret);
      expect(page.body.users).toEqual([all.body.users[1]]);
      expect(page.body.total).toBe(all.body.total);
      const bad = await request(app.http).get('/admin/users?limit=0').set(withAdminSecret);
      expect(bad.status).toBe(400);
    });

    it('reads one user, and answers 404 for an unknown id and 400 for a malformed one', async () => {
      const user = await signUp(app);
      const res = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(res.status).toBe(200);
      expect(res.body.username).toBe(user.username);
      expect((await request(app.http).get('/admin/users/999999').set(withAdminSecret)).status).toBe(404);
      expect((await request(app.http).get('/admin/users/abc').set(withAdminSecret)).status).toBe(400);
    });

    it('refuses a PATCH with unknown fields or wrongly typed values', async () => {
      const user = await signUp(app);
      for (const body of [{ username: 'x' }, { disabled: 'yes' }, { sessionVariables: { 'x-hasura-org-id': 5 } }]) {
        const res = await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send(body);
        expect(res.status).toBe(400);
      }
    });

    it('deletes a user, whose token then stops working', async () => {
      const user = await signUp(app);
      expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
      expect((await webhookGet(app, user.token)).status).toBe(401);
      expect((await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(404);
      expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(404);
    });
  });

  describe('roles', () => {
    it('lists the built-in roles', async () => {
      const res = await request(app.http).get('/admin/roles').set(withAdminSecret);
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
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('ROLE_EXISTS');
    });

    it.each(['Editor', 'has space', 'a'.repeat(64), '', 'ünïcode', 'a.b'])('refuses the role name %j with 400', async (name) => {
      const res = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('accepts a name of 63 characters with digits, "_" and "-"', async () => {
      const name = `r_-9${'x'.repeat(59)}`;
      const res = await request(app.http).post('/admin/roles').set(withAdminSecret).send({ name });
      expect(res.status).toBe(201);
    });

    it.each(['anonymous', 'user', 'admin'])('refuses to delete the built-in role %s', async (name) => {
      const res = await request(app.http).delete(`/admin/roles/${name}`).set(withAdminSecret);
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('ROLE_BUILT_IN');
      const roles = await request(app.http).get('/admin/roles').set(withAdminSecret);
      expect(roles.body.roles).toContainEqual({ name, builtIn: true });
    });

    it('deletes a created role, which its holders then lose', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await createUserAsAdmin(app, { roles: [role], defaultRole: role });
      expect((await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)).status).toBe(204);
      const after = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(after.body.roles).toEqual(['user']);
      expect(after.body.defaultRole).toBe('user');
      expect((await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)).status).toBe(404);
    });

    it('refuses to grant a role that does not exist, or the anonymous role, or to revoke user', async () => {
      const user = await signUp(app);
      const path = `/admin/users/${user.id}/roles`;
      expect((await request(app.http).put(`${path}/nope`).set(withAdminSecret)).status).toBe(404);
      expect((await request(app.http).put(`${path}/anonymous`).set(withAdminSecret)).status).toBe(400);
      expect((await request(app.http).delete(`${path}/user`).set(withAdminSecret)).status).toBe(400);
      expect((await request(app.http).put('/admin/users/999999/roles/admin').set(withAdminSecret)).status).toBe(404);
    });
  });
});
