import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { cookieHeader, sessionCookieOf } from './support/cookies';
import { linkIn, startMailbox, type Mailbox } from './support/mailbox';
import { logIn, logInToken } from './support/requests';
import { expectCleanErrorBody, expectTokenRefused, statusAndCode } from './support/responses';
import { PASSWORD, bearer, startPeerInstance, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const PUBLIC_URL = 'http://auth.test.example';
const RESET_SUBJECT = /^Reset your .* password$/;
const NEW_PASSWORD = 'a brand new passphrase 42';

describe('password reset', () => {
  let app: TestApp;
  let mailbox: Mailbox;
  beforeAll(async () => {
    mailbox = await startMailbox();
    app = await startTestApp({ SMTP_URL: mailbox.smtpUrl, PUBLIC_URL, ADMIN_SECRET });
  });
  afterAll(async () => {
    await app.close();
    await mailbox.close();
  });

  const http = () => request(app.http);
  const forgot = (login: string) => http().post('/password/forgot').send({ login });
  const reset = (token: string, newPassword = NEW_PASSWORD) =>
    http().post('/password/reset').send({ token, newPassword });

  /** A user with a verified address; answers their username, address and first session's token. */
  async function verifiedUser() {
    const username = uniqueUsername();
    const email = `${username}@example.com`;
    const signup = await http().post('/signup').send({ username, password: PASSWORD, email });
    const mail = await mailbox.waitForMail(email, /^Verify/);
    expect(
      (
        await http()
          .post('/email/verify')
          .send({ token: linkIn(mail).token })
      ).status,
    ).toBe(200);
    return { id: signup.body.id as number, username, email, token: signup.body.token as string };
  }

  async function resetToken(email: string, skip = 0): Promise<string> {
    const mail = await mailbox.waitForMail(email, RESET_SUBJECT, { skip });
    const { url, token } = linkIn(mail);
    expect(url).toBe(`${PUBLIC_URL}/password/reset?token=${token}`);
    return token;
  }

  it('mails a link for a username or a verified address; the token sets a new password once and ends every session', async () => {
    const user = await verifiedUser();
    const cookie = cookieHeader(sessionCookieOf(await logIn(app, user.username)));
    const refreshToken = (await http().post('/token').send({ username: user.username, password: PASSWORD })).body
      .refreshToken as string;

    const asked = await forgot(user.username);
    expect(asked.status).toBe(202);
    expect(asked.body).toEqual({});
    const token = await resetToken(user.email);

    // The page the link opens uses nothing, and carries no referrer.
    const page = await http().get(`/password/reset?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');

    expect((await reset(token)).status).toBe(204);

    expect(statusAndCode(await logIn(app, user.username))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect((await logIn(app, user.username, NEW_PASSWORD)).status).toBe(200);
    await expectTokenRefused(app, user.token);
    expect((await http().get('/me').set(cookie)).status).toBe(401);
    expect(statusAndCode(await http().post('/token/refresh').send({ refreshToken }))).toEqual({
      status: 401,
      code: 'INVALID_REFRESH_TOKEN',
    });
    const notice = await mailbox.waitForMail(user.email, /password was changed/);
    expect(notice.text).not.toMatch(/token=/);

    const reused = await reset(token, 'yet another passphrase 43');
    expectCleanErrorBody(reused, 'INVALID_TOKEN');
    expect(reused.status).toBe(400);

    // The verified address works as the login too.
    expect((await forgot(user.email.toUpperCase())).status).toBe(202);
    expect((await reset(await resetToken(user.email, 1), 'a third passphrase 44')).status).toBe(204);
  });

  it('has a page for people: its form mails the link as the API does, and says the same whoever asks', async () => {
    const user = await verifiedUser();
    const page = await http().get('/password/forgot');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<label for="login">');
    const asked = (login: string) =>
      http().post('/password/forgot/form').set('Sec-Fetch-Site', 'same-origin').type('form').send({ login });
    const [known, unknown] = [await asked(user.email), await asked(uniqueUsername('nobody'))];
    expect(known.status).toBe(200);
    expect(known.text).toContain('Check your mail');
    expect(unknown.text).toBe(known.text);
    const token = await resetToken(user.email);
    expect((await reset(token)).status).toBe(204);
  });

  it('answers byte for byte the same for a verified account, an unverified one and an unknown login, and mails only the first', async () => {
    const verified = await verifiedUser();
    const unverified = uniqueUsername();
    await http()
      .post('/signup')
      .send({ username: unverified, password: PASSWORD, email: `${unverified}@example.com` });
    const answers = await Promise.all([
      forgot(unverified),
      forgot(uniqueUsername('nobody')),
      forgot(verified.username),
    ]);

    const shapes = answers.map((res) => ({
      status: res.status,
      text: res.text,
      type: res.headers['content-type'],
      length: res.headers['content-length'],
    }));
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
    expect(shapes[0]).toEqual({ status: 202, text: '{}', type: 'application/json; charset=utf-8', length: '2' });
    await resetToken(verified.email);
    expect(
      mailbox.received.filter((mail) => mail.to === `${unverified}@example.com` && RESET_SUBJECT.test(mail.subject)),
    ).toEqual([]);
  });

  it('refuses a token that a newer one superseded, and one older than 30 minutes, with INVALID_TOKEN', async () => {
    const user = await verifiedUser();
    await forgot(user.username);
    const first = await resetToken(user.email);
    await forgot(user.username);
    const second = await resetToken(user.email, 1);

    expect(statusAndCode(await reset(first))).toEqual({ status: 400, code: 'INVALID_TOKEN' });
    app.clock.advanceSeconds(30 * 60 + 1);
    expect(statusAndCode(await reset(second))).toEqual({ status: 400, code: 'INVALID_TOKEN' });
    expect((await logIn(app, user.username)).status).toBe(200);
  });

  it('takes a token until the 30 minutes are up', async () => {
    const user = await verifiedUser();
    await forgot(user.username);
    const token = await resetToken(user.email);
    app.clock.advanceSeconds(30 * 60 - 5);

    expect((await reset(token)).status).toBe(204);
  });

  it('changes nothing for a user disabled after the link was mailed', async () => {
    const user = await verifiedUser();
    await forgot(user.username);
    const token = await resetToken(user.email);
    await http().patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ disabled: true }).expect(200);

    expect(statusAndCode(await reset(token))).toEqual({ status: 400, code: 'INVALID_TOKEN' });
    await http().patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ disabled: false }).expect(200);
    expect((await logIn(app, user.username)).status).toBe(200);
  });

  it('leaves the token usable after a weak password, and a password change voids it', async () => {
    const user = await verifiedUser();
    await forgot(user.username);
    const token = await resetToken(user.email);

    expect(statusAndCode(await reset(token, 'short'))).toEqual({ status: 400, code: 'WEAK_PASSWORD' });
    const session = await logInToken(app, user.username);
    expect(
      (
        await http()
          .post('/password')
          .set(bearer(session))
          .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
      ).status,
    ).toBe(200);
    expect(statusAndCode(await reset(token, 'yet another passphrase 43'))).toEqual({
      status: 400,
      code: 'INVALID_TOKEN',
    });
    // The verified address hears of the change, as of a reset.
    expect((await mailbox.waitForMail(user.email, /password was changed/)).text).toContain(`Hello ${user.username},`);
  });

  it('lets exactly one of two concurrent resets with one token win', async () => {
    const user = await verifiedUser();
    await forgot(user.username);
    const token = await resetToken(user.email);

    const answers = await Promise.all([
      reset(token, 'first racing passphrase 1'),
      reset(token, 'second racing passphrase 2'),
    ]);

    expect(answers.map((res) => res.status).sort()).toEqual([204, 400]);
    const winner = answers[0].status === 204 ? 'first racing passphrase 1' : 'second racing passphrase 2';
    expect((await logIn(app, user.username, winner)).status).toBe(200);
  });

  it('ends a session that a login in flight with the old password creates while the reset commits', async () => {
    const user = await verifiedUser();
    const sessionsOfOldPasswords: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      await forgot(user.username);
      const token = await resetToken(user.email, round);
      const password = round === 0 ? PASSWORD : `round ${round - 1} passphrase`;
      const [login, resetAnswer] = await Promise.all([
        logIn(app, user.username, password),
        reset(token, `round ${round} passphrase`),
      ]);
      expect(resetAnswer.status).toBe(204);
      expect([200, 401]).toContain(login.status);
      sessionsOfOldPasswords.push(...(login.status === 200 ? [login.body.token as string] : []));
    }
    // Whichever finished first, no session made with an old password outlives its reset.
    for (const token of sessionsOfOldPasswords) await expectTokenRefused(app, token);
  });

  it('refuses a user without a password at login exactly as a wrong password, and a reset gives them one', async () => {
    const user = await verifiedUser();
    // As for a user who only ever logged in through an identity provider.
    await app.database.db('users').update({ password_hash: null }).where({ id: user.id });

    const withoutPassword = await logIn(app, user.username, PASSWORD);
    const wrongPassword = await logIn(app, uniqueUsername('nobody'), PASSWORD);
    expect({ status: withoutPassword.status, body: withoutPassword.body }).toEqual({
      status: wrongPassword.status,
      body: wrongPassword.body,
    });
    expect(statusAndCode(withoutPassword)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(
      statusAndCode(
        await http().post('/password').set(bearer(user.token)).send({ currentPassword: '', newPassword: NEW_PASSWORD }),
      ),
    ).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });

    await forgot(user.email);
    expect((await reset(await resetToken(user.email))).status).toBe(204);
    expect((await logIn(app, user.username, NEW_PASSWORD)).status).toBe(200);
  });

  it('shows whatever the link carries escaped, on a page that allows no script and sends no referrer', async () => {
    const hostile = '"><script>alert(1)</script>';
    const page = await http().get(`/password/reset?token=${encodeURIComponent(hostile)}`);

    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(page.headers['content-security-policy']).toMatch(
      /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'self'/,
    );
    expect(page.headers).toMatchObject({ 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
  });

  it('answers the failures of its form as pages: a form too large, and a rate limit with Retry-After', async () => {
    const tooLarge = await http()
      .post('/password/reset/form')
      .type('form')
      .send({ token: 'x', newPassword: 'y'.repeat(10_000), confirmPassword: 'y' });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['content-type']).toMatch(/^text\/html/);

    const limited = await startPeerInstance(app, {
      SMTP_URL: mailbox.smtpUrl,
      PUBLIC_URL,
      PASSWORD_RESET_LIMIT_PER_IP: '1/3600',
    });
    const form = { token: 'unknown', newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD };
    // The counters are shared by every instance; this suite's earlier resets may have filled this one.
    expect([400, 429]).toContain((await request(limited).post('/password/reset/form').type('form').send(form)).status);
    const refused = await request(limited).post('/password/reset/form').type('form').send(form);
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.text).toContain('Too many password resets from this address.');
    expect(
      app.logLines.some(
        (line) => line.includes('"authEvent":"rate_limited"') && line.includes('password-reset-per-ip'),
      ),
    ).toBe(true);
  });

  it('does not log the token of a link', async () => {
    const user = await verifiedUser();
    await forgot(user.username);
    const token = await resetToken(user.email);
    await http().get(`/password/reset?token=${token}`);
    await reset(token);

    expect(app.logLines.filter((line) => line.includes(token))).toEqual([]);
  });

  it('refuses a third request for one login within the window, with Retry-After, known account or not', async () => {
    // An instance with a tighter limit, on the same database and mail server.
    const limited = await startPeerInstance(app, {
      SMTP_URL: mailbox.smtpUrl,
      PUBLIC_URL,
      PASSWORD_RESET_LIMIT_PER_ACCOUNT: '2/3600',
    });
    for (const login of [uniqueUsername('nobody'), (await verifiedUser()).username]) {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        expect((await request(limited).post('/password/forgot').send({ login })).status).toBe(202);
      }
      const refused = await request(limited).post('/password/forgot').send({ login });
      expectCleanErrorBody(refused, 'RATE_LIMITED');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
  });
});
