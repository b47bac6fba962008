import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { linkIn, startMailbox, type Mailbox } from './support/mailbox';
import { expectCleanErrorBody, statusAndCode } from './support/responses';
import { PASSWORD, bearer, startPeerInstance, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const PUBLIC_URL = 'https://auth.example.com/base';
const VERIFICATION_SUBJECT = /^Verify your email address/;

/** A unique address, typed the way people type them. */
const uniqueAddress = (prefix = 'someone') => `  ${prefix}-${Math.random().toString(36).slice(2, 10)}@Example.COM `;
const normalized = (address: string) => address.trim().toLowerCase();

describe('email addresses', () => {
  let app: TestApp;
  let mailbox: Mailbox;
  beforeAll(async () => {
    mailbox = await startMailbox();
    app = await startTestApp({
      SMTP_URL: mailbox.smtpUrl,
      PUBLIC_URL,
      MAIL_FROM: 'Example Auth <auth@example.com>',
      PRODUCT_NAME: 'Example <App>',
      ADMIN_SECRET,
    });
  });
  afterAll(async () => {
    await app.close();
    await mailbox.close();
  });

  const http = () => request(app.http);

  async function signUpWith(email: string, extra: Record<string, string> = {}) {
    const username = uniqueUsername();
    const res = await http()
      .post('/signup')
      .send({ username, password: PASSWORD, email, ...extra });
    expect(res.status).toBe(201);
    return { id: res.body.id as number, username, token: res.body.token as string, body: res.body };
  }

  const verify = (token: string) => http().post('/email/verify').send({ token });

  describe('at signup', () => {
    it('stores the address normalised and unverified, and mails a link to PUBLIC_URL that verifies it once', async () => {
      const typed = uniqueAddress();
      const user = await signUpWith(typed);
      expect(user.body).toMatchObject({ email: normalized(typed), emailVerified: false, displayName: null });

      const mail = await mailbox.waitForMail(normalized(typed), VERIFICATION_SUBJECT);
      expect(mail.from).toMatch(/^"?Example Auth"? <auth@example\.com>$/);
      expect(mail.subject).toBe('Verify your email address for Example <App>');
      expect(mail.text).toContain(`Hello ${user.username},`);
      // The HTML part says the same, with the product name escaped.
      expect(mail.html).toContain('Example &lt;App&gt;');
      const link = linkIn(mail);
      expect(link.url.startsWith(`${PUBLIC_URL}/email/verify?token=`)).toBe(true);
      expect(mail.html).toContain(`href="${link.url}"`);

      // Opening the link, as a mail scanner does, uses nothing.
      const page = await http().get(`/email/verify?token=${link.token}`);
      expect(page.status).toBe(200);
      expect((await http().get('/me').set(bearer(user.token))).body.emailVerified).toBe(false);

      const verified = await verify(link.token);
      expect(verified.status).toBe(200);
      expect(verified.body.user).toMatchObject({ id: user.id, email: normalized(typed), emailVerified: true });
      expect((await http().get('/me').set(bearer(user.token))).body).toMatchObject({ emailVerified: true });

      const reused = await verify(link.token);
      expectCleanErrorBody(reused, 'INVALID_TOKEN');
      expect(reused.status).toBe(400);
    });

    it('refuses an address that is not one, with VALIDATION_FAILED naming the field', async () => {
      for (const email of [
        'no-at-sign',
        'a@b',
        'two@@example.com',
        'a b@example.com',
        'x@example.com\r\nBcc: y@z.com',
      ]) {
        const res = await http().post('/signup').send({ username: uniqueUsername(), password: PASSWORD, email });
        expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
        expect(res.body.error.details).toEqual([{ path: 'email', message: 'must be an email address' }]);
      }
    });

    it('takes a display name, which PATCH /me changes and clears', async () => {
      const user = await signUpWith(uniqueAddress(), { displayName: '  Ann Example ' });
      expect(user.body.displayName).toBe('Ann Example');

      const changed = await http().patch('/me').set(bearer(user.token)).send({ displayName: 'Ann' });
      expect(changed.status).toBe(200);
      expect(changed.body.user).toMatchObject({ id: user.id, displayName: 'Ann' });
      expect((await http().get('/me').set(bearer(user.token))).body.displayName).toBe('Ann');

      const cleared = await http().patch('/me').set(bearer(user.token)).send({ displayName: null });
      expect(cleared.body.user.displayName).toBeNull();
      expect(statusAndCode(await http().patch('/me').set(bearer(user.token)).send({ displayName: ' ' }))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(statusAndCode(await http().patch('/me').set(bearer(user.token)).send({ email: 'x@example.com' }))).toEqual(
        {
          status: 400,
          code: 'VALIDATION_FAILED',
        },
      );
    });
  });

  describe('tokens', () => {
    it('refuses a superseded token once a new one was sent, and a malformed or unknown one, with one code', async () => {
      const address = uniqueAddress();
      const user = await signUpWith(address);
      const first = linkIn(await mailbox.waitForMail(normalized(address), VERIFICATION_SUBJECT));
      expect((await http().post('/email/verify/resend').set(bearer(user.token))).status).toBe(202);
      const second = linkIn(await mailbox.waitForMail(normalized(address), VERIFICATION_SUBJECT, { skip: 1 }));
      expect(second.token).not.toBe(first.token);

      for (const token of [first.token, 'not-a-token', 'A'.repeat(43)]) {
        expect(statusAndCode(await verify(token))).toEqual({ status: 400, code: 'INVALID_TOKEN' });
      }
      expect((await verify(second.token)).status).toBe(200);
    });

    it('takes a token until EMAIL_VERIFICATION_TOKEN_LIFETIME_SECONDS (24 hours by default) have passed, and then refuses it', async () => {
      const [early, late] = [uniqueAddress('early'), uniqueAddress('late')];
      await signUpWith(early);
      await signUpWith(late);
      const [earlyLink, lateLink] = await Promise.all(
        [early, late].map(async (address) =>
          linkIn(await mailbox.waitForMail(normalized(address), VERIFICATION_SUBJECT)),
        ),
      );

      app.clock.advanceSeconds(24 * 3600 - 60);
      expect((await verify(earlyLink!.token)).status).toBe(200);
      app.clock.advanceSeconds(61);
      expect(statusAndCode(await verify(lateLink!.token))).toEqual({ status: 400, code: 'INVALID_TOKEN' });
    });
  });

  it('lets exactly one of two concurrent verifications with one token win', async () => {
    const address = uniqueAddress('racing');
    await signUpWith(address);
    const { token } = linkIn(await mailbox.waitForMail(normalized(address), VERIFICATION_SUBJECT));

    const answers = await Promise.all([verify(token), verify(token)]);

    expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
  });

  describe('a change of address', () => {
    it('keeps the current address until the new one is verified, then tells the old one', async () => {
      const oldAddress = uniqueAddress('old');
      const user = await signUpWith(oldAddress);
      expect(
        (await verify(linkIn(await mailbox.waitForMail(normalized(oldAddress), VERIFICATION_SUBJECT)).token)).status,
      ).toBe(200);

      const newAddress = uniqueAddress('new');
      const asked = await http().post('/email').set(bearer(user.token)).send({ email: newAddress });
      expect(asked.status).toBe(202);
      expect(asked.body).toEqual({});
      const mail = await mailbox.waitForMail(normalized(newAddress), VERIFICATION_SUBJECT);
      expect(mail.text).toContain('Your current address stays in force until you verify this one.');
      expect((await http().get('/me').set(bearer(user.token))).body).toMatchObject({
        email: normalized(oldAddress),
        emailVerified: true,
      });

      const verified = await verify(linkIn(mail).token);
      expect(verified.body.user).toMatchObject({ email: normalized(newAddress), emailVerified: true });
      const notice = await mailbox.waitForMail(normalized(oldAddress), /email address was changed/);
      expect(notice.text).toContain(normalized(newAddress));
      expect(notice.text).not.toMatch(/token=/);
    });

    it('refuses an address that is not one', async () => {
      const user = await signUpWith(uniqueAddress());
      const res = await http().post('/email').set(bearer(user.token)).send({ email: 'nope' });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });

  describe('who owns an address', () => {
    it('is the account that verifies it first: other unverified claims are cleared, and it blocks new ones', async () => {
      const address = uniqueAddress('shared');
      const first = await signUpWith(address);
      const second = await signUpWith(address);
      const firstMail = await mailbox.waitForMail(normalized(address), VERIFICATION_SUBJECT);
      const secondMail = await mailbox.waitForMail(normalized(address), VERIFICATION_SUBJECT, { skip: 1 });
      const [firstLink, secondLink] = [firstMail, secondMail].map(linkIn);
      // Mails arrive in any order: find whose is whose by the greeting.
      const linkOfFirst = firstMail.text.includes(first.username) ? firstLink! : secondLink!;
      const linkOfSecond = linkOfFirst === firstLink ? secondLink! : firstLink!;

      expect((await verify(linkOfFirst.token)).status).toBe(200);

      const secondNow = await http().get('/me').set(bearer(second.token));
      expect(secondNow.status).toBe(200);
      expect(secondNow.body).toMatchObject({ email: null, emailVerified: false, username: second.username });
      expect(statusAndCode(await verify(linkOfSecond.token))).toEqual({ status: 400, code: 'INVALID_TOKEN' });
      const third = await http()
        .post('/signup')
        .send({ username: uniqueUsername(), password: PASSWORD, email: address });
      expectCleanErrorBody(third, 'EMAIL_TAKEN');
      expect(third.status).toBe(409);
    });
  });

  describe('the admin API', () => {
    it('creates and changes users with an address and whether it is verified', async () => {
      const address = uniqueAddress('admin-made');
      const created = await http().post('/admin/users').set(withAdminSecret).send({
        username: uniqueUsername(),
        password: PASSWORD,
        email: address,
        emailVerified: true,
        displayName: 'Made',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ email: normalized(address), emailVerified: true, displayName: 'Made' });

      const other = await http()
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: uniqueUsername(), password: PASSWORD });
      const taken = await http()
        .patch(`/admin/users/${other.body.id}`)
        .set(withAdminSecret)
        .send({ email: address, emailVerified: true });
      expect(statusAndCode(taken)).toEqual({ status: 409, code: 'EMAIL_TAKEN' });

      const changed = await http()
        .patch(`/admin/users/${created.body.id}`)
        .set(withAdminSecret)
        .send({ email: uniqueAddress('changed') });
      expect(changed.body).toMatchObject({ emailVerified: false });
      const cleared = await http()
        .patch(`/admin/users/${created.body.id}`)
        .set(withAdminSecret)
        .send({ email: null, displayName: null });
      expect(cleared.body).toMatchObject({ email: null, emailVerified: false, displayName: null });
    });
  });

  describe('invitations', () => {
    it('creates a user without a password and mails a link that sets one and verifies the address', async () => {
      const username = uniqueUsername('invited');
      const address = `${username}@example.com`;
      const created = await http().post('/admin/users').set(withAdminSecret).send({ username, email: address });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ email: address, emailVerified: false });
      expect(statusAndCode(await http().post('/login').send({ username, password: '' }))).toEqual({
        status: 401,
        code: 'INVALID_CREDENTIALS',
      });

      const invitation = await mailbox.waitForMail(address, /^You are invited to/);
      expect(invitation.text).toContain(`with the username ${username}`);
      const { url, token } = linkIn(invitation);
      expect(url).toBe(`${PUBLIC_URL}/password/reset?token=${token}`);
      // An invitation waits longer than a reset link: INVITATION_TOKEN_LIFETIME_SECONDS, a week.
      app.clock.advanceSeconds(6 * 86400);
      const chosen = 'my very own passphrase';
      expect((await http().post('/password/reset').send({ token, newPassword: chosen })).status).toBe(204);

      const login = await http().post('/login').send({ username, password: chosen });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({ email: address, emailVerified: true });
    });

    it('refuses a user with neither a password nor an address to invite', async () => {
      const res = await http().post('/admin/users').set(withAdminSecret).send({ username: uniqueUsername() });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.error.details).toEqual([{ path: 'password', message: 'required unless email is given' }]);
    });
  });

  describe('the public view of users', () => {
    it('shows id, username, display name and creation time, and refuses every write', async () => {
      const user = await signUpWith(uniqueAddress(), { displayName: 'Public Name' });
      const rows = await app.database.db.raw('select * from auth_public.users where id = ?', [user.id]);
      expect(rows.rows).toEqual([
        { id: user.id, username: user.username, display_name: 'Public Name', created_at: expect.any(Date) },
      ]);
      await expect(
        app.database.db.raw("update auth_public.users set username = 'x' where id = ?", [user.id]),
      ).rejects.toThrow(/read-only/);
      await expect(app.database.db.raw('delete from auth_public.users where id = ?', [user.id])).rejects.toThrow(
        /read-only/,
      );
    });
  });

  /**
   * Another instance on the same database, started with `env` (and this suite's mail settings,
   * so that its outbox worker sends through the same SMTP server), as after a configuration change.
   */
  const instanceWith = async (env: Record<string, string>) =>
    startPeerInstance(app, { SMTP_URL: mailbox.smtpUrl, PUBLIC_URL, ADMIN_SECRET, ...env });

  describe('SIGNUP=closed', () => {
    it('refuses signups with 403 SIGNUP_CLOSED, and admins still create users', async () => {
      const closed = await instanceWith({ SIGNUP: 'closed' });
      const res = await request(closed).post('/signup').send({ username: uniqueUsername(), password: PASSWORD });
      expectCleanErrorBody(res, 'SIGNUP_CLOSED');
      expect(res.status).toBe(403);
      const created = await request(closed)
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: uniqueUsername(), password: PASSWORD });
      expect(created.status).toBe(201);
    });
  });

  describe('verification mail rate limits', () => {
    it('refuses a user a third verification mail within the window, with Retry-After; other users are not affected', async () => {
      const limited = await instanceWith({
        EMAIL_VERIFICATION_LIMIT_PER_USER: '2/3600',
        METRICS_TOKEN: 'a-metrics-token-for-the-scraper',
      });
      const signUpWithAddress = async () => {
        const username = uniqueUsername();
        return (
          await request(limited)
            .post('/signup')
            .send({ username, password: PASSWORD, email: `${username}@example.com` })
        ).body.token as string;
      };
      const token = await signUpWithAddress();
      expect((await request(limited).post('/email/verify/resend').set(bearer(token))).status).toBe(202);
      expect((await request(limited).post('/email').set(bearer(token)).send({ email: 'x@example.com' })).status).toBe(
        202,
      );

      const refused = await request(limited).post('/email/verify/resend').set(bearer(token));
      expectCleanErrorBody(refused, 'RATE_LIMITED');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(
        (
          await request(limited)
            .post('/email/verify/resend')
            .set(bearer(await signUpWithAddress()))
        ).status,
      ).toBe(202);

      // Two signups and three asked-for mails were queued by this instance.
      const metrics = await request(limited)
        .get('/metrics')
        .set('Authorization', 'Bearer a-metrics-token-for-the-scraper');
      expect(metrics.text).toMatch(/^hasura_auth_mails_queued_total 5$/m);
    });
  });
});
