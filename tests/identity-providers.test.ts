import { Secret, TOTP } from 'otpauth';
import request from 'supertest';
import type { Env } from '../src/config';
import { withAdminSecret, ADMIN_SECRET } from './support/admin';
import { cookieHeader, sessionCookieOf, setCookiesOf } from './support/cookies';
import {
  APP_ORIGIN,
  PUBLIC_URL,
  RETURN_TO,
  authorizeAtProvider,
  callbackUrlOf,
  deliverCallback,
  exchangeCode,
  logInThroughProvider,
  redirectParameters,
  registerClient,
  startLogin,
  testProviderEntry,
  type PersonAtProvider,
} from './support/identity-providers';
import { freePort } from './support/ports';
import { webhookGet } from './support/requests';
import { startRogueOpenIdProvider, type RogueOpenIdProvider } from './support/rogue-openid-provider';
import { PASSWORD, bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

const METRICS_TOKEN = 'a-metrics-token-for-the-scraper';
const uniqueSubject = () => `sub-${Math.random().toString(36).slice(2, 12)}`;
const uniqueEmail = (prefix = 'person') => `${prefix}-${Math.random().toString(36).slice(2, 10)}@example.com`;

describe('logging in through an OpenID Connect provider', () => {
  let app: TestApp;
  let settings: Env;
  let rogue: RogueOpenIdProvider;
  // Where a provider will answer only once a test starts it.
  let latePort: number;
  beforeAll(async () => {
    rogue = await startRogueOpenIdProvider();
    latePort = await freePort();
    // One client at the provider for every entry: they differ only in how they link.
    const client = await registerClient(['test', 'trusting', 'down'].map((id) => callbackUrlOf(id)));
    settings = {
      PUBLIC_URL,
      ALLOWED_RETURN_URLS: `${APP_ORIGIN},${PUBLIC_URL}/account`,
      ADMIN_SECRET,
      METRICS_TOKEN,
      IDENTITY_PROVIDERS: JSON.stringify([
        testProviderEntry('test', client),
        testProviderEntry('trusting', client, { name: 'Trusting', linkByVerifiedEmail: true }),
        // Nothing listens there: its discovery fails.
        { ...testProviderEntry('down', client), issuer: 'http://127.0.0.1:9' },
        { id: 'rogue', type: 'oidc', name: 'Rogue', issuer: rogue.issuer, clientId: 'rogue-client', clientSecret: 'x' },
        { id: 'late', type: 'oidc', name: 'Late', issuer: `http://127.0.0.1:${latePort}`, clientId: 'late-client' },
      ]),
    };
    app = await startTestApp(settings);
  });
  afterAll(async () => {
    await app.close();
    await rogue.close();
  });

  const http = () => request(app.http);
  const person = (extra: Partial<PersonAtProvider> = {}): PersonAtProvider => ({ sub: uniqueSubject(), ...extra });

  it('lists the providers for login pages', async () => {
    const res = await http().get('/auth/providers').expect(200);
    expect(res.body).toEqual({
      providers: [
        { id: 'test', name: 'Test test' },
        { id: 'trusting', name: 'Trusting' },
        { id: 'down', name: 'Test down' },
        { id: 'rogue', name: 'Rogue' },
        { id: 'late', name: 'Late' },
      ],
    });
  });

  it('creates the user at the first login and finds them at the second, and Hasura sees a user', async () => {
    const someone = person({ email: uniqueEmail(), emailVerified: true, preferredUsername: 'Ada Lovelace' });
    const first = await logInThroughProvider(app, 'test', someone);
    expect(first.headers.location).toMatch(new RegExp(`^${RETURN_TO}\\?code=[\\w-]{43}$`));
    // The browser got a session cookie too.
    const cookie = cookieHeader(sessionCookieOf(first));
    const me = await http().get('/me').set(cookie).expect(200);
    expect(me.body).toMatchObject({
      username: 'Ada-Lovelace',
      email: someone.email,
      emailVerified: true,
      roles: ['user'],
    });

    const exchanged = await exchangeCode(app, first);
    expect(exchanged.id).toBe(me.body.id);
    const hook = await webhookGet(app, exchanged.token).expect(200);
    expect(hook.body).toMatchObject({ 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': String(me.body.id) });

    const second = await exchangeCode(app, await logInThroughProvider(app, 'test', someone));
    expect(second.id).toBe(me.body.id);
  });

  it("keeps each identity's address and last use as of its latest login", async () => {
    const someone = person({ email: uniqueEmail(), emailVerified: true });
    const { token } = await exchangeCode(app, await logInThroughProvider(app, 'test', someone));
    const [before] = (await http().get('/me/identities').set(bearer(token)).expect(200)).body.identities;
    expect(before).toMatchObject({ email: someone.email });

    app.clock.advanceSeconds(60);
    const moved = { ...someone, email: uniqueEmail() };
    await exchangeCode(app, await logInThroughProvider(app, 'test', moved));
    const [after] = (await http().get('/me/identities').set(bearer(token)).expect(200)).body.identities;
    expect(after).toMatchObject({ id: before.id, email: moved.email });
    expect(Date.parse(after.lastUsedAt) - Date.parse(before.lastUsedAt)).toBeGreaterThanOrEqual(60_000);
  });

  it("keeps the flow's state in a cookie of its own, sent only to that provider's callback, for 10 minutes", async () => {
    const { res } = await startLogin(app, 'test', { returnTo: RETURN_TO });
    const [flow] = setCookiesOf(res);
    expect(flow).toMatchObject({
      name: expect.stringMatching(/^hasura_auth_flow_[\w-]{16}$/),
      httpOnly: true,
      sameSite: 'lax',
      path: '/auth/test/callback',
      maxAge: 600,
    });
  });

  it('keeps the address unverified when the provider does not say it is verified, and makes usernames unique', async () => {
    const email = uniqueEmail('unverified');
    const first = await exchangeCode(app, await logInThroughProvider(app, 'test', person({ email })));
    const me = await http().get('/me').set(bearer(first.token)).expect(200);
    expect(me.body).toMatchObject({ email, emailVerified: false, username: email.split('@')[0] });
    // Another person with the same preferred username gets the name with a suffix.
    const namesake = await exchangeCode(
      app,
      await logInThroughProvider(app, 'test', person({ preferredUsername: email.split('@')[0] })),
    );
    expect(namesake.username).toMatch(new RegExp(`^${email.split('@')[0]}-[0-9a-f]{6}$`));
    // Nothing to go by: the provider's id.
    const anonymous = await exchangeCode(app, await logInThroughProvider(app, 'test', person()));
    expect(anonymous.username).toMatch(/^test-user/);
  });

  describe('the one-time code', () => {
    it('is traded once, for a session or, in JWT mode, a token pair', async () => {
      const res = await logInThroughProvider(app, 'test', person());
      const code = redirectParameters(res).get('code');
      const exchanged = await http().post('/auth/exchange').send({ code }).expect(200);
      expect(exchanged.body).toEqual(
        expect.objectContaining({ token: expect.any(String), expiresAt: expect.any(String) }),
      );
      const again = await http().post('/auth/exchange').send({ code });
      expect(again.status).toBe(400);
      expect(again.body.error.code).toBe('INVALID_TOKEN');

      const tokens = await http()
        .post('/auth/exchange')
        .send({
          code: redirectParameters(await logInThroughProvider(app, 'test', person())).get('code'),
          issue: 'tokens',
        })
        .expect(200);
      expect(tokens.body).toEqual(
        expect.objectContaining({ accessToken: expect.any(String), refreshToken: expect.any(String) }),
      );
    });

    it('lives 60 seconds', async () => {
      const young = redirectParameters(await logInThroughProvider(app, 'test', person())).get('code');
      const old = redirectParameters(await logInThroughProvider(app, 'test', person())).get('code');
      app.clock.advanceSeconds(59);
      await http().post('/auth/exchange').send({ code: young }).expect(200);
      app.clock.advanceSeconds(1);
      const res = await http().post('/auth/exchange').send({ code: old });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_TOKEN');
    });

    it('is void once the user logged out everywhere', async () => {
      const res = await logInThroughProvider(app, 'test', person());
      const { id } = (
        await http()
          .get('/me')
          .set(cookieHeader(sessionCookieOf(res)))
          .expect(200)
      ).body;
      await http().delete(`/admin/users/${id}/sessions`).set(withAdminSecret).expect(204);
      const exchanged = await http()
        .post('/auth/exchange')
        .send({ code: redirectParameters(res).get('code') });
      expect(exchanged.status).toBe(400);
    });
  });

  describe('refuses', () => {
    /** Expects the callback to send the browser back with this error, and no session. */
    function expectRefused(res: request.Response, error: string): void {
      expect(redirectParameters(res).get('error')).toBe(error);
      expect(redirectParameters(res).get('code')).toBeNull();
      expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/hasura_auth_session=[^;]/);
    }

    it('a callback whose state was altered, whose cookie was forged, or that has no cookie', async () => {
      const started = await startLogin(app, 'test', { returnTo: RETURN_TO });
      const callback = await authorizeAtProvider(started.authorizationUrl, person());
      const otherState = new URL(callback);
      otherState.searchParams.set('state', `${callback.searchParams.get('state')!.slice(0, 16)}${'A'.repeat(27)}`);
      // Without a flow whose cookie it can read, the service knows no returnTo: a page says it.
      const altered = await deliverCallback(app, otherState, started.flowCookie);
      expect(altered.status).toBe(400);
      expect(altered.text).toMatch(/was used already, has expired, or was not started here/);

      const [name, value] = started.flowCookie.split('=') as [string, string];
      const forgedPayload = Buffer.from(
        JSON.stringify({
          ...JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString()),
          returnTo: 'https://evil.example/',
        }),
      ).toString('base64url');
      const forged = await deliverCallback(app, callback, `${name}=${forgedPayload}.${value.split('.')[1]}`);
      expect(forged.status).toBe(400);
      expect(forged.headers.location).toBeUndefined();

      expect((await deliverCallback(app, callback, '')).status).toBe(400);
      // The genuine cookie still works: nothing above used the flow up.
      expect(redirectParameters(await deliverCallback(app, callback, started.flowCookie)).get('code')).not.toBeNull();
    });

    it('a callback delivered twice', async () => {
      const started = await startLogin(app, 'test', { returnTo: RETURN_TO });
      const callback = await authorizeAtProvider(started.authorizationUrl, person());
      const first = await deliverCallback(app, callback, started.flowCookie);
      expect(redirectParameters(first).get('code')).not.toBeNull();
      // The browser deleted the cookie; an attacker who kept it replays the code, which the provider refuses.
      expect(String(first.headers['set-cookie'])).toMatch(/hasura_auth_flow_[\w-]+=; Max-Age=0/);
      expectRefused(await deliverCallback(app, callback, started.flowCookie), 'provider_error');
    });

    it('an ID token with a nonce other than the flow’s', async () => {
      const started = await startLogin(app, 'test', { returnTo: RETURN_TO });
      started.authorizationUrl.searchParams.set('nonce', 'a-nonce-the-attacker-chose');
      const callback = await authorizeAtProvider(started.authorizationUrl, person());
      expectRefused(await deliverCallback(app, callback, started.flowCookie), 'provider_error');
    });

    it('an answer that names another issuer', async () => {
      const started = await startLogin(app, 'test', { returnTo: RETURN_TO });
      const callback = await authorizeAtProvider(started.authorizationUrl, person());
      expect(callback.searchParams.get('iss')).not.toBeNull();
      callback.searchParams.set('iss', 'https://evil.example');
      expectRefused(await deliverCallback(app, callback, started.flowCookie), 'provider_error');
    });

    it('an ID token signed by a key the provider does not publish', async () => {
      expectRefused(await logInThroughProvider(app, 'rogue', person()), 'provider_error');
      // The control: signed with its published key, the same answer logs in.
      rogue.signWith('published');
      try {
        expect(redirectParameters(await logInThroughProvider(app, 'rogue', person())).get('code')).not.toBeNull();
      } finally {
        rogue.signWith('other');
      }
    });

    it('a login cancelled at the provider', async () => {
      expectRefused(await logInThroughProvider(app, 'test', person({ deny: true })), 'access_denied');
    });

    it('a disabled user, and ends their provider sessions like any other', async () => {
      const someone = person();
      const res = await logInThroughProvider(app, 'test', someone);
      const { id, token } = await exchangeCode(app, res);
      await webhookGet(app, token).expect(200);
      await http().patch(`/admin/users/${id}`).set(withAdminSecret).send({ disabled: true }).expect(200);
      await webhookGet(app, token).expect(401);
      expectRefused(await logInThroughProvider(app, 'test', someone), 'account_disabled');
    });
  });

  it('lets two flows in one browser run at once, each back to its own returnTo', async () => {
    const first = await startLogin(app, 'test', { returnTo: `${RETURN_TO}?tab=1` });
    const second = await startLogin(app, 'test', { returnTo: `${RETURN_TO}?tab=2` });
    const bothCookies = `${first.flowCookie}; ${second.flowCookie}`;
    const alice = person({ preferredUsername: 'tab-two' });
    const secondDone = await deliverCallback(
      app,
      await authorizeAtProvider(second.authorizationUrl, alice),
      bothCookies,
    );
    const firstDone = await deliverCallback(
      app,
      await authorizeAtProvider(first.authorizationUrl, person()),
      bothCookies,
    );
    expect(redirectParameters(secondDone).get('tab')).toBe('2');
    expect(redirectParameters(firstDone).get('tab')).toBe('1');
    const [one, two] = [await exchangeCode(app, firstDone), await exchangeCode(app, secondDone)];
    expect(one.id).not.toBe(two.id);
    expect(two.username).toMatch(/^tab-two/);
  });

  it('makes one user of two first logins with one identity at once', async () => {
    const someone = person({ preferredUsername: 'twin' });
    const flows = await Promise.all([1, 2].map(() => startLogin(app, 'test', { returnTo: RETURN_TO })));
    const callbacks = await Promise.all(flows.map((flow) => authorizeAtProvider(flow.authorizationUrl, someone)));
    const done = await Promise.all(
      callbacks.map((callback, i) => deliverCallback(app, callback, flows[i]!.flowCookie)),
    );
    const [one, two] = await Promise.all(done.map((res) => exchangeCode(app, res)));
    expect(one!.id).toBe(two!.id);
  });

  describe('which account an address belongs to', () => {
    async function localUserWithVerifiedEmail(email: string) {
      const user = await signUp(app);
      await http()
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ email, emailVerified: true })
        .expect(200);
      return user;
    }

    it('links by a verified address only where the provider is trusted to, and both sides verified it', async () => {
      const email = uniqueEmail('owner');
      const owner = await localUserWithVerifiedEmail(email);
      // Unverified at the provider: never linked, even by a trusted provider.
      const unverified = await exchangeCode(app, await logInThroughProvider(app, 'trusting', person({ email })));
      expect(unverified.id).not.toBe(owner.id);
      // Verified, but through a provider not trusted to link: a new account.
      const untrusted = await exchangeCode(
        app,
        await logInThroughProvider(app, 'test', person({ email, emailVerified: true })),
      );
      expect(untrusted.id).not.toBe(owner.id);
      // Verified on both sides, through a trusting provider: the owner's account, from now on.
      const subject = person({ email, emailVerified: true });
      const linked = await exchangeCode(app, await logInThroughProvider(app, 'trusting', subject));
      expect(linked.id).toBe(owner.id);
      const identities = await http().get('/me/identities').set(bearer(owner.token)).expect(200);
      expect(identities.body.identities).toEqual([
        expect.objectContaining({ provider: 'trusting', subject: subject.sub, email }),
      ]);
    });

    it('never links to a local address that is not verified', async () => {
      const email = uniqueEmail('claimed');
      const claimer = await request(app.http)
        .post('/signup')
        .send({ username: `claimer-${uniqueSubject()}`, password: PASSWORD, email })
        .expect(201);
      const res = await logInThroughProvider(app, 'trusting', person({ email, emailVerified: true }));
      const newcomer = await exchangeCode(app, res);
      expect(newcomer.id).not.toBe(claimer.body.id);
      // The provider verified it, so the new account holds it verified, and the old claim is gone.
      expect((await http().get('/me').set(bearer(newcomer.token))).body).toMatchObject({ email, emailVerified: true });
      expect((await http().get('/me').set(bearer(claimer.body.token))).body).toMatchObject({ email: null });
    });
  });

  describe('linking and unlinking', () => {
    it('adds an identity to the signed-in account, which it then logs in to; another account cannot take it', async () => {
      const user = await signUp(app);
      const someone = person();
      const linked = await logInThroughProvider(app, 'test', someone, {
        returnTo: RETURN_TO,
        link: true,
        cookie: `hasura_auth_session=${user.token}`,
      });
      expect(redirectParameters(linked).get('linked')).toBe('test');
      expect((await exchangeCode(app, await logInThroughProvider(app, 'test', someone))).id).toBe(user.id);
      // Linking it again to the same account changes nothing, and is no error.
      const again = await logInThroughProvider(app, 'test', someone, {
        returnTo: RETURN_TO,
        link: true,
        cookie: `hasura_auth_session=${user.token}`,
      });
      expect(redirectParameters(again).get('linked')).toBe('test');
      expect((await http().get('/me/identities').set(bearer(user.token)).expect(200)).body.identities).toHaveLength(1);

      const other = await signUp(app);
      const taken = await logInThroughProvider(app, 'test', someone, {
        returnTo: RETURN_TO,
        link: true,
        cookie: `hasura_auth_session=${other.token}`,
      });
      expect(redirectParameters(taken).get('error')).toBe('identity_in_use');
    });

    it('asks an account with a second factor for it: no cookie at the callback, MFA_REQUIRED at the exchange', async () => {
      const user = await signUp(app);
      const someone = person();
      await logInThroughProvider(app, 'test', someone, {
        returnTo: RETURN_TO,
        link: true,
        cookie: `hasura_auth_session=${user.token}`,
      });
      const begun = await http().post('/me/mfa/totp').set(bearer(user.token)).send({}).expect(200);
      const app2fa = new TOTP({ secret: Secret.fromBase32(begun.body.secret as string) });
      const codeNow = () => app2fa.generate({ timestamp: app.clock.now().getTime() });
      await http().post('/me/mfa/totp/confirm').set(bearer(user.token)).send({ code: codeNow() }).expect(200);

      const res = await logInThroughProvider(app, 'test', someone);
      expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/hasura_auth_session=[^;]/);
      const exchanged = await http()
        .post('/auth/exchange')
        .send({ code: redirectParameters(res).get('code') });
      expect(exchanged.status).toBe(401);
      expect(exchanged.body).toMatchObject({ error: { code: 'MFA_REQUIRED' }, challenge: expect.any(String) });
      app.clock.advanceSeconds(30);
      const finished = await http()
        .post('/login/mfa')
        .send({ challenge: exchanged.body.challenge, code: codeNow() })
        .expect(200);
      const me = await http().get('/me').set(bearer(finished.body.token)).expect(200);
      expect(me.body).toMatchObject({ id: user.id, session: { amr: ['otp'] } });

      // A browser that came without an app has nowhere to type the code: a page says so, and no cookie.
      const withoutApp = await logInThroughProvider(app, 'test', someone, {});
      expect(withoutApp.status).toBe(403);
      expect(withoutApp.headers['content-type']).toMatch(/^text\/html/);
      expect(withoutApp.text).toContain('second factor');
      expect(String(withoutApp.headers['set-cookie'] ?? '')).not.toMatch(/hasura_auth_session=[^;]/);
    });

    it('needs a session to start, and the same one at the callback', async () => {
      const res = await http().get('/auth/test?link=true').redirects(0);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^text\/html/);

      const user = await signUp(app);
      const cookie = `hasura_auth_session=${user.token}`;
      const started = await startLogin(app, 'test', { returnTo: RETURN_TO, link: true, cookie });
      const callback = await authorizeAtProvider(started.authorizationUrl, person());
      await http().post('/logout').set(bearer(user.token)).expect(204);
      const done = await deliverCallback(app, callback, `${started.flowCookie}; ${cookie}`);
      expect(redirectParameters(done).get('error')).toBe('login_required');
    });

    it('unlinks an identity, which then logs in to the account no more; never the last way in', async () => {
      const someone = person();
      const { id, token } = await exchangeCode(app, await logInThroughProvider(app, 'test', someone));
      const [only] = (await http().get('/me/identities').set(bearer(token)).expect(200)).body.identities;
      expect(only).toMatchObject({ provider: 'test', subject: someone.sub, lastUsedAt: expect.any(String) });
      // No password and no other identity: this is the last way in.
      const refused = await http().delete(`/me/identities/${only.id}`).set(bearer(token));
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('LAST_LOGIN_METHOD');

      await logInThroughProvider(app, 'trusting', person(), {
        returnTo: RETURN_TO,
        link: true,
        cookie: `hasura_auth_session=${token}`,
      });
      for (const malformed of [`x${only.id}`, `${only.id}x`]) {
        await http().delete(`/me/identities/${malformed}`).set(bearer(token)).expect(404);
      }
      await http().delete(`/me/identities/${only.id}`).set(bearer(token)).expect(204);
      await http().delete(`/me/identities/${only.id}`).set(bearer(token)).expect(404);
      const again = await exchangeCode(app, await logInThroughProvider(app, 'test', someone));
      expect(again.id).not.toBe(id);
    });

    it('of two unlinks at once that would each leave the other last, exactly one succeeds', async () => {
      const { token } = await exchangeCode(app, await logInThroughProvider(app, 'test', person()));
      await logInThroughProvider(app, 'trusting', person(), {
        returnTo: RETURN_TO,
        link: true,
        cookie: `hasura_auth_session=${token}`,
      });
      const identities = (await http().get('/me/identities').set(bearer(token)).expect(200)).body.identities;
      expect(identities).toHaveLength(2);
      const statuses = await Promise.all(
        identities.map(
          async ({ id }: { id: string }) => (await http().delete(`/me/identities/${id}`).set(bearer(token))).status,
        ),
      );
      expect(statuses.sort()).toEqual([204, 409]);
      expect((await http().get('/me/identities').set(bearer(token))).body.identities).toHaveLength(1);
    });

    it('shows identities in the admin API, where an admin may remove even the last', async () => {
      const someone = person({ email: uniqueEmail() });
      const { id } = await exchangeCode(app, await logInThroughProvider(app, 'test', someone));
      const user = await http().get(`/admin/users/${id}`).set(withAdminSecret).expect(200);
      expect(user.body.identities).toEqual([
        {
          id: expect.any(String),
          provider: 'test',
          issuer: expect.any(String),
          subject: someone.sub,
          email: someone.email,
          createdAt: expect.any(String),
          lastUsedAt: expect.any(String),
        },
      ]);
      await http()
        .delete(`/admin/users/${id}/identities/${user.body.identities[0].id}`)
        .set(withAdminSecret)
        .expect(204);
      expect((await http().get(`/admin/users/${id}`).set(withAdminSecret)).body.identities).toEqual([]);
    });
  });

  describe('sends the browser back only where it is allowed', () => {
    it.each([
      '//evil.example',
      'https:evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      'https://evil.example',
      'https://app.example.com.evil.example/',
      'https://app.example.com@evil.example/',
      'https://user:pass@app.example.com/',
      '%2F%2Fevil.example',
      'javascript:alert(1)',
      'http://app.example.com/',
      `${PUBLIC_URL}/elsewhere`,
      `${PUBLIC_URL}/accounts-of-others`,
    ])('refuses %s', async (returnTo) => {
      const res = await http()
        .get(`/auth/test?returnTo=${encodeURIComponent(returnTo)}`)
        .redirects(0);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('ALLOWED_RETURN_URLS');
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it.each([
      [`${APP_ORIGIN}/deep/page?x=1`, `${APP_ORIGIN}/deep/page?x=1`],
      [`${PUBLIC_URL}/account/identities`, `${PUBLIC_URL}/account/identities`],
      ['/account', `${PUBLIC_URL}/account`],
    ])('admits %s', async (returnTo, expected) => {
      const res = await logInThroughProvider(app, 'test', person(), { returnTo });
      expect(res.headers.location).toMatch(new RegExp(`^${expected.replace(/[?.]/g, '\\$&')}[?&]code=`));
    });
  });

  it('answers 503 PROVIDER_UNAVAILABLE for a provider that cannot be reached, and stays ready', async () => {
    const page = await http().get('/auth/down').redirects(0);
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    // The first retry waits one second; the wait doubles with each failure, up to a minute.
    expect(page.headers['retry-after']).toBe('1');
    const back = await http()
      .get(`/auth/down?returnTo=${encodeURIComponent(RETURN_TO)}`)
      .redirects(0);
    expect(redirectParameters(back).get('error')).toBe('provider_unavailable');
    await http().get('/readyz').expect(200);
    await http().get('/auth/nobody').redirects(0).expect(404);
  });

  it('tries discovery again, after a backoff, once the provider answers', async () => {
    expect((await http().get('/auth/late').redirects(0)).status).toBe(503);
    const late = await startRogueOpenIdProvider(latePort);
    try {
      // Within the backoff, the provider is not asked again.
      expect((await http().get('/auth/late').redirects(0)).status).toBe(503);
      app.clock.advanceSeconds(1);
      const res = await http().get('/auth/late').redirects(0);
      expect(res.status).toBe(302);
      expect(res.headers.location).toMatch(new RegExp(`^${late.issuer}/authorize\\?`));
    } finally {
      await late.close();
    }
  });

  it('counts each login per provider, and records each failure with its reason', async () => {
    const before = app.logLines.length;
    await logInThroughProvider(app, 'test', person());
    await logInThroughProvider(app, 'test', person({ deny: true }));
    const events = app.logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ authEvent: 'login.succeeded', method: 'provider', provider: 'test', how: 'created' }),
        expect.objectContaining({
          authEvent: 'login.failed',
          method: 'provider',
          provider: 'test',
          reason: 'access_denied',
        }),
      ]),
    );
    expect(app.logLines.slice(before).join('\n')).not.toMatch(/code=|state=/);
    const metrics = await http().get('/metrics').set(bearer(METRICS_TOKEN)).expect(200);
    expect(metrics.text).toMatch(/^hasura_auth_provider_logins_total\{provider="test",outcome="success"\} [1-9]/m);
    expect(metrics.text).toMatch(
      /^hasura_auth_provider_logins_total\{provider="test",outcome="access_denied"\} [1-9]/m,
    );
  });

  describe('with other settings', () => {
    it('serves none of its routes when no provider is configured', async () => {
      const bare = await startPeerInstance(app, {});
      const statuses = [];
      for (const path of ['/auth/providers', '/auth/test', '/auth/test/callback', '/me/identities']) {
        statuses.push((await request(bare).get(path).redirects(0)).status);
      }
      statuses.push((await request(bare).post('/auth/exchange').send({ code: 'x' })).status);
      expect(statuses).toEqual([404, 404, 404, 404, 404]);
    });

    it('counts each start against the per-address login limit, and says so on a page', async () => {
      const limited = await startPeerInstance(app, {
        ...settings,
        LOGIN_LIMIT_PER_IP: '2/600',
        TRUST_PROXY: 'loopback',
      });
      // An address of its own: the counters are shared with every instance on the database.
      const client = { 'X-Forwarded-For': `198.51.100.${Math.floor(Math.random() * 250) + 1}` };
      const starts = [];
      for (let i = 0; i < 3; i++) starts.push(await request(limited).get('/auth/test').set(client).redirects(0));
      expect(starts.map((res) => res.status)).toEqual([302, 302, 429]);
      expect(starts[2]!.headers['content-type']).toMatch(/^text\/html/);
      expect(starts[2]!.headers['retry-after']).toMatch(/^\d+$/);
      expect(starts[2]!.text).toContain('Too many login attempts from this address.');
    });

    it('creates nobody when signing up is closed, and still logs in those it knows', async () => {
      const someone = person();
      const known = await exchangeCode(app, await logInThroughProvider(app, 'test', someone));
      const closed = { http: await startPeerInstance(app, { ...settings, SIGNUP: 'closed' }) };
      expect(redirectParameters(await logInThroughProvider(closed, 'test', person())).get('error')).toBe(
        'signup_closed',
      );
      expect((await exchangeCode(closed, await logInThroughProvider(closed, 'test', someone))).id).toBe(known.id);
    });
  });
});
