import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { changePassword, logIn, logInToken, webhookGet } from './support/requests';
import { WEBHOOK_REFUSAL, expectTokenRefused, statusAndBody, statusAndCode } from './support/responses';
import { eventually } from './support/eventually';
import { bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

// Each way a session ends beyond logout (tests/logout.test.ts) and expiry (tests/session-expiry.test.ts),
// seen through /webhook: before the action it answers 200, after it 401 {}.
describe('session lifecycle', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  describe('password change', () => {
    it('refuses a wrong current password with 401 INVALID_CREDENTIALS, and changes nothing', async () => {
      const user = await signUp(app);
      const res = await changePassword(app, user.token, {
        newPassword: 'a brand new password',
        currentPassword: 'not the password',
      });
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      expect((await webhookGet(app, user.token)).status).toBe(200);
      expect((await logIn(app, user.username)).status).toBe(200);
    });

    it('refuses a weak new password with 400 WEAK_PASSWORD and keeps the old one', async () => {
      const user = await signUp(app);
      const res = await changePassword(app, user.token, { newPassword: 'short' });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
      expect((await webhookGet(app, user.token)).status).toBe(200);
      expect((await logIn(app, user.username)).status).toBe(200);
    });

    it('ends every session, returns a fresh one, and only the new password logs in', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);
      const newPassword = 'a brand new password';
      const res = await changePassword(app, user.token, { newPassword });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: user.id,
        username: user.username,
        token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
        expiresAt: new Date(
          app.clock.now().getTime() + app.config.sessions.absoluteTimeoutSeconds * 1000,
        ).toISOString(),
        roles: ['user'],
        defaultRole: 'user',
        displayName: null,
        email: null,
        emailVerified: false,
      });
      expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
      expect(statusAndBody(await webhookGet(app, other))).toEqual(WEBHOOK_REFUSAL);
      expect((await webhookGet(app, res.body.token)).status).toBe(200);
      expect(statusAndCode(await logIn(app, user.username))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      expect((await logIn(app, user.username, newPassword)).status).toBe(200);
    });

    it('checks and replaces the user’s own password only: another user keeps theirs and their sessions', async () => {
      const bystander = await signUp(app);
      // A password no other user here has, so that only this user's own hash can match it.
      const ownPassword = 'this user’s own password';
      const owner = await signUp(app);
      const changed = await changePassword(app, owner.token, { newPassword: ownPassword });
      expect(changed.status).toBe(200);
      const res = await changePassword(app, changed.body.token, {
        newPassword: 'and yet another password',
        currentPassword: ownPassword,
      });
      expect(res.status).toBe(200);
      expect((await webhookGet(app, bystander.token)).status).toBe(200);
      expect((await logIn(app, bystander.username)).status).toBe(200);
    });
  });

  describe('role changes, with SESSIONS_EXPIRE_ON_ROLE_CHANGE at its default (true)', () => {
    it('ends the user’s sessions, and no one else’s, when a role is assigned, and the next login has it', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await signUp(app);
      const bystander = await signUp(app);
      expect((await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
        204,
      );
      expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
      expect((await webhookGet(app, bystander.token)).status).toBe(200);
      const res = await webhookGet(app, await logInToken(app, user.username), { role });
      expect(res.status).toBe(200);
      expect(res.body['X-Hasura-Role']).toBe(role);
    });

    it('ends the user’s sessions, and no one else’s, when a role is unassigned, and the role is refused afterwards', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await createUserAsAdmin(app, { roles: [role] });
      // Holds the role too, as their default: they keep both, and their sessions.
      const bystander = await createUserAsAdmin(app, { roles: [role], defaultRole: role });
      expect(
        (await request(app.http).delete(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status,
      ).toBe(204);
      expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
      expect((await webhookGet(app, bystander.token)).body['X-Hasura-Role']).toBe(role);
      const fresh = await logInToken(app, user.username);
      expect(statusAndBody(await webhookGet(app, fresh, { role }))).toEqual(WEBHOOK_REFUSAL);
    });

    it('leaves sessions alone when nothing changes: granting a held role', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await createUserAsAdmin(app, { roles: [role] });
      expect((await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
        204,
      );
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });

    it('leaves sessions alone when nothing changes: revoking a role the user does not hold', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await signUp(app);
      expect(
        (await request(app.http).delete(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status,
      ).toBe(204);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });

    it('leaves sessions alone when nothing changes: granting the user role, which everyone holds', async () => {
      const user = await signUp(app);
      expect((await request(app.http).put(`/admin/users/${user.id}/roles/user`).set(withAdminSecret)).status).toBe(204);
      expect((await webhookGet(app, user.token)).status).toBe(200);
    });

    it('ends the holders’ sessions when a role is deleted, and no one else’s', async () => {
      const [role, kept] = [uniqueRoleName(), uniqueRoleName()];
      await createRole(app, role);
      await createRole(app, kept);
      const holder = await createUserAsAdmin(app, { roles: [role] });
      // Holds another role, as their default: neither their sessions nor their default change.
      const other = await createUserAsAdmin(app, { roles: [kept], defaultRole: kept });
      expect((await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)).status).toBe(204);
      expect(statusAndBody(await webhookGet(app, holder.token))).toEqual(WEBHOOK_REFUSAL);
      expect((await webhookGet(app, other.token)).body['X-Hasura-Role']).toBe(kept);
    });
  });

  it('ends every session of a user, and no one else’s, when an admin expires them', async () => {
    const user = await signUp(app);
    const second = await logInToken(app, user.username);
    const bystander = await signUp(app);
    expect((await request(app.http).delete(`/admin/users/${user.id}/sessions`).set(withAdminSecret)).status).toBe(204);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
    expect(statusAndBody(await webhookGet(app, second))).toEqual(WEBHOOK_REFUSAL);
    expect((await webhookGet(app, bystander.token)).status).toBe(200);
  });

  it('answers 404 NOT_FOUND when an admin expires the sessions of a user who does not exist', async () => {
    const res = await request(app.http).delete('/admin/users/999999/sessions').set(withAdminSecret);
    expect(statusAndCode(res)).toEqual({ status: 404, code: 'NOT_FOUND' });
  });

  it('refuses the session of a user an operator disabled directly in the database', async () => {
    const user = await signUp(app);
    await app.database.db('users').update({ disabled: true }).where({ id: user.id });
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
  });

  it('ends the sessions of a disabled user, who can no longer log in until enabled again', async () => {
    const user = await signUp(app);
    const disable = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ disabled: true });
    expect(disable.status).toBe(200);
    expect(disable.body.disabled).toBe(true);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
    expect(statusAndCode(await logIn(app, user.username))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    const enable = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ disabled: false });
    expect(enable.status).toBe(200);
    expect((await webhookGet(app, await logInToken(app, user.username))).status).toBe(200);
    expect(statusAndBody(await webhookGet(app, user.token))).toEqual(WEBHOOK_REFUSAL);
  });

  it('leaves sessions alone when an enabled user is marked enabled again', async () => {
    const user = await signUp(app);
    const enable = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ disabled: false });
    expect(enable.status).toBe(200);
    expect((await webhookGet(app, user.token)).status).toBe(200);
  });

  it('ends the sessions of a deleted user, and no one else’s: /me answers 401 and the webhook 401 {} in GET and POST', async () => {
    const user = await signUp(app);
    const bystander = await signUp(app);
    expect((await webhookGet(app, user.token)).status).toBe(200);
    expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
    await expectTokenRefused(app, user.token);
    expect((await webhookGet(app, bystander.token)).status).toBe(200);
  });

  // The peer has answered the token before, so it may hold it in its cache: it hears of the change
  // from the database's notification, within a second.
  describe('on another instance sharing the database', () => {
    const refusedWithinASecond = (peer: { http: string }, token: string, role?: string) =>
      eventually(
        async () => statusAndBody(await webhookGet(peer, token, { role })),
        (answer) => answer.status === 401,
      );

    it('refuses a logged-out token within a second', async () => {
      const peer = { http: await startPeerInstance(app) };
      const user = await signUp(app);
      expect((await webhookGet(peer, user.token)).status).toBe(200);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);
      expect(await refusedWithinASecond(peer, user.token)).toEqual(WEBHOOK_REFUSAL);
    });

    it('refuses a revoked role within a second', async () => {
      const peer = { http: await startPeerInstance(app) };
      const role = uniqueRoleName();
      await createRole(app, role);
      const editor = await createUserAsAdmin(app, { roles: [role] });
      expect((await webhookGet(peer, editor.token, { role })).status).toBe(200);
      expect(
        (await request(app.http).delete(`/admin/users/${editor.id}/roles/${role}`).set(withAdminSecret)).status,
      ).toBe(204);
      expect(await refusedWithinASecond(peer, editor.token, role)).toEqual(WEBHOOK_REFUSAL);
    });
  });
});

describe('role changes with SESSIONS_EXPIRE_ON_ROLE_CHANGE=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, SESSIONS_EXPIRE_ON_ROLE_CHANGE: 'false' });
  });
  afterAll(() => app.close());

  it('keeps the session and applies a granted role from its next request', async () => {
    const role = uniqueRoleName();
    await createRole(app, role);
    const user = await signUp(app);
    expect(statusAndBody(await webhookGet(app, user.token, { role }))).toEqual(WEBHOOK_REFUSAL);
    expect((await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
      204,
    );
    const res = await webhookGet(app, user.token, { role });
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-Role']).toBe(role);
  });

  it('keeps the session when a role it holds is deleted, and refuses that role from its next request', async () => {
    const role = uniqueRoleName();
    await createRole(app, role);
    const user = await createUserAsAdmin(app, { roles: [role] });
    expect((await webhookGet(app, user.token, { role })).status).toBe(200);
    expect((await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)).status).toBe(204);
    expect(statusAndBody(await webhookGet(app, user.token, { role }))).toEqual(WEBHOOK_REFUSAL);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
  });

  it('keeps the session and refuses a revoked role from its next request, falling back to the user role', async () => {
    const role = uniqueRoleName();
    await createRole(app, role);
    const user = await createUserAsAdmin(app, { roles: [role], defaultRole: role });
    expect((await webhookGet(app, user.token)).body['X-Hasura-Role']).toBe(role);
    expect((await request(app.http).delete(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
      204,
    );
    expect(statusAndBody(await webhookGet(app, user.token, { role }))).toEqual(WEBHOOK_REFUSAL);
    const fallback = await webhookGet(app, user.token);
    expect(fallback.status).toBe(200);
    expect(fallback.body['X-Hasura-Role']).toBe('user');
  });
});
