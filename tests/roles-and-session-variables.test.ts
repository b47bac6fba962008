import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { webhookGet, webhookPost } from './support/requests';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('roles and session variables in the webhook answer', () => {
  let app: TestApp;
  let editor: string;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
    editor = uniqueRoleName('editor');
    await createRole(app, editor);
  });
  afterAll(() => app.close());

  it('answers a new user with the user role, which every signed-in user holds', async () => {
    const user = await signUp(app);
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe('user');
    expect((await webhookGet(app, user.token, { role: 'user' })).body['X-Hasura-Role']).toBe('user');
  });

  it('never answers anonymous for a valid session, even when asked', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token, { role: 'anonymous' });
    expect(res.status).toBe(401);
  });

  it('grants an assigned role when asked for it, in GET and POST mode', async () => {
    const user = await createUserAsAdmin(app, { roles: [editor] });
    for (const call of [webhookGet, webhookPost]) {
      const asked = await call(app, user.token, { role: editor });
      expect(asked.status).toBe(200);
      expect(asked.body['X-Hasura-Role']).toBe(editor);
      const unasked = await call(app, user.token);
      expect(unasked.body['X-Hasura-Role']).toBe('user');
    }
  });

  it('uses the default role when no role is asked for', async () => {
    const user = await createUserAsAdmin(app, { roles: [editor], defaultRole: editor });
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe(editor);
    expect((await webhookGet(app, user.token, { role: 'user' })).body['X-Hasura-Role']).toBe('user');
  });

  it('refuses with 401 a role the user does not hold, rather than downgrading or granting it', async () => {
    const user = await createUserAsAdmin(app, { roles: [editor], defaultRole: editor });
    for (const role of ['admin', 'no-such-role', 'Editor', `${editor} `.repeat(2)]) {
      expect((await webhookGet(app, user.token, { role })).status).toBe(401);
      expect((await webhookPost(app, user.token, { role })).status).toBe(401);
    }
  });

  it('gives admin to an admin only when asked for it or when it is the default', async () => {
    const admin = await createUserAsAdmin(app, { roles: ['admin'] });
    expect((await webhookGet(app, admin.token)).body['X-Hasura-Role']).toBe('user');
    expect((await webhookGet(app, admin.token, { role: 'admin' })).body['X-Hasura-Role']).toBe('admin');
    const defaultAdmin = await createUserAsAdmin(app, { roles: ['admin'], defaultRole: 'admin' });
    expect((await webhookGet(app, defaultAdmin.token)).body['X-Hasura-Role']).toBe('admin');
  });

  it('refuses a signed-in user who asks for admin through X-Hasura-Role', async () => {
    const user = await signUp(app);
    expect((await webhookGet(app, user.token, { role: 'admin' })).status).toBe(401);
    expect((await webhookPost(app, user.token, { role: 'admin' })).status).toBe(401);
  });

  it('changes the default role through PATCH, to a role the user holds only', async () => {
    const user = await createUserAsAdmin(app, { roles: [editor] });
    const refused = await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ defaultRole: 'admin' });
    expect(refused.status).toBe(400);
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe('user');
    const changed = await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ defaultRole: editor });
    expect(changed.status).toBe(200);
    expect(changed.body.defaultRole).toBe(editor);
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe(editor);
  });

  it('returns the session variables an admin sets, beside the role and the user id', async () => {
    const user = await signUp(app);
    const res = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'X-Hasura-Org-Id': '42', 'x-hasura-team': 'blue' } });
    expect(res.status).toBe(200);
    expect(res.body.sessionVariables).toEqual({ 'x-hasura-org-id': '42', 'x-hasura-team': 'blue' });
    const answer = await webhookPost(app, user.token);
    expect(answer.body).toEqual({
      'X-Hasura-Role': 'user',
      'X-Hasura-User-Id': String(user.id),
      'X-Hasura-Org-Id': '42',
      'X-Hasura-Team': 'blue',
      'Cache-Control': expect.stringMatching(/^max-age=\d+$/),
    });
    const me = await request(app.http).get('/me').set(bearer(user.token));
    expect(me.body.sessionVariables).toEqual({ 'x-hasura-org-id': '42', 'x-hasura-team': 'blue' });
  });

  it('replaces the session variables as a whole, and an empty object clears them', async () => {
    const user = await signUp(app);
    const patch = (sessionVariables: object) =>
      request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ sessionVariables });
    await patch({ 'x-hasura-a': '1' });
    await patch({ 'x-hasura-b': '2' });
    expect((await webhookGet(app, user.token)).body).not.toHaveProperty('X-Hasura-A');
    expect((await webhookGet(app, user.token)).body['X-Hasura-B']).toBe('2');
    await patch({});
    expect(Object.keys((await webhookGet(app, user.token)).body).sort()).toEqual(['Cache-Control', 'X-Hasura-Role', 'X-Hasura-User-Id']);
  });

  it.each([
    ['a name without the x-hasura- prefix', { 'org-id': '1' }],
    ['the reserved x-hasura-role', { 'x-hasura-role': 'admin' }],
    ['the reserved x-hasura-user-id in any case', { 'X-Hasura-User-Id': '1' }],
    ['a bare prefix', { 'x-hasura-': '1' }],
    ['a number value', { 'x-hasura-org-id': 1 }],
    ['a null value', { 'x-hasura-org-id': null }],
    ['a nested value', { 'x-hasura-org-id': { id: '1' } }],
    ['one name twice in different case', { 'x-hasura-a': '1', 'X-Hasura-A': '2' }],
  ])('refuses %s with 400 and keeps the previous variables', async (_label, sessionVariables) => {
    const user = await signUp(app);
    await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ sessionVariables: { 'x-hasura-keep': 'yes' } });
    const res = await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ sessionVariables });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const answer = await webhookGet(app, user.token);
    expect(answer.body['X-Hasura-Keep']).toBe('yes');
    expect(answer.body['X-Hasura-Role']).toBe('user');
    expect(answer.body['X-Hasura-User-Id']).toBe(String(user.id));
  });
});
