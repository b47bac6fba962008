import { Secret, TOTP } from 'otpauth';
import request from 'supertest';
import { ADMIN_SECRET, createUserAsAdmin, withAdminSecret } from './support/admin';
import { sessionCookieOf } from './support/cookies';
import { logIn, logInToken, webhookGet } from './support/requests';
import { expectCleanErrorBody, statusAndCode } from './support/responses';
import {
  PASSWORD,
  bearer,
  signUp,
  startPeerInstance,
  startTestApp,
  type SignedUpUser,
  type TestApp,
} from './support/test-app';

const STEP_SECONDS = 30;

/** The claims Hasura reads from a JWT-mode access token, without checking the signature (tests elsewhere do). */
function hasuraClaimsOf(accessToken: string): Record<string, unknown> {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    Record<string, unknown>
  >;
  return payload['https://hasura.io/jwt/claims']!;
}

describe('a second factor: an authenticator app (TOTP) and recovery codes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, PRODUCT_NAME: 'Example Auth' });
  });
  afterAll(() => app.close());

  const http = () => request(app.http);

  /** The app's code for the test clock's moment, `stepsAway` steps of 30 s later or earlier. */
  const codeFor = (secret: string, stepsAway = 0) =>
    new TOTP({ secret: Secret.fromBase32(secret) }).generate({
      timestamp: app.clock.now().getTime() + stepsAway * STEP_SECONDS * 1000,
    });

  /** Moves past the step of any code used so far, so that the next code is a new one. */
  const nextStep = () => app.clock.advanceSeconds(STEP_SECONDS);

  interface EnrolledUser extends SignedUpUser {
    secret: string;
    recoveryCodes: string[];
  }

  async function enrolledUser(): Promise<EnrolledUser> {
    const user = await signUp(app);
    const begun = await http().post('/me/mfa/totp').set(bearer(user.token)).send({});
    expect(begun.status).toBe(200);
    const secret = begun.body.secret as string;
    const confirmed = await http()
      .post('/me/mfa/totp/confirm')
      .set(bearer(user.token))
      .send({ code: codeFor(secret) });
    expect(confirmed.status).toBe(200);
    nextStep();
    return { ...user, secret, recoveryCodes: confirmed.body.recoveryCodes as string[] };
  }

  /** The right password: answers the challenge of the MFA_REQUIRED answer. */
  async function challengeFor(user: SignedUpUser, path: '/login' | '/token' = '/login'): Promise<string> {
    const res = await http().post(path).send({ username: user.username, password: PASSWORD });
    expect(statusAndCode(res)).toEqual({ status: 401, code: 'MFA_REQUIRED' });
    return res.body.challenge as string;
  }

  /** A login's second step refused with this code (its body may say how many attempts are left). */
  const expectRefused = (res: request.Response, code: string) => {
    expect(res.body.error?.code).toBe(code);
    expect(res.status).toBeGreaterThanOrEqual(400);
  };

  const finish = (body: Record<string, string>, path = '/login/mfa') => http().post(path).send(body);

  it('sets up an app from a secret and a QR code, confirmed by a first code, and answers ten recovery codes', async () => {
    const user = await signUp(app);
    const begun = await http().post('/me/mfa/totp').set(bearer(user.token)).send({});
    expect(begun.status).toBe(200);
    const { secret, otpauthUri, qrSvg } = begun.body as { secret: string; otpauthUri: string; qrSvg: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Example Auth');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/Example Auth:${user.username}`);
    expect(qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);

    // Not yet confirmed: logins ask for the password alone.
    expect((await logIn(app, user.username)).status).toBe(200);
    expect((await http().get('/me/mfa').set(bearer(user.token))).body).toEqual({ totp: false, recoveryCodesLeft: 0 });

    const wrong = await http().post('/me/mfa/totp/confirm').set(bearer(user.token)).send({ code: '000000' });
    expectCleanErrorBody(wrong, 'INVALID_MFA_CODE');
    const confirmed = await http()
      .post('/me/mfa/totp/confirm')
      .set(bearer(user.token))
      .send({ code: codeFor(secret) });
    expect(confirmed.status).toBe(200);
    const codes = confirmed.body.recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    // 16 characters of a 31-letter alphabet: 79 bits each.
    for (const code of codes) expect(code).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);

    expect((await http().get('/me/mfa').set(bearer(user.token))).body).toEqual({ totp: true, recoveryCodesLeft: 10 });
    expect((await http().get('/me').set(bearer(user.token))).body.mfa).toEqual({ totp: true, passkeys: 0 });
    const asAdmin = await http().get(`/admin/users/${user.id}`).set(withAdminSecret);
    expect(asAdmin.body.mfa).toEqual({ totp: true, passkeys: 0 });
    // A second app needs the first removed.
    expect(statusAndCode(await http().post('/me/mfa/totp').set(bearer(user.token)).send({}))).toEqual({
      status: 409,
      code: 'MFA_ALREADY_ENABLED',
    });
  });

  it('keeps the secret encrypted and the recovery codes hashed', async () => {
    const user = await enrolledUser();
    const { rows: factors } = await app.database.db.raw<{ rows: { secret_ciphertext: string }[] }>(
      'select secret_ciphertext from totp_factors where user_id = ?',
      [user.id],
    );
    expect(factors[0]!.secret_ciphertext).not.toContain(user.secret);
    expect(Buffer.from(factors[0]!.secret_ciphertext.split('.').at(-1)!, 'base64url').toString('latin1')).not.toContain(
      user.secret,
    );
    const { rows: codes } = await app.database.db.raw<{ rows: { code_hash: string }[] }>(
      'select code_hash from recovery_codes where user_id = ?',
      [user.id],
    );
    expect(codes).toHaveLength(10);
    const stored = codes.map((row) => row.code_hash).join(' ');
    for (const code of user.recoveryCodes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replace(/-/g, ''));
    }
  });

  it('asks for a code after the right password only, and gives no session before it', async () => {
    const user = await enrolledUser();
    const wrongPassword = await http().post('/login').send({ username: user.username, password: 'not the password' });
    const unknownUser = await http().post('/login').send({ username: 'nobody-at-all', password: 'not the password' });
    // A wrong password tells nothing of a second factor.
    expect(wrongPassword.body).toEqual(unknownUser.body);
    expectCleanErrorBody(wrongPassword, 'INVALID_CREDENTIALS');

    const res = await http().post('/login').send({ username: user.username, password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { code: 'MFA_REQUIRED', message: expect.any(String) },
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      methods: ['totp', 'recovery_code'],
    });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect((await http().get('/sessions').set(bearer(user.token))).body.sessions).toHaveLength(1);
  });

  it('finishes the login with a code: a session and cookie whose webhook answer says X-Hasura-Mfa true', async () => {
    const user = await enrolledUser();
    const plain = await signUp(app);
    const res = await finish({ challenge: await challengeFor(user), code: codeFor(user.secret) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, username: user.username, token: expect.any(String) });
    expect(sessionCookieOf(res)).toBeDefined();

    const hook = await webhookGet(app, res.body.token);
    expect(hook.status).toBe(200);
    expect(hook.body).toMatchObject({ 'X-Hasura-User-Id': String(user.id), 'X-Hasura-Mfa': 'true' });
    // The session the user signed up with was proved with a password alone.
    expect((await webhookGet(app, user.token)).body['X-Hasura-Mfa']).toBe('false');
    expect((await webhookGet(app, plain.token)).body['X-Hasura-Mfa']).toBe('false');
    // The anonymous caller has no user, and so no second factor to speak of.
    expect((await webhookGet(app)).body['X-Hasura-Mfa']).toBeUndefined();

    const listed = await http().get('/sessions').set(bearer(res.body.token));
    const byId = new Map(
      (listed.body.sessions as { current: boolean; amr: string[] }[]).map((s) => [s.current, s.amr]),
    );
    expect(byId.get(true)).toEqual(['pwd', 'otp']);
    expect(byId.get(false)).toEqual(['pwd']);
    expect((await http().get('/me').set(bearer(res.body.token))).body.session.amr).toEqual(['pwd', 'otp']);
  });

  it('accepts a code once: a replay at another login is refused, and the next step’s code works', async () => {
    const user = await enrolledUser();
    const code = codeFor(user.secret);
    expect((await finish({ challenge: await challengeFor(user), code })).status).toBe(200);
    // Later within the same 30-second step, or past its end while the code is still taken.
    app.clock.advanceSeconds(STEP_SECONDS / 2);
    const replayed = await finish({ challenge: await challengeFor(user), code });
    expectRefused(replayed, 'INVALID_MFA_CODE');
    expect(replayed.body.attemptsLeft).toBe(4);
    nextStep();
    expect((await finish({ challenge: await challengeFor(user), code: codeFor(user.secret) })).status).toBe(200);
  });

  it('of two logins with the same code at once, exactly one succeeds', async () => {
    const user = await enrolledUser();
    const challenges = [await challengeFor(user), await challengeFor(user)];
    const code = codeFor(user.secret);
    const answers = await Promise.all(challenges.map((challenge) => finish({ challenge, code })));
    expect(answers.map((res) => res.status).sort()).toEqual([200, 401]);
    expect(answers.find((res) => res.status === 401)!.body.error.code).toBe('INVALID_MFA_CODE');
  });

  it('allows one step of clock skew either way, and refuses two', async () => {
    const user = await enrolledUser();
    app.clock.advanceSeconds(10 * STEP_SECONDS);
    const attempt = async (stepsAway: number) =>
      (await finish({ challenge: await challengeFor(user), code: codeFor(user.secret, stepsAway) })).status;
    expect(await attempt(-2)).toBe(401);
    expect(await attempt(-1)).toBe(200);
    expect(await attempt(1)).toBe(200);
    expect(await attempt(2)).toBe(401);
  });

  it('takes each recovery code once, dashes and case as typed', async () => {
    const user = await enrolledUser();
    const [first = '', second = ''] = user.recoveryCodes;
    const used = await finish({ challenge: await challengeFor(user), recoveryCode: first });
    expect(used.status).toBe(200);
    expect((await http().get('/me').set(bearer(used.body.token))).body.session.amr).toEqual(['pwd', 'otp']);
    expectRefused(await finish({ challenge: await challengeFor(user), recoveryCode: first }), 'INVALID_MFA_CODE');
    const typed = second.replace(/-/g, ' ').toUpperCase();
    expect((await finish({ challenge: await challengeFor(user), recoveryCode: typed })).status).toBe(200);
    expect((await http().get('/me/mfa').set(bearer(user.token))).body.recoveryCodesLeft).toBe(8);
  });

  it('keeps each user’s factors, codes and challenges to that user', async () => {
    const [alice, bob] = [await enrolledUser(), await enrolledUser()];
    const bobsChallenge = await challengeFor(bob);
    const alicesChallenge = await challengeFor(alice);
    for (let i = 0; i < 5; i += 1) await finish({ challenge: alicesChallenge, code: '000000' });
    // Alice's wrong codes cost Bob's challenge nothing.
    expect((await finish({ challenge: bobsChallenge, code: '000000' })).body.attemptsLeft).toBe(4);
    // Both use their code of the same step.
    expect((await finish({ challenge: await challengeFor(alice), code: codeFor(alice.secret) })).status).toBe(200);
    expect((await finish({ challenge: bobsChallenge, code: codeFor(bob.secret) })).status).toBe(200);

    // Carol sets up an app while Dave's setup is under way: his stays unconfirmed, and Alice keeps her codes.
    const dave = await signUp(app);
    await http().post('/me/mfa/totp').set(bearer(dave.token)).send({}).expect(200);
    await enrolledUser();
    expect((await http().get('/me/mfa').set(bearer(dave.token))).body).toEqual({ totp: false, recoveryCodesLeft: 0 });
    expect((await http().get('/me/mfa').set(bearer(alice.token))).body.recoveryCodesLeft).toBe(10);

    // Alice turns hers off; Bob's stays.
    await http()
      .delete('/me/mfa/totp')
      .set(bearer(alice.token))
      .send({ password: PASSWORD, recoveryCode: alice.recoveryCodes[0] })
      .expect(204);
    expect(statusAndCode(await logIn(app, bob.username))).toEqual({ status: 401, code: 'MFA_REQUIRED' });
    expect((await http().get('/me/mfa').set(bearer(bob.token))).body).toEqual({ totp: true, recoveryCodesLeft: 10 });
  });

  it('a challenge dies after five wrong codes, after five minutes, after use, and serves only its own endpoint', async () => {
    const user = await enrolledUser();
    const challenge = await challengeFor(user);
    for (let left = 4; left >= 0; left -= 1) {
      const wrong = await finish({ challenge, code: '000000' });
      expect({ ...statusAndCode(wrong), left: wrong.body.attemptsLeft }).toEqual({
        status: 401,
        code: 'INVALID_MFA_CODE',
        left,
      });
    }
    expectRefused(await finish({ challenge, code: codeFor(user.secret) }), 'INVALID_MFA_CHALLENGE');

    const late = await challengeFor(user);
    app.clock.advanceSeconds(5 * 60 + 1);
    expectRefused(await finish({ challenge: late, code: codeFor(user.secret) }), 'INVALID_MFA_CHALLENGE');

    const used = await challengeFor(user);
    expect((await finish({ challenge: used, code: codeFor(user.secret) })).status).toBe(200);
    nextStep();
    expectRefused(await finish({ challenge: used, code: codeFor(user.secret) }), 'INVALID_MFA_CHALLENGE');

    // A challenge from /login does not give tokens at /token/mfa.
    expectCleanErrorBody(
      await finish({ challenge: await challengeFor(user), code: codeFor(user.secret) }, '/token/mfa'),
      'INVALID_MFA_CHALLENGE',
    );
    expectRefused(await finish({ challenge: 'not-a-challenge', code: '123456' }), 'INVALID_MFA_CHALLENGE');
    expect(statusAndCode(await finish({ challenge, code: '123456', recoveryCode: 'x' }))).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });

  it.each([
    ['a logout everywhere', (user: SignedUpUser) => http().post('/logout/all').set(bearer(user.token))],
    [
      'a password change',
      (user: SignedUpUser) =>
        http()
          .post('/password')
          .set(bearer(user.token))
          .send({ currentPassword: PASSWORD, newPassword: 'another good passphrase 7' }),
    ],
    [
      'an admin ending the sessions',
      (user: SignedUpUser) => http().delete(`/admin/users/${user.id}/sessions`).set(withAdminSecret),
    ],
  ])('%s between the password and the code voids the login', async (_, endSessions) => {
    const user = await enrolledUser();
    const challenge = await challengeFor(user);
    expect((await endSessions(user)).status).toBeLessThan(300);
    expectRefused(await finish({ challenge, code: codeFor(user.secret) }), 'INVALID_MFA_CHALLENGE');
  });

  it('a second step racing an end of the user’s sessions on another instance leaves no live session', async () => {
    const user = await enrolledUser();
    const peer = { http: await startPeerInstance(app) };
    for (let round = 0; round < 5; round += 1) {
      const challenge = await challengeFor(user);
      const [login, ended] = await Promise.all([
        finish({ challenge, code: codeFor(user.secret) }),
        request(peer.http).delete(`/admin/users/${user.id}/sessions`).set(withAdminSecret),
      ]);
      expect(ended.status).toBe(204);
      // Whichever came first, the challenge predates the end: a session it gave is dead now.
      // Refused, it was refused as a login that raced a change to its user: before its code
      // (the challenge is void), or after it (the session would be dead on arrival).
      const outcome =
        login.status === 200
          ? { givenSessionAtWebhook: (await webhookGet(peer, login.body.token)).status }
          : statusAndCode(login);
      expect([
        { givenSessionAtWebhook: 401 },
        { status: 401, code: 'INVALID_MFA_CHALLENGE' },
        { status: 401, code: 'INVALID_CREDENTIALS' },
      ]).toContainEqual(outcome);
      nextStep();
    }
  });

  it('counts wrong codes against the account’s login limit', async () => {
    // LOGIN_FAILURE_LIMIT_PER_USER_IP is 10 by default: each password and each wrong code counts
    // until a login is finished.
    const user = await enrolledUser();
    const first = await challengeFor(user);
    for (let i = 0; i < 5; i += 1) await finish({ challenge: first, code: '000000' });
    const second = await challengeFor(user);
    for (let i = 0; i < 3; i += 1) expect((await finish({ challenge: second, code: '000000' })).status).toBe(401);
    expectRefused(await finish({ challenge: second, code: codeFor(user.secret) }), 'RATE_LIMITED');
  });

  it('in JWT mode, /token asks for the code and /token/mfa answers tokens whose claims say x-hasura-mfa', async () => {
    const user = await enrolledUser();
    const res = await finish(
      { challenge: await challengeFor(user, '/token'), code: codeFor(user.secret) },
      '/token/mfa',
    );
    expect(res.status).toBe(200);
    expect(hasuraClaimsOf(res.body.accessToken as string)).toMatchObject({
      'x-hasura-user-id': String(user.id),
      'x-hasura-mfa': 'true',
    });
    const refreshed = await http().post('/token/refresh').send({ refreshToken: res.body.refreshToken });
    expect(hasuraClaimsOf(refreshed.body.accessToken as string)['x-hasura-mfa']).toBe('true');

    const plain = await signUp(app);
    const plainTokens = await http().post('/token').send({ username: plain.username, password: PASSWORD });
    expect(hasuraClaimsOf(plainTokens.body.accessToken as string)['x-hasura-mfa']).toBe('false');
  });

  it('removes the app on the password and a code; logins then ask for the password alone', async () => {
    const user = await enrolledUser();
    const remove = (body: object) => http().delete('/me/mfa/totp').set(bearer(user.token)).send(body);
    expectCleanErrorBody(
      await remove({ password: 'wrong password', code: codeFor(user.secret) }),
      'INVALID_CREDENTIALS',
    );
    expectCleanErrorBody(await remove({ password: PASSWORD, code: '000000' }), 'INVALID_MFA_CODE');
    expect(statusAndCode(await remove({ password: PASSWORD }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await remove({ password: PASSWORD, recoveryCode: user.recoveryCodes[0]! })).status).toBe(204);
    expect((await logIn(app, user.username)).status).toBe(200);
    expect((await http().get('/me/mfa').set(bearer(user.token))).body).toEqual({ totp: false, recoveryCodesLeft: 0 });
    expectCleanErrorBody(await remove({ password: PASSWORD, code: codeFor(user.secret) }), 'MFA_NOT_ENABLED');
  });

  it('a new set of recovery codes voids the old; an old session must confirm the password', async () => {
    const user = await enrolledUser();
    const replace = (body: object) => http().post('/me/mfa/recovery-codes').set(bearer(user.token)).send(body);
    // Five minutes old, the session still needs no password; a second more, it does.
    app.clock.advanceSeconds(5 * 60 - STEP_SECONDS);
    expect((await replace({})).status).toBe(200);
    app.clock.advanceSeconds(1);
    expectCleanErrorBody(await replace({}), 'PASSWORD_REQUIRED');
    expectCleanErrorBody(await replace({ password: 'wrong password' }), 'INVALID_CREDENTIALS');
    expectCleanErrorBody(await http().post('/me/mfa/totp').set(bearer(user.token)).send({}), 'PASSWORD_REQUIRED');
    const replaced = await replace({ password: PASSWORD });
    expect(replaced.status).toBe(200);
    const fresh = replaced.body.recoveryCodes as string[];
    expect(fresh).toHaveLength(10);
    expectRefused(
      await finish({ challenge: await challengeFor(user), recoveryCode: user.recoveryCodes[0]! }),
      'INVALID_MFA_CODE',
    );
    expect((await finish({ challenge: await challengeFor(user), recoveryCode: fresh[0]! })).status).toBe(200);

    const plain = await signUp(app);
    expectCleanErrorBody(
      await http().post('/me/mfa/recovery-codes').set(bearer(plain.token)).send({}),
      'MFA_NOT_ENABLED',
    );
  });

  it('an admin removes every factor of a user who lost the phone, which ends the user’s sessions', async () => {
    const user = await enrolledUser();
    const session = await finish({ challenge: await challengeFor(user), code: codeFor(user.secret) });
    const pending = await challengeFor(user);
    expect((await http().delete(`/admin/users/${user.id}/mfa`).set(withAdminSecret)).status).toBe(204);
    expect((await webhookGet(app, session.body.token)).status).toBe(401);
    expect((await webhookGet(app, user.token)).status).toBe(401);
    nextStep();
    expectRefused(await finish({ challenge: pending, code: codeFor(user.secret) }), 'INVALID_MFA_CHALLENGE');
    const token = await logInToken(app, user.username);
    expect((await http().get('/me').set(bearer(token))).body.mfa).toEqual({ totp: false, passkeys: 0 });
    expect(app.logLines.some((line) => line.includes('"authEvent":"mfa.reset"'))).toBe(true);
    expect(statusAndCode(await http().delete('/admin/users/2147483647/mfa').set(withAdminSecret))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });
    // Only an admin.
    expect((await http().delete(`/admin/users/${user.id}/mfa`).set(bearer(token))).status).toBe(403);
  });

  it('x-hasura-mfa is the service’s to answer: an admin cannot set it as a session variable', async () => {
    const user = await signUp(app);
    const res = await http()
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'x-hasura-mfa': 'true' } });
    expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
});

describe('MFA_REQUIRED_ROLES: roles that only a session with a second factor acts in', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, MFA_REQUIRED_ROLES: 'admin' });
  });
  afterAll(() => app.close());

  const http = () => request(app.http);

  it('keeps the role from a password-only session, which sets up a factor; a login with it acts in the role', async () => {
    const admin = await createUserAsAdmin(app, { roles: ['admin'] });
    const refused = await http().get('/admin/users').set(bearer(admin.token));
    expect(statusAndCode(refused)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(refused.body.error.message).toMatch(/second factor/);
    expect((await webhookGet(app, admin.token, { role: 'admin' })).status).toBe(401);
    // Its other roles work, and the role kept back is not offered.
    expect((await webhookGet(app, admin.token)).body).toMatchObject({ 'X-Hasura-Role': 'user' });

    const begun = await http().post('/me/mfa/totp').set(bearer(admin.token)).send({}).expect(200);
    const totp = new TOTP({ secret: Secret.fromBase32(begun.body.secret as string) });
    const codeNow = () => totp.generate({ timestamp: app.clock.now().getTime() });
    await http().post('/me/mfa/totp/confirm').set(bearer(admin.token)).send({ code: codeNow() }).expect(200);
    // Setting it up does not make this session one proved with it.
    expect((await http().get('/admin/users').set(bearer(admin.token))).status).toBe(403);

    app.clock.advanceSeconds(30);
    const asked = await http().post('/login').send({ username: admin.username, password: PASSWORD });
    const session = await http().post('/login/mfa').send({ challenge: asked.body.challenge, code: codeNow() });
    expect(session.status).toBe(200);
    expect((await http().get('/admin/users').set(bearer(session.body.token))).status).toBe(200);
    expect((await webhookGet(app, session.body.token, { role: 'admin' })).body).toMatchObject({
      'X-Hasura-Role': 'admin',
      'X-Hasura-Mfa': 'true',
    });
  });

  it('refuses a JWT-mode login whose default role needs a factor it was not proved with, saying so', async () => {
    const admin = await createUserAsAdmin(app, { roles: ['admin'], defaultRole: 'admin' });
    expect((await webhookGet(app, admin.token)).status).toBe(401);
    const res = await http().post('/token').send({ username: admin.username, password: PASSWORD });
    expect(statusAndCode(res)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(res.body.error.message).toMatch(/second factor/);
  });
});

describe('the calls that may check the password', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PASSWORD_CHANGE_LIMIT_PER_IP: '3/3600' });
  });
  afterAll(() => app.close());

  const http = () => request(app.http);

  it('count against the password-change limit', async () => {
    const user = await signUp(app);
    const attempts = [
      () => http().post('/me/mfa/totp').set(bearer(user.token)).send({ password: 'wrong one' }),
      () => http().post('/me/mfa/recovery-codes').set(bearer(user.token)).send({ password: 'wrong two' }),
      () => http().delete('/me/mfa/totp').set(bearer(user.token)).send({ password: 'wrong three', code: '123456' }),
    ];
    for (const attempt of attempts)
      expect(statusAndCode(await attempt())).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    for (const attempt of attempts)
      expect(statusAndCode(await attempt())).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });
});
