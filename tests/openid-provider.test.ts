import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import request from 'supertest';
import { createRole, withAdminSecret } from './support/admin';
import {
  APP_CALLBACK,
  APP_LOGGED_OUT,
  Browser,
  actionOf,
  authorizationOf,
  consentAtHostedPage,
  fieldOf,
  logInAtHostedPage,
  logInThroughApp,
  redeem,
  registerApp,
  startLogoutReceiver,
  startProviderApp,
  type RegisteredApp,
} from './support/openid-apps';
import { statementsDuring } from './support/database';
import { verifyAsHasura } from './support/hasura-jwt-verifier';
import { fetchJwks, hasuraSecretOf, headerOf, payloadOf } from './support/jwt';
import { eventually } from './support/eventually';
import { changePassword, webhookGet, webhookPost } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody, statusAndCode } from './support/responses';
import { startPeerInstance, bearer, signUp, uniqueUsername, type SignedUpUser, type TestApp } from './support/test-app';

type ProviderApp = TestApp & { issuer: string };

const METRICS_TOKEN = 'a-metrics-token-for-the-scraper';

/** The value of one series of hasura_auth_openid_provider_events_total, 0 when it is not there yet. */
async function openIdEventCount(app: ProviderApp, labels: string): Promise<number> {
  const res = await request(app.http).get('/metrics').set(bearer(METRICS_TOKEN));
  const line = res.text
    .split('\n')
    .find((each) => each.startsWith(`hasura_auth_openid_provider_events_total{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

/** The log lines of one auth event. */
function authEventsOf(app: ProviderApp, authEvent: string): Record<string, unknown>[] {
  return app.logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.authEvent === authEvent);
}

/** What the app hears when it uses a refresh token: its new tokens, or the protocol's error code. */
async function refreshOutcome(registered: RegisteredApp, refreshToken: string) {
  try {
    return { tokens: await oidc.refreshTokenGrant(registered.config, refreshToken) };
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return { error: error.error };
    throw error;
  }
}

/** The status userinfo answers for the access token. */
async function userinfoStatus(app: ProviderApp, accessToken: string): Promise<number> {
  return (await fetch(`${app.issuer}/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } })).status;
}

/** Where a browser sent to the app's authorization URL ends: the app (with a code), or a page. */
async function whereAuthorizationLeads(browser: Browser, registered: RegisteredApp, extra?: Record<string, string>) {
  const authorization = await authorizationOf(registered, extra);
  return { authorization, landed: await browser.follow(authorization.url) };
}

describe('the OpenID Provider, for an app with openid-client', () => {
  let app: ProviderApp;
  let firstParty: RegisteredApp;
  beforeAll(async () => {
    app = await startProviderApp({ METRICS_TOKEN });
    firstParty = await registerApp(app, { firstParty: true });
  });
  afterAll(() => app.close());

  it('is discovered at PUBLIC_URL: code flow with S256 PKCE only, and the JWKS that Hasura reads', async () => {
    const metadata = firstParty.config.serverMetadata();
    expect(metadata).toMatchObject({
      issuer: app.issuer,
      authorization_endpoint: `${app.issuer}/authorize`,
      token_endpoint: `${app.issuer}/oauth/token`,
      userinfo_endpoint: `${app.issuer}/userinfo`,
      revocation_endpoint: `${app.issuer}/oauth/revoke`,
      end_session_endpoint: `${app.issuer}/oauth/logout`,
      jwks_uri: `${app.issuer}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    expect(metadata.grant_types_supported).not.toContain('implicit');
    expect(metadata.grant_types_supported).not.toContain('password');
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access', 'profile', 'email']));
    const jwks = await request(app.http).get('/.well-known/jwks.json');
    expect(jwks.headers['cache-control']).toMatch(/max-age=\d+/);
  });

  it('logs a user in with code and PKCE: an ID token signed with a key of the JWKS, and userinfo by scope', async () => {
    const user = await signUp(app);
    await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ email: `${user.username}@example.com`, emailVerified: true });
    const { tokens } = await logInThroughApp(new Browser(), firstParty, user.username);

    const { payload, protectedHeader } = await jwtVerify(
      tokens.id_token!,
      createRemoteJWKSet(new URL(`${app.issuer}/.well-known/jwks.json`)),
      { issuer: app.issuer, audience: firstParty.clientId },
    );
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: String(user.id), amr: ['pwd'] });
    expect(Math.abs(Number(payload.auth_time) - Date.now() / 1000)).toBeLessThan(60);

    const info = await oidc.fetchUserInfo(firstParty.config, tokens.access_token, String(user.id));
    expect(info).toEqual({
      sub: String(user.id),
      preferred_username: user.username,
      email: `${user.username}@example.com`,
      email_verified: true,
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
  });

  it('gives the second app a code without a login page while the login lives, and asks again for prompt=login', async () => {
    const other = await registerApp(app, { firstParty: true, name: 'Second app' });
    const user = await signUp(app);
    const browser = new Browser();
    await logInThroughApp(browser, firstParty, user.username);

    const { authorization, landed } = await whereAuthorizationLeads(browser, other);
    expect(landed).toBeInstanceOf(URL);
    const tokens = await redeem(other, landed as URL, authorization);
    expect(tokens.claims()!.sub).toBe(String(user.id));

    const again = await whereAuthorizationLeads(browser, other, { prompt: 'login' });
    expect(again.landed).toBeInstanceOf(Response);
    expect(await (again.landed as Response).text()).toContain('action="/interaction/');
  });

  it('answers prompt=none with a code while the login lives and login_required without one; max_age asks again', async () => {
    const user = await signUp(app);
    const browser = new Browser();
    const before = await whereAuthorizationLeads(browser, firstParty, { prompt: 'none' });
    expect((before.landed as URL).searchParams.get('error')).toBe('login_required');

    await logInThroughApp(browser, firstParty, user.username);
    const silent = await whereAuthorizationLeads(browser, firstParty, { prompt: 'none' });
    expect((silent.landed as URL).searchParams.get('code')).toEqual(expect.any(String));

    // A login older than max_age is asked for again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stale = await whereAuthorizationLeads(browser, firstParty, { max_age: '0' });
    expect(stale.landed).toBeInstanceOf(Response);
  });

  it('fills in login_hint, and shows the page again with the reason for a wrong password', async () => {
    const user = await signUp(app);
    const browser = new Browser();
    const { landed } = await whereAuthorizationLeads(browser, firstParty, { login_hint: user.username });
    const page = landed as Response;
    const html = await page.text();
    expect(html).toContain(`value="${user.username}"`);
    const action = new URL(actionOf(html, '/login'), page.url);
    const wrong = await browser.go(action, {
      form: { csrf: fieldOf(html, 'csrf'), username: user.username, password: 'not the password' },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('The username or password is incorrect.');
  });

  it('rotates refresh tokens, and a rotated one used again revokes the whole grant', async () => {
    const user = await signUp(app);
    const { tokens } = await logInThroughApp(new Browser(), firstParty, user.username);
    const first = await refreshOutcome(firstParty, tokens.refresh_token!);
    expect(first.tokens?.refresh_token).toEqual(expect.any(String));
    expect(first.tokens!.refresh_token).not.toBe(tokens.refresh_token);
    expect(await userinfoStatus(app, first.tokens!.access_token)).toBe(200);

    const revokedBefore = await openIdEventCount(app, 'event="grant_revoked",grant_type="",outcome="success"');
    expect(await refreshOutcome(firstParty, tokens.refresh_token!)).toEqual({ error: 'invalid_grant' });
    expect(await refreshOutcome(firstParty, first.tokens!.refresh_token!)).toEqual({ error: 'invalid_grant' });
    expect(await userinfoStatus(app, first.tokens!.access_token)).toBe(401);
    // Counted for the operator: the reuse as a refused grant, and the grant it revoked.
    expect(await openIdEventCount(app, 'event="grant_revoked",grant_type="",outcome="success"')).toBe(
      revokedBefore + 1,
    );
    expect(
      await openIdEventCount(app, 'event="token_grant",grant_type="refresh_token",outcome="invalid_grant"'),
    ).toBeGreaterThanOrEqual(2);
    // And logged as auth events: the login, each grant, and the reuse that revoked the grant.
    const ofThisLogin = { userId: String(user.id), clientId: firstParty.clientId };
    expect(authEventsOf(app, 'oidc.authorized')).toContainEqual(expect.objectContaining(ofThisLogin));
    const grants = authEventsOf(app, 'oidc.token_granted').filter((line) => line.userId === String(user.id));
    expect(grants.map((line) => line.grantType)).toEqual(['authorization_code', 'refresh_token']);
    expect(authEventsOf(app, 'oidc.grant_revoked')).toContainEqual(
      expect.objectContaining({ reason: 'refresh_token_reused', clientId: firstParty.clientId }),
    );
  });

  it('gives a first-party app that asks for offline_access a refresh token that outlives the login, with no consent page', async () => {
    /** Logs in through the app, ends the login at the provider on its own, and uses the refresh token. */
    const refreshAfterTheLoginEnds = async (extra: Record<string, string>) => {
      const user = await signUp(app);
      const browser = new Browser();
      const { authorization, landed: loginPage } = await whereAuthorizationLeads(browser, firstParty, extra);
      // From the login form straight back to the app: no consent page on the way.
      const callback = await logInAtHostedPage(browser, loginPage as Response, user.username);
      expect(callback).toBeInstanceOf(URL);
      const tokens = await redeem(firstParty, callback as URL, authorization);
      const listed = await request(app.http).get('/sessions').set(bearer(user.token));
      const login = listed.body.sessions.find((each: { kind: string }) => each.kind === 'op');
      await request(app.http).delete(`/sessions/${login.id}`).set(bearer(user.token)).expect(204);
      return { scope: tokens.scope, refreshed: await refreshOutcome(firstParty, tokens.refresh_token!) };
    };
    // OpenID Connect gives offline_access with prompt=consent; a first-party app is asked nothing.
    const offline = await refreshAfterTheLoginEnds({ prompt: 'consent' });
    expect(offline.scope?.split(' ')).toContain('offline_access');
    expect(offline.refreshed.tokens?.access_token).toEqual(expect.any(String));
    // Without it, the refresh token ends with the login.
    const online = await refreshAfterTheLoginEnds({});
    expect(online.scope?.split(' ')).not.toContain('offline_access');
    expect(online.refreshed).toEqual({ error: 'invalid_grant' });
  });

  it('lists the login in GET /sessions as kind op, and ending it there ends the single sign-on', async () => {
    const user = await signUp(app);
    const browser = new Browser();
    await logInThroughApp(browser, firstParty, user.username);
    const listed = await request(app.http).get('/sessions').set(bearer(user.token));
    const login = listed.body.sessions.find((each: { kind: string }) => each.kind === 'op');
    expect(login).toMatchObject({ kind: 'op', amr: ['pwd'] });

    expect((await request(app.http).delete(`/sessions/${login.id}`).set(bearer(user.token))).status).toBe(204);
    const { landed } = await whereAuthorizationLeads(browser, firstParty);
    expect(landed).toBeInstanceOf(Response);
  });

  it('logs out at the app’s request: the login ends here too, and the app is sent to its post-logout URI', async () => {
    const user = await signUp(app);
    const browser = new Browser();
    const { tokens } = await logInThroughApp(browser, firstParty, user.username);
    const logout = oidc.buildEndSessionUrl(firstParty.config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: APP_LOGGED_OUT,
    });
    const confirm = (await browser.follow(logout)) as Response;
    const html = await confirm.text();
    const action = new URL(actionOf(html, '/oauth/logout/confirm'), app.issuer);
    const done = await browser.follow(action, { form: { xsrf: fieldOf(html, 'xsrf'), logout: 'yes' } });
    expect((done as URL).href).toBe(APP_LOGGED_OUT);

    const listed = await request(app.http).get('/sessions').set(bearer(user.token));
    expect(listed.body.sessions.map((each: { kind: string }) => each.kind)).toEqual(['bearer']);
    const { landed } = await whereAuthorizationLeads(browser, firstParty);
    expect(landed).toBeInstanceOf(Response);
    expect(authEventsOf(app, 'oidc.logout')).toContainEqual(
      expect.objectContaining({ userId: String(user.id), clientId: firstParty.clientId }),
    );
  });

  it('sends a back-channel logout to an app that registered a URI, once', async () => {
    const receiver = await startLogoutReceiver();
    try {
      const registered = await registerApp(app, { firstParty: true, backchannelLogoutUri: receiver.url });
      const user = await signUp(app);
      const browser = new Browser();
      const { tokens } = await logInThroughApp(browser, registered, user.username);
      const confirm = (await browser.follow(
        oidc.buildEndSessionUrl(registered.config, { id_token_hint: tokens.id_token! }),
      )) as Response;
      const html = await confirm.text();
      await browser.follow(new URL(actionOf(html, '/oauth/logout/confirm'), app.issuer), {
        form: { xsrf: fieldOf(html, 'xsrf'), logout: 'yes' },
      });
      expect(receiver.tokens).toHaveLength(1);
      const { payload } = await jwtVerify(
        receiver.tokens[0]!,
        createRemoteJWKSet(new URL(`${app.issuer}/.well-known/jwks.json`)),
        { issuer: app.issuer, audience: registered.clientId },
      );
      expect(payload).toMatchObject({
        sub: String(user.id),
        sid: tokens.claims()!.sid,
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      });

      // The login session's end in `sessions` queued nothing more: a logout of another user,
      // queued after it, arrives alone.
      const other = await signUp(app);
      await logInThroughApp(new Browser(), registered, other.username);
      await request(app.http).post('/logout/all').set(bearer(other.token)).expect(204);
      await eventually(
        () => Promise.resolve(receiver.sidsFor(other.id)),
        (sids) => sids.length > 0,
        5000,
      );
      expect(receiver.sidsFor(user.id)).toEqual([tokens.claims()!.sid]);
    } finally {
      await receiver.close();
    }
  });

  it('asks a third-party app’s user to agree, once; a refusal reaches the app as access_denied', async () => {
    const thirdParty = await registerApp(app, { name: 'Someone else’s app' });
    const user = await signUp(app);
    const browser = new Browser();
    const { landed } = await whereAuthorizationLeads(browser, thirdParty);
    const consent = (await logInAtHostedPage(browser, landed as Response, user.username)) as Response;
    expect(consent.status).toBe(200);
    const page = await consent.text();
    expect(page).toContain('Someone else’s app');
    expect(page).toContain('Your email address');
    const refused = (await consentAtHostedPage(browser, { html: page, url: consent.url }, 'deny')) as URL;
    expect(refused.searchParams.get('error')).toBe('access_denied');

    // Once agreed, the next authorization goes straight back to the app.
    const again = await whereAuthorizationLeads(browser, thirdParty);
    const againPage = again.landed as Response;
    const agreed = await consentAtHostedPage(browser, { html: await againPage.text(), url: againPage.url }, 'allow');
    // The code is redeemed although the login session's cookie was renewed on the way.
    const tokens = await redeem(thirdParty, agreed as URL, again.authorization);
    expect(tokens.claims()!.sub).toBe(String(user.id));
    const third = await whereAuthorizationLeads(browser, thirdParty);
    expect(third.landed).toBeInstanceOf(URL);
  });
});

describe('the OpenID Provider refusing what the protocol refuses', () => {
  let app: ProviderApp;
  let registered: RegisteredApp;
  let user: SignedUpUser;
  beforeAll(async () => {
    app = await startProviderApp();
    registered = await registerApp(app, { firstParty: true });
    user = await signUp(app);
  });
  afterAll(() => app.close());

  /** A browser logged in, and the app's callback URL with a fresh code, not redeemed yet. */
  async function freshCode() {
    const browser = new Browser();
    const authorization = await authorizationOf(registered);
    const page = (await browser.follow(authorization.url)) as Response;
    const callback = (await logInAtHostedPage(browser, page, user.username)) as URL;
    return { authorization, callback };
  }

  async function tokenError(run: () => Promise<unknown>) {
    try {
      await run();
      return 'no error';
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError) return error.error;
      // A refused client is told so in WWW-Authenticate as well.
      if (error instanceof oidc.WWWAuthenticateChallengeError) return error.cause[0]?.parameters.error;
      throw error;
    }
  }

  it('refuses a redirect URI that is not registered exactly, on its own error page', async () => {
    const authorization = await authorizationOf(registered, { redirect_uri: `${APP_CALLBACK}/elsewhere` });
    const res = await fetch(authorization.url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Error code: invalid_redirect_uri');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('refuses an unknown client', async () => {
    const res = await fetch(`${app.issuer}/authorize?client_id=nobody&response_type=code&scope=openid`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Error code: invalid_client');
  });

  it('refuses an authorization without PKCE', async () => {
    const url = new URL(`${app.issuer}/authorize`);
    url.search = new URLSearchParams({
      client_id: registered.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: APP_CALLBACK,
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses the wrong PKCE verifier, and a code used twice', async () => {
    const { authorization, callback } = await freshCode();
    expect(
      await tokenError(() =>
        redeem(registered, callback, { ...authorization, codeVerifier: oidc.randomPKCECodeVerifier() }),
      ),
    ).toBe('invalid_grant');

    const second = await freshCode();
    const tokens = await redeem(registered, second.callback, second.authorization);
    expect(await tokenError(() => redeem(registered, second.callback, second.authorization))).toBe('invalid_grant');
    // Used twice, a code revokes what it gave.
    expect(await userinfoStatus(app, tokens.access_token)).toBe(401);
  });

  it('gives tokens for a code, and for a refresh token, to one of two requests that race with it', async () => {
    for (let round = 0; round < 5; round += 1) {
      const { authorization, callback } = await freshCode();
      const redeemed = await Promise.allSettled([
        redeem(registered, callback, authorization),
        redeem(registered, callback, authorization),
      ]);
      const winners = redeemed.flatMap((each) => (each.status === 'fulfilled' ? [each.value] : []));
      expect(winners).toHaveLength(1);

      // A code used twice revokes what it gave, when the second use comes after the first: a
      // refresh token of its own, then.
      const other = await freshCode();
      const tokens = await redeem(registered, other.callback, other.authorization);
      const refreshed = await Promise.all([
        refreshOutcome(registered, tokens.refresh_token!),
        refreshOutcome(registered, tokens.refresh_token!),
      ]);
      expect(refreshed.filter((each) => each.tokens !== undefined)).toHaveLength(1);
      expect(refreshed.filter((each) => each.error === 'invalid_grant')).toHaveLength(1);
    }
  });

  it("refuses another client's secret, and a client's old secret once it was rotated", async () => {
    const other = await registerApp(app, { firstParty: true });
    const { authorization, callback } = await freshCode();
    const impostor = await oidc.discovery(
      new URL(app.issuer),
      registered.clientId,
      undefined,
      oidc.ClientSecretBasic(other.clientSecret),
      { execute: [oidc.allowInsecureRequests] },
    );
    expect(await tokenError(() => redeem({ ...registered, config: impostor }, callback, authorization))).toBe(
      'invalid_client',
    );

    const rotated = await request(app.http).post(`/admin/clients/${other.clientId}/secret`).set(withAdminSecret);
    expect(rotated.status).toBe(200);
    const fresh = await oidc.discovery(
      new URL(app.issuer),
      other.clientId,
      undefined,
      oidc.ClientSecretBasic(rotated.body.clientSecret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const browser = new Browser();
    const { tokens } = await logInThroughApp(browser, { ...other, config: fresh }, user.username);
    expect(tokens.access_token).toEqual(expect.any(String));
    const { landed, authorization: next } = await whereAuthorizationLeads(browser, other);
    expect(await tokenError(() => redeem(other, landed as URL, next))).toBe('invalid_client');
  });
});

describe('the OpenID Provider’s tokens: the rules that end sessions, the webhook, and two instances', () => {
  let app: ProviderApp;
  let registered: RegisteredApp;
  let logoutReceiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  beforeAll(async () => {
    app = await startProviderApp();
    logoutReceiver = await startLogoutReceiver();
    registered = await registerApp(app, { firstParty: true, backchannelLogoutUri: logoutReceiver.url });
  });
  afterAll(async () => {
    await app.close();
    await logoutReceiver.close();
  });

  /** The sids of the back-channel logouts the app was sent for the user, once one came (or 5 s passed). */
  const backchannelLogoutsOf = (user: SignedUpUser) =>
    eventually(
      () => Promise.resolve(logoutReceiver.sidsFor(user.id)),
      (sids) => sids.length > 0,
      5000,
    );

  const rules: [string, (user: SignedUpUser) => Promise<unknown>][] = [
    ['logout everywhere', (user) => request(app.http).post('/logout/all').set(bearer(user.token)).expect(204)],
    [
      'a password change',
      (user) => changePassword(app, user.token, { newPassword: 'a whole new password 42' }).expect(200),
    ],
    [
      'disabling the user',
      (user) =>
        request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ disabled: true }).expect(200),
    ],
    [
      "the admin's order",
      (user) => request(app.http).delete(`/admin/users/${user.id}/sessions`).set(withAdminSecret).expect(204),
    ],
    [
      'a role change',
      async (user) => {
        const role = `op-${uniqueUsername('r')}`;
        await createRole(app, role);
        await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret).expect(204);
      },
    ],
    [
      'deleting the user',
      (user) => request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret).expect(204),
    ],
  ];

  it.each(rules)('ends the login, its grant and its tokens after %s, and tells the app', async (_rule, end) => {
    const user = await signUp(app);
    const browser = new Browser();
    const { tokens } = await logInThroughApp(browser, registered, user.username);
    expect(await userinfoStatus(app, tokens.access_token)).toBe(200);

    await end(user);
    expect(await userinfoStatus(app, tokens.access_token)).toBe(401);
    expect(await refreshOutcome(registered, tokens.refresh_token!)).toEqual({ error: 'invalid_grant' });
    const { landed } = await whereAuthorizationLeads(browser, registered);
    expect(landed).toBeInstanceOf(Response);
    // The app is told, as it is when it logs the user out itself.
    expect(await backchannelLogoutsOf(user)).toEqual([tokens.claims()!.sid]);
  });

  it('ends tokens that a refresh in flight was issuing when the user logged out everywhere', async () => {
    for (let round = 0; round < 5; round += 1) {
      const user = await signUp(app);
      const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
      const [refreshed] = await Promise.all([
        refreshOutcome(registered, tokens.refresh_token!),
        request(app.http).post('/logout/all').set(bearer(user.token)).expect(204),
      ]);
      // Whatever the refresh issued, it is dead; or it was refused.
      const outcome = refreshed.tokens
        ? [
            await userinfoStatus(app, refreshed.tokens.access_token),
            (await refreshOutcome(registered, refreshed.tokens.refresh_token!)).error,
          ]
        : [401, refreshed.error];
      expect(outcome).toEqual([401, 'invalid_grant']);
    }
  });

  it('makes a login that raced a password change dead on arrival', async () => {
    for (let round = 0; round < 5; round += 1) {
      const user = await signUp(app);
      const browser = new Browser();
      const authorization = await authorizationOf(registered);
      const page = (await browser.follow(authorization.url)) as Response;
      const [landed] = await Promise.all([
        logInAtHostedPage(browser, page, user.username),
        changePassword(app, user.token, { newPassword: 'a whole new password 42' }).expect(200),
      ]);
      if (!(landed instanceof URL)) continue;
      const outcome = await redeem(registered, landed, authorization).then(
        (tokens) => userinfoStatus(app, tokens.access_token),
        (error: unknown) => (error instanceof oidc.ResponseBodyError ? error.error : 'unexpected'),
      );
      expect([401, 'invalid_grant']).toContain(outcome);
    }
  });
  it('answers an access token as it answers a session, in both modes, with the user’s roles and variables', async () => {
    const user = await signUp(app);
    const role = `op-${uniqueUsername('r')}`;
    await createRole(app, role);
    await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret).expect(204);
    await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'x-hasura-org-id': '42' } })
      .expect(200);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username);

    for (const webhook of [webhookGet, webhookPost]) {
      expect(statusAndBody(await webhook(app, tokens.access_token))).toEqual({
        status: 200,
        body: expect.objectContaining({
          'X-Hasura-Role': 'user',
          'X-Hasura-User-Id': String(user.id),
          'X-Hasura-Org-Id': '42',
          'X-Hasura-Mfa': 'false',
        }),
      });
      expect((await webhook(app, tokens.access_token, { role })).body['X-Hasura-Role']).toBe(role);
    }
  });

  it('refuses the token once its grant is revoked, and once its user’s sessions end', async () => {
    const user = await signUp(app);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
    expect((await webhookGet(app, tokens.access_token)).status).toBe(200);
    // A rotated refresh token used again revokes the grant, and with it the access token.
    await refreshOutcome(registered, tokens.refresh_token!);
    await refreshOutcome(registered, tokens.refresh_token!);
    await eventually(
      async () => statusAndBody(await webhookGet(app, tokens.access_token)),
      (res) => res.status === 401,
    );

    const other = await signUp(app);
    const second = await logInThroughApp(new Browser(), registered, other.username);
    expect((await webhookGet(app, second.tokens.access_token)).status).toBe(200);
    await request(app.http).post('/logout/all').set(bearer(other.token)).expect(204);
    expect(
      await eventually(
        async () => statusAndBody(await webhookGet(app, second.tokens.access_token)),
        (res) => res.status === 401,
      ),
    ).toEqual(WEBHOOK_REFUSAL);
  });

  it('gives an app that names the Hasura resource a JWT that Hasura in JWT mode accepts with hasura-jwt-config', async () => {
    const user = await signUp(app);
    const role = `op-${uniqueUsername('r')}`;
    await createRole(app, role);
    await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret).expect(204);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username, {
      resource: 'urn:hasura:graphql',
      scope: 'openid hasura',
    });
    const verdict = await verifyAsHasura(hasuraSecretOf(app), {
      headers: { authorization: `Bearer ${tokens.access_token}`, 'x-hasura-role': role },
      nowSeconds: Math.floor(Date.now() / 1000),
      jwks: await fetchJwks(app),
    });
    expect(verdict).toEqual({
      ok: true,
      role,
      sessionVariables: expect.objectContaining({ 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'false' }),
    });
    expect(headerOf(tokens.access_token).typ).toBe('at+jwt');
    expect(payloadOf(tokens.access_token)).toMatchObject({ aud: 'hasura', iss: app.issuer, sub: String(user.id) });
  });

  it('answers the JWT access token at /webhook too, until its grant is revoked or its user’s sessions end; a forged one never', async () => {
    const hasuraLogin = (user: SignedUpUser) =>
      logInThroughApp(new Browser(), registered, user.username, {
        resource: 'urn:hasura:graphql',
        scope: 'openid hasura',
      });
    const user = await signUp(app);
    const { tokens } = await hasuraLogin(user);
    const answered = await webhookGet(app, tokens.access_token);
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ 'X-Hasura-User-Id': String(user.id), 'X-Hasura-Role': 'user' });
    expect((await webhookPost(app, tokens.access_token)).status).toBe(200);
    // The same claims, signed by another key; and the token with its signature cut.
    const [header, payload] = tokens.access_token.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    expect(statusAndBody(await webhookGet(app, forged))).toEqual(WEBHOOK_REFUSAL);
    // Its id alone is not a token.
    expect(statusAndBody(await webhookGet(app, String(payloadOf(tokens.access_token).jti)))).toEqual(WEBHOOK_REFUSAL);
    // It is Hasura's, not a key to the account.
    expect((await request(app.http).get('/me').set(bearer(tokens.access_token))).status).toBe(401);

    await refreshOutcome(registered, tokens.refresh_token!);
    await refreshOutcome(registered, tokens.refresh_token!);
    expect(statusAndBody(await webhookGet(app, tokens.access_token))).toEqual(WEBHOOK_REFUSAL);

    const other = await signUp(app);
    const second = await hasuraLogin(other);
    expect((await webhookGet(app, second.tokens.access_token)).status).toBe(200);
    await request(app.http).post('/logout/all').set(bearer(other.token)).expect(204);
    expect(statusAndBody(await webhookGet(app, second.tokens.access_token))).toEqual(WEBHOOK_REFUSAL);
  });

  it('refuses the token once the login it comes from is ended on its own', async () => {
    const user = await signUp(app);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
    expect((await webhookGet(app, tokens.access_token)).status).toBe(200);
    const listed = await request(app.http).get('/sessions').set(bearer(user.token));
    const login = listed.body.sessions.find((each: { kind: string }) => each.kind === 'op');
    await request(app.http).delete(`/sessions/${login.id}`).set(bearer(user.token)).expect(204);
    expect(
      await eventually(
        async () => statusAndBody(await webhookGet(app, tokens.access_token)),
        (res) => res.status === 401,
      ),
    ).toEqual(WEBHOOK_REFUSAL);
    expect(await userinfoStatus(app, tokens.access_token)).toBe(401);
    expect(await backchannelLogoutsOf(user)).toEqual([tokens.claims()!.sid]);
  });

  it('does not let an app’s access token manage the account through the API', async () => {
    const user = await signUp(app);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
    expect((await webhookGet(app, tokens.access_token)).status).toBe(200);
    expect(statusAndCode(await request(app.http).get('/me').set(bearer(tokens.access_token)))).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
    });
    const ended = await request(app.http).post('/logout/all').set(bearer(tokens.access_token));
    expect(ended.status).toBe(401);
  });

  it('refuses an access token of the provider that was never issued, without a query', async () => {
    const { tokens } = await logInThroughApp(new Browser(), registered, (await signUp(app)).username);
    const forged = `${tokens.access_token.slice(0, -4)}AAAA`;
    const statements = await statementsDuring(app.database.db, async () => {
      expect(statusAndBody(await webhookGet(app, forged))).toEqual(WEBHOOK_REFUSAL);
    });
    expect(statements).toEqual([]);
  });
  it('redeems on one instance a code made on the other, and sees there a logout made here', async () => {
    const registered = await registerApp(app, { firstParty: true });
    const peer = await startPeerInstance(app, { PUBLIC_URL: app.issuer, ADMIN_SECRET: 'test-admin-secret-0123456789' });
    // The discovered metadata, as data: its one method left out.
    const metadata = JSON.parse(JSON.stringify(registered.config.serverMetadata())) as oidc.ServerMetadata;
    const atPeer = new oidc.Configuration(
      {
        ...metadata,
        token_endpoint: `${peer}/oauth/token`,
        userinfo_endpoint: `${peer}/userinfo`,
      },
      registered.clientId,
      undefined,
      oidc.ClientSecretBasic(registered.clientSecret),
    );
    oidc.allowInsecureRequests(atPeer);
    const user = await signUp(app);
    const browser = new Browser();
    const authorization = await authorizationOf(registered);
    const page = (await browser.follow(authorization.url)) as Response;
    const callback = (await logInAtHostedPage(browser, page, user.username)) as URL;
    const tokens = await redeem({ ...registered, config: atPeer }, callback, authorization);
    expect(tokens.claims()!.sub).toBe(String(user.id));

    await request(app.http).post('/logout/all').set(bearer(user.token)).expect(204);
    const status = (await fetch(`${peer}/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } }))
      .status;
    expect(status).toBe(401);
  });
});

describe('the OpenID Provider’s login that times out', () => {
  let app: ProviderApp;
  beforeAll(async () => {
    app = await startProviderApp({ SESSION_IDLE_TIMEOUT_SECONDS: '600' });
  });
  afterAll(() => app.close());

  it('is told to the app by back-channel logout when the purge removes it', async () => {
    const receiver = await startLogoutReceiver();
    try {
      const registered = await registerApp(app, { firstParty: true, backchannelLogoutUri: receiver.url });
      const user = await signUp(app);
      const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
      app.clock.advanceSeconds(601);
      expect(await app.services.purgeDeadSessions()).toBeGreaterThan(0);
      // The purge tells no instance (a dead session is refused anyway); the next notice, or the
      // poll, sends what it queued. Here, another session's logout is that notice.
      const other = await signUp(app);
      await request(app.http).post('/logout').set(bearer(other.token)).expect(204);
      expect(
        await eventually(
          () => Promise.resolve(receiver.sidsFor(user.id)),
          (sids) => sids.length > 0,
          5000,
        ),
      ).toEqual([tokens.claims()!.sid]);
    } finally {
      await receiver.close();
    }
  });
});
