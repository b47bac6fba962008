import * as oidc from 'openid-client';
import request from 'supertest';
import { withAdminSecret } from './support/admin';
import {
  APP_ORIGIN,
  RETURN_TO,
  authorizeAtProvider,
  callbackUrlOf,
  exchangeCode,
  logInThroughProvider,
  registerClient,
  testProviderEntry,
  type PersonAtProvider,
} from './support/identity-providers';
import {
  Browser,
  actionOf,
  authorizationOf,
  fieldOf,
  redeem,
  registerApp,
  startProviderApp,
  type RegisteredApp,
} from './support/openid-apps';
import { enrolAuthenticatorApp } from './support/second-factor';
import { PASSWORD, signUp, uniqueUsername, type TestApp } from './support/test-app';

/** The hosted login page of a fresh authorization, and the browser that holds its cookie. */
async function hostedLoginPage(registered: RegisteredApp) {
  const browser = new Browser();
  const authorization = await authorizationOf(registered);
  const page = (await browser.follow(authorization.url)) as Response;
  const html = await page.text();
  return { browser, authorization, page, html, action: new URL(actionOf(html, '/login'), page.url) };
}

describe('the OpenID Provider’s hosted pages', () => {
  let app: TestApp & { issuer: string };
  let registered: RegisteredApp;
  beforeAll(async () => {
    app = await startProviderApp({
      LOGIN_FAILURE_LIMIT_PER_USER_IP: '3/900',
      LOGO_URL: 'https://cdn.example.com/logo.svg',
    });
    registered = await registerApp(app, { firstParty: true, name: '<b>Bold</b> app' });
  });
  afterAll(() => app.close());

  it('are sent with a strict policy that still lets the form lead back to the app, never cached or framed', async () => {
    const { page, html } = await hostedLoginPage(registered);
    expect(page.status).toBe(200);
    const policy = page.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('form-action');
    expect(policy).not.toContain('script-src');
    // The logo may load from LOGO_URL's origin, and nothing else may.
    expect(policy).toContain('img-src https://cdn.example.com');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    // What the page shows is escaped, the field labels are tied to their fields, and the logo is there.
    expect(html).toContain('&lt;b&gt;Bold&lt;/b&gt; app');
    expect(html).not.toContain('<b>Bold</b>');
    expect(html).toContain('<label for="username">');
    expect(html).toContain('<label for="password">');
    expect(html).toContain('src="https://cdn.example.com/logo.svg"');
  });

  it('answer an unknown user as a wrong password, in words, and say so when the rate limit is reached', async () => {
    const user = await signUp(app);
    const { browser, html, action } = await hostedLoginPage(registered);
    const csrf = fieldOf(html, 'csrf');
    const unknown = await browser.go(action, {
      form: { csrf, username: uniqueUsername('nobody'), password: PASSWORD },
    });
    const wrong = await browser.go(action, { form: { csrf, username: user.username, password: 'not it' } });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const [unknownPage, wrongPage] = [await unknown.text(), await wrong.text()];
    expect(unknownPage).toContain('The username or password is incorrect.');
    expect(wrongPage).toContain('The username or password is incorrect.');
    expect(wrongPage).toContain('aria-describedby="login-error"');

    for (let attempt = 0; attempt < 2; attempt += 1) {
      await browser.go(action, { form: { csrf, username: user.username, password: 'not it' } });
    }
    const limited = await browser.go(action, { form: { csrf, username: user.username, password: PASSWORD } });
    expect(limited.status).toBe(429);
    expect(await limited.text()).toContain('Too many failed logins to this account. Try again in 900 seconds.');
  });

  it('refuse a form without the page’s CSRF field, or posted from another site', async () => {
    const user = await signUp(app);
    const { browser, html, action } = await hostedLoginPage(registered);
    const forged = await browser.go(action, { form: { csrf: 'forged', username: user.username, password: PASSWORD } });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('Error code: CSRF_REJECTED');

    const crossSite = await fetch(action, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Sec-Fetch-Site': 'cross-site',
        Cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      body: new URLSearchParams({ csrf: fieldOf(html, 'csrf'), username: user.username, password: PASSWORD }),
    });
    expect(crossSite.status).toBe(403);
  });

  it('ask for the second factor of an account that has one, and record both in the ID token', async () => {
    const user = await signUp(app);
    const authenticator = await enrolAuthenticatorApp(app, user.token);
    const login = await hostedLoginPage(registered);
    const { browser, authorization } = login;
    const secondStep = (await browser.follow(login.action, {
      form: { csrf: fieldOf(login.html, 'csrf'), username: user.username, password: PASSWORD },
    })) as Response;
    expect(secondStep.status).toBe(401);
    const html = await secondStep.text();
    expect(html).toContain('This account has a second factor.');

    const action = new URL(actionOf(html, '/mfa'), secondStep.url);
    const form = { csrf: fieldOf(html, 'csrf'), challenge: fieldOf(html, 'challenge') };
    const wrong = await browser.go(action, { form: { ...form, code: '000000' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('The code is incorrect');

    // The code of the next step: the one that confirmed the app was used.
    app.clock.advanceSeconds(30);
    const landed = (await browser.follow(action, { form: { ...form, code: authenticator.codeNow() } })) as URL;
    const tokens = await redeem(registered, landed, authorization);
    expect(tokens.claims()).toMatchObject({ sub: String(user.id), amr: ['pwd', 'otp'] });
  });

  it('say a login is over once its interaction is, without a stack trace', async () => {
    const { browser, html, action } = await hostedLoginPage(registered);
    browser.cookies.clear();
    const res = await browser.go(action, { form: { csrf: fieldOf(html, 'csrf'), username: 'x', password: 'y' } });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Error code: INTERACTION_EXPIRED');
    expect(page).not.toMatch(/at .*\.js:\d+/);
  });

  it('believe X-Forwarded-Proto from a proxy TRUST_PROXY names, as Express does, and from no one else', async () => {
    const protocolSeenBy = async (target: { issuer: string }) => {
      const res = await fetch(`${target.issuer}/.well-known/openid-configuration`, {
        headers: { 'X-Forwarded-Proto': 'https' },
      });
      return new URL(((await res.json()) as { authorization_endpoint: string }).authorization_endpoint).protocol;
    };
    expect(await protocolSeenBy(app)).toBe('http:');
    const behindProxy = await startProviderApp({ TRUST_PROXY: '127.0.0.1' });
    try {
      expect(await protocolSeenBy(behindProxy)).toBe('https:');
    } finally {
      await behindProxy.close();
    }
  });

  it('show a client removed meanwhile as gone', async () => {
    const doomed = await registerApp(app, { firstParty: true });
    const { browser, html, action } = await hostedLoginPage(doomed);
    await request(app.http).delete(`/admin/clients/${doomed.clientId}`).set(withAdminSecret).expect(204);
    const user = await signUp(app);
    const res = await browser.follow(action, {
      form: { csrf: fieldOf(html, 'csrf'), username: user.username, password: PASSWORD },
    });
    expect(res).toBeInstanceOf(Response);
    expect(await (res as Response).text()).toContain('Error code: invalid_client');
  });
});

/** The link of the page whose text is `text`. */
function linkOf(page: string, text: string): string {
  const match = new RegExp(`href="([^"]*)">${text}</a>`).exec(page);
  if (!match) throw new Error(`no link "${text}" on the page`);
  return match[1]!.replace(/&amp;/g, '&');
}

describe('the hosted login’s other ways in: an identity provider, sign-up, a forgotten password', () => {
  let app: TestApp & { issuer: string };
  let registered: RegisteredApp;
  beforeAll(async () => {
    app = await startProviderApp(async (issuer) => ({
      ALLOWED_RETURN_URLS: APP_ORIGIN,
      IDENTITY_PROVIDERS: JSON.stringify([
        testProviderEntry('test', await registerClient([callbackUrlOf('test', issuer)])),
      ]),
    }));
    registered = await registerApp(app, { firstParty: true });
  });
  afterAll(() => app.close());

  /** From the hosted login to the provider's button's end: the app (a URL) or a page of the service. */
  async function throughProvider(login: Awaited<ReturnType<typeof hostedLoginPage>>, person: PersonAtProvider) {
    const { browser, html } = login;
    const started = await browser.go(new URL(linkOf(html, 'Test test'), app.issuer));
    expect(started.status).toBe(302);
    const callback = await authorizeAtProvider(new URL(started.headers.get('location')!), person);
    return browser.follow(callback);
  }

  it('offer each identity provider, whose login comes back into the same login and on to the app', async () => {
    const login = await hostedLoginPage(registered);
    const person = { sub: `hosted-${uniqueUsername()}`, preferredUsername: uniqueUsername('fed') };
    const landed = await throughProvider(login, person);
    expect(landed).toBeInstanceOf(URL);
    const tokens = await redeem(registered, landed as URL, login.authorization);
    const userinfo = await oidc.fetchUserInfo(registered.config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo.preferred_username).toBe(person.preferredUsername);
    // The provider login made the provider's login session, and no cookie session of the API.
    expect([...login.browser.cookies.keys()].filter((name) => name.startsWith('hasura_auth'))).toEqual([]);
  });

  it('show a refusal at the identity provider on the login form, where the login goes on', async () => {
    const login = await hostedLoginPage(registered);
    const refused = (await throughProvider(login, { sub: 'someone', deny: true })) as Response;
    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(page).toContain('The login was cancelled at the provider.');

    const user = await signUp(app);
    const landed = await login.browser.follow(new URL(actionOf(page, '/login'), app.issuer), {
      form: { csrf: fieldOf(page, 'csrf'), username: user.username, password: PASSWORD },
    });
    const tokens = await redeem(registered, landed as URL, login.authorization);
    expect(tokens.claims()!.sub).toBe(String(user.id));
  });

  it('ask for the second factor of an account that logs in through a provider', async () => {
    const person = { sub: `hosted-${uniqueUsername()}`, preferredUsername: uniqueUsername('fed') };
    const account = await exchangeCode(app, await logInThroughProvider(app, 'test', person, { returnTo: RETURN_TO }));
    const authenticator = await enrolAuthenticatorApp(app, account.token);

    const login = await hostedLoginPage(registered);
    const secondStep = (await throughProvider(login, person)) as Response;
    expect(secondStep.status).toBe(401);
    const html = await secondStep.text();
    expect(html).toContain('This account has a second factor.');
    app.clock.advanceSeconds(30);
    const landed = await login.browser.follow(new URL(actionOf(html, '/mfa'), app.issuer), {
      form: { csrf: fieldOf(html, 'csrf'), challenge: fieldOf(html, 'challenge'), code: authenticator.codeNow() },
    });
    const tokens = await redeem(registered, landed as URL, login.authorization);
    expect(tokens.claims()).toMatchObject({ sub: String(account.id), amr: ['otp'] });
  });

  it('refuse a provider login’s code brought to another browser’s login', async () => {
    const person = { sub: `hosted-${uniqueUsername()}` };
    const victim = await hostedLoginPage(registered);
    const attacker = await hostedLoginPage(registered);
    // The attacker's own login through the provider, stopped where it would come back.
    const started = await attacker.browser.go(new URL(linkOf(attacker.html, 'Test test'), app.issuer));
    const callback = await authorizeAtProvider(new URL(started.headers.get('location')!), person);
    const back = new URL((await attacker.browser.go(callback)).headers.get('location')!);
    const victimUid = new URL(victim.action).pathname.split('/')[2]!;
    back.pathname = `/interaction/${victimUid}/identity`;
    const res = await new Browser().go(back);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('INTERACTION_EXPIRED');
  });

  it('sign a new user up, logged in to the app at once, and give the form back with the reason', async () => {
    const login = await hostedLoginPage(registered);
    const signupPage = await login.browser.go(new URL(linkOf(login.html, 'Create an account'), app.issuer));
    expect(signupPage.status).toBe(200);
    const html = await signupPage.text();
    const action = new URL(actionOf(html, '/signup'), app.issuer);
    const username = uniqueUsername('new');
    const weak = await login.browser.go(action, { form: { csrf: fieldOf(html, 'csrf'), username, password: 'short' } });
    expect(weak.status).toBe(400);
    const again = await weak.text();
    expect(again).toContain('role="alert"');
    expect(again).toContain(`value="${username}"`);

    const landed = await login.browser.follow(action, {
      form: { csrf: fieldOf(again, 'csrf'), username, email: '', password: PASSWORD },
    });
    const tokens = await redeem(registered, landed as URL, login.authorization);
    expect(tokens.claims()).toMatchObject({ amr: ['pwd'] });
    const me = await request(app.http).post('/login').send({ username, password: PASSWORD }).expect(200);
    expect(tokens.claims()!.sub).toBe(String(me.body.id));
  });

  it('link to the page for a forgotten password', async () => {
    const { html } = await hostedLoginPage(registered);
    const forgot = await request(app.http).get(linkOf(html, 'Forgot your password\\?'));
    expect(forgot.status).toBe(200);
    expect(forgot.text).toContain('action="/password/forgot/form"');
  });
});

describe('the hosted login where sign-up is closed', () => {
  let app: TestApp & { issuer: string };
  let registered: RegisteredApp;
  beforeAll(async () => {
    app = await startProviderApp({ SIGNUP: 'closed' });
    registered = await registerApp(app, { firstParty: true });
  });
  afterAll(() => app.close());

  it('offers no sign-up, and refuses one', async () => {
    const { browser, html, action } = await hostedLoginPage(registered);
    expect(html).not.toContain('Create an account');
    const uid = action.pathname.split('/')[2]!;
    const res = await browser.go(new URL(`/interaction/${uid}/signup`, app.issuer));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('SIGNUP_CLOSED');
  });
});
