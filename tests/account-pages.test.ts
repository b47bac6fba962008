import { createHash } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { cookieHeader, sessionCookieOf } from './support/cookies';
import { csrfFieldOf, logInAtPage, postForm, SAME_ORIGIN, type PageSession } from './support/pages';
import { logInToken, webhookGet } from './support/requests';
import { enrolAuthenticatorApp } from './support/second-factor';
import { bearer, PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

/**
 * The account and admin pages through HTTP, as a browser's form posts reach them: who may post
 * (CSRF), that each form does what its API route does, and that the rules of the API (login
 * limits, the second factor, the admin role) hold on the pages too. tests/e2e/pages.test.ts
 * drives the same pages in Chromium.
 */
describe('the account and admin pages', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });

  afterAll(async () => {
    await app.close();
  });

  const http = () => request(app.http);
  const displayNameOf = async (token: string) =>
    (await http().get('/me').set(bearer(token)).expect(200)).body.displayName as string | null;

  describe('logging in at the page', () => {
    it('starts a cookie session and goes on to /account, which shows the user', async () => {
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      const page = await http().get('/account').set(session.cookie).expect(200);
      expect(page.text).toContain(user.username);
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
      expect(page.headers['content-security-policy']).not.toContain('script-src');
      expect(page.headers['cache-control']).toBe('no-store');
    });

    it('answers a wrong password and an unknown user with the same page, the form again', async () => {
      const user = await signUp(app);
      const post = (username: string) =>
        http().post('/account/login').set(SAME_ORIGIN).type('form').send({ username, password: 'not the password' });
      const wrong = await post(user.username);
      const unknown = await post(user.username + '-nobody');
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.headers['set-cookie']).toBeUndefined();
      const withoutName = (text: string) => text.replaceAll(/value="[^"]*-nobody"|value="[^"]*"/g, '');
      expect(withoutName(wrong.text)).toBe(withoutName(unknown.text));
      expect(wrong.text).toContain('The username or password is incorrect.');
      expect(wrong.text).toContain('aria-describedby="login-error"');
    });

    it('counts against the same login limits as POST /login', async () => {
      const user = await signUp(app);
      for (let attempt = 0; attempt < 10; attempt++) {
        await http().post('/login').send({ username: user.username, password: 'wrong' }).expect(401);
      }
      const page = await http()
        .post('/account/login')
        .set(SAME_ORIGIN)
        .type('form')
        .send({ username: user.username, password: PASSWORD });
      expect(page.status).toBe(429);
      expect(page.text).toMatch(/Try again in \d+ seconds/);
      expect(page.headers['retry-after']).toBeDefined();
    });

    it('asks an account with a second factor for its code, and takes a recovery code in the same field', async () => {
      const user = await signUp(app);
      const { totp, recoveryCodes: codes } = await enrolAuthenticatorApp(app, user.token);
      const firstStep = async () => {
        const asked = await http()
          .post('/account/login')
          .set(SAME_ORIGIN)
          .type('form')
          .send({ username: user.username, password: PASSWORD });
        expect(asked.status).toBe(401);
        expect(asked.headers['set-cookie']).toBeUndefined();
        return /name="challenge" value="([^"]+)"/.exec(asked.text)![1]!;
      };
      const second = (challenge: string, code: string) =>
        http().post('/account/login/mfa').set(SAME_ORIGIN).type('form').send({ challenge, code, next: '/account' });

      // The code that confirmed the app was this time step's: the login's is the next one's.
      app.clock.advanceSeconds(30);
      const challenge = await firstStep();
      const wrong = await second(challenge, '000000');
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain(`value="${challenge}"`);
      expect(wrong.text).toContain('aria-describedby="code-error"');
      // As typed, with a stray space either side.
      const finished = await second(challenge, ` ${totp.generate({ timestamp: app.clock.now().getTime() })} `);
      expect(finished.status).toBe(303);
      expect(finished.headers.location).toBe('/account');
      const cookie = cookieHeader(sessionCookieOf(finished));
      const described = await http().get('/session').set(cookie).expect(200);
      expect(described.body.amr).toEqual(['pwd', 'otp']);
      // The challenge was used: it opens nothing again.
      expect((await second(challenge, codes[0]!)).status).toBe(401);

      const byRecoveryCode = await second(await firstStep(), codes[0]!.toUpperCase());
      expect(byRecoveryCode.status).toBe(303);
      expect(byRecoveryCode.headers['set-cookie']).toBeDefined();
    });

    it('goes on only to /account or /admin, whatever `next` says', async () => {
      const user = await signUp(app);
      for (const [next, expected] of [
        ['/admin', '/admin'],
        ['https://evil.example', '/account'],
        ['//evil.example', '/account'],
      ] as const) {
        const loggedIn = await http()
          .post('/account/login')
          .set(SAME_ORIGIN)
          .type('form')
          .send({ username: user.username, password: PASSWORD, next })
          .expect(303);
        expect(loggedIn.headers.location).toBe(expected);
      }
    });

    it('sends a browser without a session from a page to the login page, and back after it', async () => {
      expect((await http().get('/account').expect(303)).headers.location).toBe('/account/login');
      expect((await http().get('/account/passkeys').expect(303)).headers.location).toBe('/account/login');
      expect((await http().get('/admin').expect(303)).headers.location).toBe('/account/login?next=/admin');
      const page = await http().get('/account/login?next=/admin').expect(200);
      expect(page.text).toContain('name="next" value="/admin"');
      // Mail is sent here (the log stands for it in development): a forgotten password has its page.
      expect(page.text).toContain('<a href="/password/forgot">Forgot your password?</a>');
    });
  });

  describe('refuses a form it did not serve (CSRF)', () => {
    let token: string;
    let session: PageSession;

    beforeEach(async () => {
      const user = await signUp(app);
      token = user.token;
      session = await logInAtPage(app, user.username);
    });

    it('without the CSRF field, or with another session’s, and nothing is changed', async () => {
      const other = await logInAtPage(app, (await signUp(app)).username);
      for (const csrf of ['', other.csrf, `${session.csrf}x`]) {
        const forged = await postForm(app, { ...session, csrf }, '/account/profile', { displayName: 'Forged' });
        expect(forged.status).toBe(403);
        expect(forged.text).toContain('CSRF_REJECTED');
        expect(forged.text).toContain('The form is out of date. Open the page again.');
      }
      expect(await displayNameOf(token)).toBeNull();
      await postForm(app, session, '/account/profile', { displayName: 'Mine' }).expect(303);
      expect(await displayNameOf(token)).toBe('Mine');
    });

    it('posted from another site or origin, even with the right field', async () => {
      for (const [headers, reason] of [
        [{ 'Sec-Fetch-Site': 'cross-site' }, 'The form was posted from another site.'],
        [{ 'Sec-Fetch-Site': 'same-site' }, 'The form was posted from another site.'],
        [{ Origin: 'https://evil.example' }, 'The form was posted from another origin.'],
        // The same host on another port is another origin.
        [{ Origin: 'http://127.0.0.1:1' }, 'The form was posted from another origin.'],
      ] as const) {
        const forged = await request(app.http)
          .post('/account/profile')
          .set(session.cookie)
          .set(headers)
          .type('form')
          .send({ csrf: session.csrf, displayName: 'Forged' });
        expect(forged.status).toBe(403);
        expect(forged.text).toContain('CSRF_REJECTED');
        expect(forged.text).toContain(reason);
      }
      const forgedLogin = await http()
        .post('/account/login')
        .set('Sec-Fetch-Site', 'cross-site')
        .type('form')
        .send({ username: 'attacker', password: PASSWORD });
      expect(forgedLogin.status).toBe(403);
      expect(await displayNameOf(token)).toBeNull();
    });

    it('from a browser that sends Origin without Sec-Fetch-Site, when it is this very origin', async () => {
      const posted = await request(app.http)
        .post('/account/profile')
        .set(session.cookie)
        .set('Origin', new URL(app.http).origin)
        .type('form')
        .send({ csrf: session.csrf, displayName: 'Mine' });
      expect(posted.status).toBe(303);
      expect(await displayNameOf(token)).toBe('Mine');
    });

    it('a form posted without a session is told so, and does nothing', async () => {
      const signedOut = await request(app.http)
        .post('/account/profile')
        .set(SAME_ORIGIN)
        .type('form')
        .send({ displayName: 'Nobody' });
      expect(signedOut.status).toBe(401);
      expect(signedOut.text).toContain('UNAUTHORIZED');
    });
  });

  describe('the account page’s forms', () => {
    it('change the password, which ends every other session but this one', async () => {
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      const newPassword = 'an entirely new passphrase 7';
      const mismatch = await postForm(app, session, '/account/password', {
        currentPassword: PASSWORD,
        newPassword,
        confirmPassword: 'something else',
      });
      expect(mismatch.status).toBe(400);
      const changed = await postForm(app, session, '/account/password', {
        currentPassword: PASSWORD,
        newPassword,
        confirmPassword: newPassword,
      }).expect(303);
      expect(changed.headers.location).toBe('/account?done=password-changed');
      await http().get('/me').set(bearer(user.token)).expect(401);
      // The browser's old cookie is replaced by the new session's.
      const cookie = cookieHeader(sessionCookieOf(changed));
      const page = await http().get('/account?done=password-changed').set(cookie).expect(200);
      expect(page.text).toContain('Your password is changed.');
      await logInToken(app, user.username, newPassword);
    });

    it('end one session, or every other one, and the webhook no longer admits them', async () => {
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      const another = await logInToken(app, user.username);
      const sessions = (await http().get('/sessions').set(bearer(another)).expect(200)).body.sessions as {
        id: string;
        current: boolean;
      }[];
      const anotherId = sessions.find((each) => each.current)!.id;
      await postForm(app, session, '/account/sessions/end', { id: anotherId }).expect(303);
      await webhookGet(app, another).expect(401);

      const third = await logInToken(app, user.username);
      await postForm(app, session, '/account/sessions/end-others').expect(303);
      await webhookGet(app, third).expect(401);
      await webhookGet(app, user.token).expect(401);
      const left = (await http().get('/sessions').set(session.cookie).expect(200)).body.sessions as {
        current: boolean;
      }[];
      expect(left).toEqual([expect.objectContaining({ current: true })]);
    });

    it('set up the authenticator app from the secret on the page, and show the recovery codes once', async () => {
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      const enrolment = await postForm(app, session, '/account/totp', { password: PASSWORD }).expect(200);
      expect(enrolment.text).toContain('<svg');
      const secret = /id="totp-secret">([A-Z2-7]+)</.exec(enrolment.text)![1]!;
      const totp = new TOTP({ secret: Secret.fromBase32(secret) });
      const confirmed = await postForm(app, session, '/account/totp/confirm', {
        csrf: csrfFieldOf(enrolment.text),
        code: totp.generate({ timestamp: app.clock.now().getTime() }),
      }).expect(200);
      const codes = [...confirmed.text.matchAll(/<li>([a-z0-9]{4}(?:-[a-z0-9]{4}){3})<\/li>/g)].map(
        (match) => match[1],
      );
      expect(codes).toHaveLength(10);
      const status = await http().get('/me/mfa').set(bearer(user.token)).expect(200);
      expect(status.body).toEqual({ totp: true, recoveryCodesLeft: 10 });

      const removed = await postForm(app, session, '/account/totp/remove', { password: PASSWORD, code: codes[0]! });
      expect(removed.status).toBe(303);
      expect((await http().get('/me/mfa').set(bearer(user.token)).expect(200)).body.totp).toBe(false);
    });

    it('ask for the password to set up a factor once the session is older than 5 minutes', async () => {
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      app.clock.advanceSeconds(6 * 60);
      const refused = await postForm(app, session, '/account/totp', { password: '' });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('PASSWORD_REQUIRED');
      await postForm(app, session, '/account/totp', { password: PASSWORD }).expect(200);
    });

    it('log out: the cookie is cleared and the session is over', async () => {
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      const out = await postForm(app, session, '/account/logout').expect(303);
      expect(out.headers.location).toBe('/account/login');
      await http().get('/session').set(session.cookie).expect(401);
    });
  });

  describe('the admin page', () => {
    async function adminPageSession(): Promise<PageSession> {
      const username = uniqueUsername('page-admin');
      await http()
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username, password: PASSWORD, roles: ['admin'] })
        .expect(201);
      return logInAtPage(app, username);
    }

    it('is only for the admin role, and only an admin’s pages link to it', async () => {
      const admin = await adminPageSession();
      expect((await http().get('/account').set(admin.cookie).expect(200)).text).toContain('<a href="/admin">Admin</a>');
      const user = await signUp(app);
      const session = await logInAtPage(app, user.username);
      const own = await http().get('/account').set(session.cookie).expect(200);
      expect(own.text).not.toContain('href="/admin"');
      // The sessions table says when each started, in UTC, to the minute.
      expect(own.text).toMatch(/<td>\d{4}-\d\d-\d\d \d\d:\d\d<\/td>/);
      const page = await http().get('/admin').set(session.cookie);
      expect(page.status).toBe(403);
      expect(page.text).toContain('FORBIDDEN');
      const forged = await postForm(app, session, '/admin/forms/user', { id: String(user.id), action: 'disable' });
      expect(forged.status).toBe(403);
      await webhookGet(app, user.token).expect(200);
    });

    it('finds users by part of their name or address, in any case', async () => {
      const admin = await adminPageSession();
      const needle = uniqueUsername('Needle');
      await http()
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: needle.toLowerCase(), password: PASSWORD, email: `${needle}@example.com` })
        .expect(201);
      const found = await http()
        .get(`/admin?search=${needle.slice(0, 14).toUpperCase()}`)
        .set(admin.cookie)
        .expect(200);
      expect(found.text).toContain(needle.toLowerCase());
      expect(found.text).toMatch(/1 user matching/);
      const nothing = await http().get('/admin?search=%25').set(admin.cookie).expect(200);
      expect(nothing.text).toMatch(/0 users matching/);
    });

    it('resets a user’s second factor, which ends their sessions', async () => {
      const admin = await adminPageSession();
      const user = await signUp(app);
      await enrolAuthenticatorApp(app, user.token);
      const page = await http().get(`/admin?search=${user.username}`).set(admin.cookie).expect(200);
      expect(page.text).toContain(`Reset the second factor of ${user.username}`);
      const reset = await postForm(app, admin, '/admin/forms/user', { id: String(user.id), action: 'reset-mfa' });
      expect(reset.status).toBe(303);
      expect(reset.headers.location).toBe('/admin?done=mfa-reset');
      const resetEvents = app.logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.authEvent === 'mfa.reset' && line.userId === user.id);
      expect(resetEvents).toEqual([expect.objectContaining({ actorUserId: expect.any(Number) })]);
      await webhookGet(app, user.token).expect(401);
      const token = await logInToken(app, user.username);
      expect((await http().get('/me/mfa').set(bearer(token)).expect(200)).body.totp).toBe(false);
    });

    it('disables, enables, grants and revokes a role and deletes, each as the API would, as the admin’s auth events', async () => {
      const admin = await adminPageSession();
      const adminId = ((await http().get('/me').set(admin.cookie).expect(200)).body as { id: number }).id;
      const user = await signUp(app);
      const act = (action: string, fields: Record<string, string> = {}) =>
        postForm(app, admin, '/admin/forms/user', { id: String(user.id), action, ...fields });
      const rolesOf = async () =>
        (await http().get(`/admin/users/${user.id}`).set(withAdminSecret).expect(200)).body.roles as string[];
      const roleNames = async () =>
        ((await http().get('/admin/roles').set(withAdminSecret).expect(200)).body.roles as { name: string }[]).map(
          (role) => role.name,
        );
      const eventsOf = (name: string, about: Record<string, unknown> = { userId: user.id }) =>
        app.logLines
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter(
            (line) => line.authEvent === name && Object.entries(about).every(([key, value]) => line[key] === value),
          );

      const createdRole = await postForm(app, admin, '/admin/forms/roles', { action: 'create', name: 'editor-page' });
      expect(createdRole.headers.location).toBe('/admin?done=role-created');
      expect(await roleNames()).toContain('editor-page');
      expect(eventsOf('role.created', { role: 'editor-page' })).toEqual([
        expect.objectContaining({ actorUserId: adminId }),
      ]);
      const granted = await act('grant-role', { role: 'editor-page' });
      expect(granted.headers.location).toBe('/admin?done=role-granted');
      expect(await rolesOf()).toContain('editor-page');
      expect(eventsOf('role.granted')).toEqual([
        expect.objectContaining({ role: 'editor-page', actorUserId: adminId }),
      ]);
      const revoked = await act('revoke-role', { role: 'editor-page' });
      expect(revoked.headers.location).toBe('/admin?done=role-revoked');
      expect(await rolesOf()).not.toContain('editor-page');
      expect(eventsOf('role.revoked')).toHaveLength(1);

      // A role change ended the user's sessions: a new one, which the disabling ends.
      const live = await logInToken(app, user.username);
      await webhookGet(app, live).expect(200);
      await act('disable').expect(303);
      await webhookGet(app, live).expect(401);
      expect(eventsOf('user.updated')).toEqual([expect.objectContaining({ disabled: true, actorUserId: adminId })]);
      await act('enable').expect(303);
      await logInToken(app, user.username);
      expect(eventsOf('user.updated').at(-1)).toEqual(expect.objectContaining({ disabled: false }));

      await act('end-sessions').expect(303);
      expect(eventsOf('user.sessions.ended')).toHaveLength(1);
      const unconfirmed = await act('delete');
      expect(unconfirmed.status).toBe(400);
      expect(unconfirmed.text).toContain('Tick “sure” to delete the user.');
      await act('delete', { confirm: 'yes' }).expect(303);
      await http().get(`/admin/users/${user.id}`).set(withAdminSecret).expect(404);
      expect(eventsOf('user.deleted')).toEqual([expect.objectContaining({ actorUserId: adminId })]);
      const deletedRole = await postForm(app, admin, '/admin/forms/roles', { action: 'delete', name: 'editor-page' });
      expect(deletedRole.headers.location).toBe('/admin?done=role-deleted');
      expect(await roleNames()).not.toContain('editor-page');
      expect(eventsOf('role.deleted', { role: 'editor-page' })).toHaveLength(1);
    });

    it('creates a user who logs in at once, or invites one by mail', async () => {
      const admin = await adminPageSession();
      const created = uniqueUsername('made');
      const made = await postForm(app, admin, '/admin/forms/users', {
        username: created,
        email: '',
        password: PASSWORD,
        role: 'admin',
      });
      expect(made.headers.location).toBe('/admin?done=user-created');
      const token = await logInToken(app, created);
      expect(((await http().get('/me').set(bearer(token)).expect(200)).body.roles as string[]).sort()).toEqual([
        'admin',
        'user',
      ]);

      const invited = uniqueUsername('invited');
      const invitation = await postForm(app, admin, '/admin/forms/users', {
        username: invited,
        email: `${invited}@example.com`,
        password: '',
        role: '',
      });
      expect(invitation.headers.location).toBe('/admin?done=user-invited');
      const page = await http().get('/admin?done=user-invited').set(admin.cookie).expect(200);
      expect(page.text).toContain('an invitation mail is on its way');
    });

    it('registers an app, shows its secret once, gives it a new one, and deletes it only when sure', async () => {
      const admin = await adminPageSession();
      const name = uniqueUsername('App');
      const created = await postForm(app, admin, '/admin/forms/clients', {
        action: 'create',
        name,
        type: 'confidential',
        redirectUris: 'https://app.example.com/callback\r\nhttp://localhost:4000/callback\r\n',
        firstParty: 'yes',
      });
      expect(created.status).toBe(200);
      const clientId = /id="client-id">([^<]+)</.exec(created.text)![1]!;
      const secret = /id="client-secret">([^<]+)</.exec(created.text)![1]!;
      const stored = await app.database.db('oidc_clients').where({ client_id: clientId }).first();
      expect(stored).toMatchObject({
        name,
        first_party: true,
        redirect_uris: ['https://app.example.com/callback', 'http://localhost:4000/callback'],
        secret_hash: createHash('sha256').update(secret).digest('base64url'),
      });
      const listed = await http().get('/admin').set(admin.cookie).expect(200);
      expect(listed.text).toContain(clientId);
      expect(listed.text).not.toContain(secret);

      const rotated = await postForm(app, admin, '/admin/forms/clients', { action: 'rotate-secret', id: clientId });
      const newSecret = /id="client-secret">([^<]+)</.exec(rotated.text)![1]!;
      expect(newSecret).not.toBe(secret);
      expect((await app.database.db('oidc_clients').where({ client_id: clientId }).first()).secret_hash).toBe(
        createHash('sha256').update(newSecret).digest('base64url'),
      );

      const unsure = await postForm(app, admin, '/admin/forms/clients', { action: 'delete', id: clientId });
      expect(unsure.status).toBe(400);
      const deleted = await postForm(app, admin, '/admin/forms/clients', {
        action: 'delete',
        id: clientId,
        confirm: 'yes',
      });
      expect(deleted.headers.location).toBe('/admin?done=client-deleted');
      expect(await app.database.db('oidc_clients').where({ client_id: clientId }).first()).toBeUndefined();
    });

    it('refuses an app with a redirect URI that is not allowed, saying which', async () => {
      const admin = await adminPageSession();
      const refused = await postForm(app, admin, '/admin/forms/clients', {
        action: 'create',
        name: 'Bad',
        type: 'public',
        redirectUris: 'http://evil.example.com/callback',
      });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('redirectUris.0: must be an absolute https URL');
    });
  });
});
