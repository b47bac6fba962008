import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import type { BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from '../support/admin';
import { launchChromium, PLATFORM_AUTHENTICATOR, watchedTab, type Chromium } from '../support/chromium';
import { freePort } from '../support/ports';
import { webhookGet } from '../support/requests';
import { enrolAuthenticatorApp } from '../support/second-factor';
import { bearer, PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from '../support/test-app';

/**
 * The account and admin pages in Debian's Chromium, as a person uses them: typing into the
 * fields a label names, pressing the buttons a screen reader would announce. Every page is
 * watched for a Content-Security-Policy violation or a script error, which Chromium reports on
 * the console.
 * With SCREENSHOTS=<directory>, each page is also saved there (the README's pictures).
 */
describe('the account and admin pages, in Chromium', () => {
  let app: TestApp;
  let origin: string;
  let chromium: Chromium;
  let browser: BrowserContext;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    // WebAuthn needs a domain for its RP ID: localhost, never 127.0.0.1.
    origin = `http://localhost:${port}`;
    app = await startTestApp({ PORT: String(port), ADMIN_SECRET });
    chromium = await launchChromium({ viewport: { width: 1100, height: 900 } });
    browser = chromium.context;
  });

  afterAll(async () => {
    await chromium?.close();
    await app?.close();
  });

  /** A fresh tab with no cookie, whose console errors (CSP violations among them) are collected. */
  /** A fresh tab with no cookie, watched for console errors. */
  async function newTab(): Promise<Page> {
    await browser.clearCookies();
    return watchedTab(browser, consoleErrors);
  }

  afterEach(() => {
    const errors = consoleErrors.splice(0);
    if (errors.length > 0) throw new Error(`the pages logged errors: ${errors.join('\n')}`);
  });

  const screenshot = async (page: Page, name: string) => {
    const directory = process.env.SCREENSHOTS;
    if (directory !== undefined) await page.screenshot({ path: path.join(directory, `${name}.png`), fullPage: true });
  };

  async function logIn(page: Page, username: string, next = '/account') {
    await page.goto(`${origin}${next}`);
    expect(new URL(page.url()).pathname).toBe('/account/login');
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  const codeAt = (totp: TOTP) => totp.generate({ timestamp: app.clock.now().getTime() });

  it('a user sets up an authenticator app from /account by reading the key on the page, and logs in with it', async () => {
    const user = await signUp(app);
    const page = await newTab();
    await logIn(page, user.username);
    await page.waitForURL(`${origin}/account`);
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await screenshot(page, 'account');

    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor();
    await screenshot(page, 'totp-enrolment');
    const key = (await page.locator('#totp-secret').textContent())!;
    const totp = new TOTP({ secret: Secret.fromBase32(key) });
    await page.getByLabel('The code the app shows').fill(codeAt(totp));
    await page.getByRole('button', { name: 'Turn it on' }).click();
    await page.getByRole('heading', { name: 'The authenticator app is on' }).waitFor();
    expect(await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count()).toBe(10);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${origin}/account/login`);
    await webhookGet(app, user.token).expect(200);

    app.clock.advanceSeconds(30);
    await logIn(page, user.username);
    await page.getByLabel('The code your authenticator app shows, or a recovery code').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('The code is incorrect');
    await page.getByLabel('The code your authenticator app shows, or a recovery code').fill(codeAt(totp));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${origin}/account`);
    expect(await page.getByText('An authenticator app is set up.').count()).toBe(1);
    await page.close();
  });

  it('an admin finds a user on /admin and resets their second factor, which ends their sessions', async () => {
    const adminName = uniqueUsername('page-admin');
    await request(app.http)
      .post('/admin/users')
      .set(withAdminSecret)
      .send({ username: adminName, password: PASSWORD, roles: ['admin'] })
      .expect(201);
    const user = await signUp(app);
    await enrolAuthenticatorApp(app, user.token);

    const page = await newTab();
    await logIn(page, adminName, '/admin');
    await page.waitForURL(`${origin}/admin`);
    await page.getByLabel('Username or email contains').fill(user.username);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/search=/);
    await screenshot(page, 'admin');
    await page.getByRole('button', { name: `Reset the second factor of ${user.username}` }).click();
    await page.waitForURL(`${origin}/admin?done=mfa-reset`);
    expect(await page.getByRole('status').textContent()).toContain('second factors are removed');

    await webhookGet(app, user.token).expect(401);
    const token = (await request(app.http).post('/login').send({ username: user.username, password: PASSWORD })).body
      .token as string;
    expect((await request(app.http).get('/me/mfa').set(bearer(token)).expect(200)).body.totp).toBe(false);
    await page.close();
  });

  it('a user adds a passkey with the passkeys page’s script, renames it and removes it', async () => {
    const user = await signUp(app);
    const page = await newTab();
    const cdp = await browser.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: PLATFORM_AUTHENTICATOR });
    await logIn(page, user.username);
    await page.waitForURL(`${origin}/account`);
    await page.getByRole('link', { name: 'Manage passkeys' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Test laptop');
    await page.getByRole('button', { name: 'Add a passkey with this browser' }).click();
    await page.waitForURL(`${origin}/account/passkeys?done=passkey-added`);
    await screenshot(page, 'passkeys');
    const listed = await request(app.http).get('/me/passkeys').set(bearer(user.token)).expect(200);
    expect(listed.body.passkeys).toEqual([expect.objectContaining({ name: 'Test laptop' })]);

    await page.getByRole('textbox', { name: 'Name' }).first().fill('Work laptop');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.waitForURL(/done=passkey-renamed/);
    await page.getByRole('button', { name: 'Remove Work laptop' }).click();
    await page.waitForURL(/done=passkey-removed/);
    expect((await request(app.http).get('/me/passkeys').set(bearer(user.token)).expect(200)).body.passkeys).toEqual([]);
    await page.close();
  });

  it('the login page, as the README shows it', async () => {
    const page = await newTab();
    await page.goto(`${origin}/account/login`);
    await page.getByLabel('Username or email').fill('someone');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('The username or password is incorrect.');
    expect(await page.getByLabel('Username or email').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'login');
    await page.close();
  });
});
