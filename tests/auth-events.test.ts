import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ADMIN_SECRET, createRole, uniqueRoleName, withAdminSecret } from './support/admin';
import { changePassword, logIn } from './support/requests';
import { requestTokens } from './support/jwt';
import { bearer, PASSWORD, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

interface AuthEventLine {
  authEvent?: string;
  userId?: number;
  [field: string]: unknown;
}

describe('auth events in the log', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, LOGIN_FAILURE_LIMIT_PER_USER_IP: '2/900' });
  });
  afterAll(() => app.close());

  const events = () =>
    app.logLines.map((line) => JSON.parse(line) as AuthEventLine).filter((line) => line.authEvent !== undefined);

  it('writes one line per event with user ids, and no password, token or mistyped username anywhere', async () => {
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const newPassword = `NewPw-${randomBytes(12).toString('hex')}`;
    // What a person types in the username field when they mean the password field.
    const passwordTypedAsUsername = `Typed-${randomBytes(12).toString('hex')}`;
    const username = uniqueUsername();

    const signup = await request(app.http).post('/signup').send({ username, password });
    expect(signup.status).toBe(201);
    const userId: number = signup.body.id;
    expect((await logIn(app, passwordTypedAsUsername, password)).status).toBe(401);
    expect((await logIn(app, passwordTypedAsUsername, password)).status).toBe(401);
    expect((await logIn(app, passwordTypedAsUsername, password)).status).toBe(429);
    const login = await logIn(app, username, password);
    expect(login.status).toBe(200);
    const weak = await changePassword(app, login.body.token, { newPassword: 'iloveyou', currentPassword: password });
    expect(weak.status).toBe(400);
    const change = await changePassword(app, login.body.token, { newPassword, currentPassword: password });
    expect(change.status).toBe(200);
    const second = await logIn(app, username, newPassword);
    const sessions = await request(app.http).get('/sessions').set(bearer(change.body.token));
    const other = (sessions.body.sessions as { id: string; current: boolean }[]).find((each) => !each.current)!;
    expect((await request(app.http).delete(`/sessions/${other.id}`).set(bearer(change.body.token))).status).toBe(204);
    const role = uniqueRoleName('auditor');
    await createRole(app, role);
    expect((await request(app.http).put(`/admin/users/${userId}/roles/${role}`).set(withAdminSecret)).status).toBe(204);
    const third = await logIn(app, username, newPassword);
    expect((await request(app.http).delete(`/admin/users/${userId}/roles/${role}`).set(withAdminSecret)).status).toBe(
      204,
    );
    const fourth = await logIn(app, username, newPassword);
    expect((await request(app.http).delete(`/admin/users/${userId}/sessions`).set(withAdminSecret)).status).toBe(204);
    const fifth = await logIn(app, username, newPassword);
    expect((await request(app.http).post('/logout').set(bearer(fifth.body.token))).status).toBe(204);
    const sixth = await logIn(app, username, newPassword);
    expect((await request(app.http).post('/logout/all').set(bearer(sixth.body.token))).status).toBe(204);

    const recorded = events();
    const ofUser = (authEvent: string) => recorded.filter((line) => line.authEvent === authEvent);
    expect(ofUser('signup')).toEqual([expect.objectContaining({ userId })]);
    expect(ofUser('login.failed')).toHaveLength(2);
    expect(ofUser('rate_limited')).toEqual([
      expect.objectContaining({ limit: 'login-failures-per-username-and-ip', path: '/login' }),
    ]);
    expect(ofUser('login.succeeded').length).toBeGreaterThanOrEqual(5);
    for (const line of ofUser('login.succeeded')) expect(line.userId).toBe(userId);
    expect(ofUser('password.changed')).toEqual([expect.objectContaining({ userId })]);
    expect(ofUser('session.ended')).toEqual([expect.objectContaining({ userId, sessionId: other.id })]);
    expect(ofUser('role.granted')).toEqual([expect.objectContaining({ userId, role, actor: 'admin-secret' })]);
    expect(ofUser('role.revoked')).toEqual([expect.objectContaining({ userId, role, actor: 'admin-secret' })]);
    expect(ofUser('user.sessions.ended')).toEqual([expect.objectContaining({ userId, actor: 'admin-secret' })]);
    expect(ofUser('logout')).toEqual([expect.objectContaining({ userId })]);
    expect(ofUser('logout.all')).toEqual([expect.objectContaining({ userId })]);
    for (const line of recorded) expect(line).not.toHaveProperty('username');

    const log = app.logLines.join('\n');
    const tokens = [signup, login, change, second, third, fourth, fifth, sixth].map((res) => res.body.token as string);
    for (const token of tokens) expect(token).toEqual(expect.any(String));
    for (const secret of [password, newPassword, passwordTypedAsUsername, ...tokens]) {
      expect(log).not.toContain(secret);
    }
  });

  it('records JWT-mode logins as every login, with what they issued', async () => {
    const username = uniqueUsername();
    const signup = await request(app.http).post('/signup').send({ username, password: PASSWORD });
    expect(signup.status).toBe(201);
    const userId: number = signup.body.id;
    expect((await requestTokens(app, username)).status).toBe(200);
    expect((await requestTokens(app, username, 'not the password')).status).toBe(401);
    const lines = events().filter((line) => line.issued === 'tokens');
    expect(lines).toEqual([
      expect.objectContaining({
        authEvent: 'login.succeeded',
        userId,
        method: 'password',
        sessionId: expect.any(String),
      }),
      expect.objectContaining({ authEvent: 'login.failed', method: 'password' }),
    ]);
  });
});
