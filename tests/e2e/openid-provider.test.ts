import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import type { BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { withAdminSecret } from '../support/admin';
import { launchChromium, watchedTab, type Chromium } from '../support/chromium';
import { discover, startProviderApp } from '../support/openid-apps';
import { freePort } from '../support/ports';
import { PASSWORD, signUp, type TestApp } from '../support/test-app';

/**
 * The hosted login, in Debian's Chromium, as a person meets it: an app sends them to /authorize,
 * they log in on this service's page, agree to what a third-party app asks, and land back on the
 * app with a code that the app redeems. Every page is watched for a Content-Security-Policy
 * violation or a script error, which Chromium reports on the console.
 */
describe('logging in to an app through this service, in Chromium', () => {
  let app: TestApp & { issuer: string };
  let chromium: Chromium;
  let browser: BrowserContext;
  let appServer: Server;
  let appOrigin: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    // The app: a page at its callback, where the browser lands with the code, and a logo.
    const appPort = await freePort();
    appOrigin = `http://localhost:${appPort}`;
    appServer = createServer((req, res) => {
      if (req.url === '/logo.svg') {
        res
          .writeHead(200, { 'Content-Type': 'image/svg+xml' })
          .end('<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><circle cx="24" cy="24" r="20"/></svg>');
        return;
      }
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end('<!doctype html><title>App</title><h1>Back in the app</h1>');
    });
    await new Promise<void>((resolve) => appServer.listen(appPort, '127.0.0.1', resolve));
    app = await startProviderApp({ LOGO_URL: `${appOrigin}/logo.svg` });
    chromium = await launchChromium();
    browser = chromium.context;
  });

  afterAll(async () => {
    await chromium?.close();
    await new Promise((resolve) => appServer?.close(resolve));
    await app?.close();
  });

  afterEach(() => {
    const errors = consoleErrors.splice(0);
    if (errors.length > 0) throw new Error(`the pages logged errors: ${errors.join('\n')}`);
  });

  const newTab = () => watchedTab(browser, consoleErrors);

  async function registerApp(body: Record<string, unknown>) {
    const created = await request(app.http)
      .post('/admin/clients')
      .set(withAdminSecret)
      .send({ type: 'public', redirectUris: [`${appOrigin}/callback`], ...body })
      .expect(201);
    return { clientId: created.body.clientId as string, config: await discover(app, created.body.clientId) };
  }

  /** The app sends the browser to log in; answers what it needs to redeem the code. */
  async function startLogin(page: Page, config: oidc.Configuration) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${appOrigin}/callback`,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    });
    await page.goto(url.href);
    return { codeVerifier, state };
  }

  it('a person logs in, agrees to a third-party app, and lands back in it; a second app needs no login', async () => {
    const user = await signUp(app);
    const thirdParty = await registerApp({ name: 'Photo printer' });
    const page = await newTab();
    const login = await startLogin(page, thirdParty.config);

    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await page.getByText('Photo printer').count()).toBeGreaterThan(0);
    // The logo loads: the page's policy lets LOGO_URL's origin in.
    const logo = page.getByRole('img');
    await logo.waitFor();
    expect(await logo.evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(
      0,
    );
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('The username or password is incorrect.');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    expect(await page.getByText('Your username and display name').count()).toBe(1);
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL((url) => url.origin === appOrigin);
    const tokens = await oidc.authorizationCodeGrant(thirdParty.config, new URL(page.url()), {
      pkceCodeVerifier: login.codeVerifier,
      expectedState: login.state,
    });
    expect(tokens.claims()!.sub).toBe(String(user.id));

    // Single sign-on: a first-party app gets the person back without a page.
    const own = await registerApp({ name: 'Our own app', firstParty: true });
    const second = await startLogin(page, own.config);
    await page.waitForURL((url) => url.origin === appOrigin);
    const ownTokens = await oidc.authorizationCodeGrant(own.config, new URL(page.url()), {
      pkceCodeVerifier: second.codeVerifier,
      expectedState: second.state,
    });
    expect(ownTokens.claims()!.sub).toBe(String(user.id));
    await page.close();
  });

  it('a newcomer follows the sign-up link of the login page, and lands in the app with a new account', async () => {
    const own = await registerApp({ name: 'Our own app', firstParty: true });
    // Someone else at this browser: the last test's login is not theirs.
    await browser.clearCookies();
    const page = await newTab();
    const login = await startLogin(page, own.config);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    const username = `newcomer-${Date.now()}`;
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create the account' }).click();

    await page.waitForURL((url) => url.origin === appOrigin);
    const tokens = await oidc.authorizationCodeGrant(own.config, new URL(page.url()), {
      pkceCodeVerifier: login.codeVerifier,
      expectedState: login.state,
    });
    expect(tokens.claims()).toMatchObject({ amr: ['pwd'] });
    const userinfo = await oidc.fetchUserInfo(own.config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo.preferred_username).toBe(username);
    await page.close();
  });
});
