import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { WEBHOOK_MODES, webhookGet, webhookPost } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody, statusAndCode } from './support/responses';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('roles and session variables in the webhook answer', () => {
  let app: TestApp;
  const editor = uniqueRoleName('editor');
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
    await createRole(app, editor);
  });
  afterAll(() => app.close());

  it('answers a new user with the user role, which every signed-in user holds, asked for or not', async () => {
    const user = await signUp(app);
    const unasked = await webhookGet(app, user.token);
    expect(unasked.status).toBe(200);
    expect(unasked.body['X-Hasura-Role']).toBe('user');
    const asked = await webhookGet(app, user.token, { role: 'user' });
    expect(asked.status).toBe(200);
    expect(asked.body['X-Hasura-Role']).toBe('user');
  });

  it.each([
    ['GET', webhookGet],
    ['POST', webhookPost],
    [
      'POST, the role header spelled x-hasura-role',
      (target: TestApp, token: string, { role }: { role?: string } = {}) =>
        webhookPost(target, token, { headers: role === undefined ? {} : { 'x-hasura-role': role } }),
    ],
  ] as const)('grants an assigned role when asked for it (%s), and the default role otherwise', async (_mode, send) => {
    const user = await createUserAsAdmin(app, { roles: [editor] });
    const asked = await send(app, user.token, { role: editor });
    expect(asked.status).toBe(200);
    expect(asked.body['X-Hasura-Role']).toBe(editor);
    const unasked = await send(app, user.token);
    expect(unasked.status).toBe(200);
    expect(unasked.body['X-Hasura-Role']).toBe('user');
  });

  it('uses the default role when no role is asked for', async () => {
    const user = await createUserAsAdmin(app, { roles: [editor], defaultRole: editor });
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe(editor);
    expect((await webhookGet(app, user.token, { role: 'user' })).body['X-Hasura-Role']).toBe('user');
  });

  describe('a role a signed-in user does not hold', () => {
    const notHeld: [string, string][] = [
      ['admin', 'admin'],
      ['anonymous', 'anonymous'],
      ['a role that does not exist', 'no-such-role'],
      ['a held role in upper case', editor.toUpperCase()],
      ['a held role twice over', `${editor} ${editor}`],
    ];
    const cases = notHeld.flatMap(([label, role]) =>
      WEBHOOK_MODES.map(([mode, send]) => [label, mode, role, send] as const),
    );

    it.each(cases)(
      'refuses %s in %s mode with 401 {}, rather than downgrading or granting it',
      async (_label, _mode, role, send) => {
        const user = await createUserAsAdmin(app, { roles: [editor], defaultRole: editor });
        expect(statusAndBody(await send(app, user.token, { role }))).toEqual(WEBHOOK_REFUSAL);
      },
    );
  });

  it('gives admin to an admin only when asked for it or when it is the default', async () => {
    const admin = await createUserAsAdmin(app, { roles: ['admin'] });
    expect((await webhookGet(app, admin.token)).body['X-Hasura-Role']).toBe('user');
    expect((await webhookGet(app, admin.token, { role: 'admin' })).body['X-Hasura-Role']).toBe('admin');
    const defaultAdmin = await createUserAsAdmin(app, { roles: ['admin'], defaultRole: 'admin' });
    expect((await webhookGet(app, defaultAdmin.token)).body['X-Hasura-Role']).toBe('admin');
  });

  it('changes the default role through PATCH, to a role the user holds only, and no one else’s', async () => {
    const user = await createUserAsAdmin(app, { roles: [editor] });
    const bystander = await createUserAsAdmin(app, { roles: [editor] });
    const refused = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ defaultRole: 'admin' });
    expect(statusAndCode(refused)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe('user');
    const changed = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ defaultRole: editor });
    expect(changed.status).toBe(200);
    expect(changed.body.defaultRole).toBe(editor);
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe(editor);
    expect((await webhookGet(app, bystander.token)).body['X-Hasura-Role']).toBe('user');
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
      'X-Hasura-Mfa': 'false',
      'Cache-Control': expect.stringMatching(/^max-age=\d+$/),
    });
    const me = await request(app.http).get('/me').set(bearer(user.token));
    expect(me.body.sessionVariables).toEqual({ 'x-hasura-org-id': '42', 'x-hasura-team': 'blue' });
  });

  it('replaces the session variables as a whole, and an empty object clears them', async () => {
    const user = await signUp(app);
    const patch = async (sessionVariables: object) => {
      const res = await request(app.http)
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ sessionVariables });
      expect(res.status).toBe(200);
    };
    await patch({ 'x-hasura-a': '1' });
    await patch({ 'x-hasura-b': '2' });
    const replaced = await webhookGet(app, user.token);
    expect(replaced.body).not.toHaveProperty('X-Hasura-A');
    expect(replaced.body['X-Hasura-B']).toBe('2');
    await patch({});
    expect(Object.keys((await webhookGet(app, user.token)).body).sort()).toEqual([
      'Cache-Control',
      'X-Hasura-Mfa',
      'X-Hasura-Role',
      'X-Hasura-User-Id',
    ]);
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
  ])('refuses %s with 400 VALIDATION_FAILED and keeps the previous variables', async (_label, sessionVariables) => {
    const user = await signUp(app);
    await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'x-hasura-keep': 'yes' } });
    const res = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables });
    expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const answer = await webhookGet(app, user.token);
    expect(answer.body['X-Hasura-Keep']).toBe('yes');
    expect(answer.body['X-Hasura-Role']).toBe('user');
    expect(answer.body['X-Hasura-User-Id']).toBe(String(user.id));
  });
});
