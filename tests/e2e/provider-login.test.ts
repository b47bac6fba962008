import request from 'supertest';
import { chromium, type Browser } from 'playwright-core';
import { registerClient, testProviderEntry } from '../support/identity-providers';
import { freePort } from '../support/ports';
import { startTestApp, uniqueUsername, type TestApp } from '../support/test-app';

/** Logging in through an OpenID Provider in a real Chromium, as a person clicks through it. */
describe('logging in through an identity provider, in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let publicUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    // One host string everywhere: the provider is at 127.0.0.1 too.
    publicUrl = `http://127.0.0.1:${port}`;
    const client = await registerClient([`${publicUrl}/auth/test/callback`]);
    app = await startTestApp({
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      IDENTITY_PROVIDERS: JSON.stringify([testProviderEntry('test', client)]),
    });
    browser = await chromium.launch({
      executablePath: globalThis.CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('goes to the provider, logs in there, and comes back signed in with a cookie session', async () => {
    const page = await (await browser.newContext()).newPage();
    const username = uniqueUsername('chromium');
    await page.goto(`${publicUrl}/auth/test?returnTo=${encodeURIComponent('/me')}`);
    // The provider's login page.
    expect(await page.textContent('h1')).toBe('Test provider');
    await page.fill('input[name=sub]', `subject-${username}`);
    await page.fill('input[name=email]', `${username}@example.com`);
    await page.check('input[name=email_verified]');
    await page.fill('input[name=preferred_username]', username);
    await Promise.all([page.waitForURL(`${publicUrl}/me?code=*`), page.click('button[value=allow]')]);

    // Back at returnTo, which here is GET /me: the browser's cookie is a session of the new user.
    const me = JSON.parse((await page.textContent('body')) ?? '') as Record<string, unknown>;
    expect(me).toMatchObject({ username, email: `${username}@example.com`, emailVerified: true });
    // The code in the address bar is for apps that want a bearer token instead.
    const code = new URL(page.url()).searchParams.get('code');
    const exchanged = await request(app.http).post('/auth/exchange').send({ code }).expect(200);
    expect(exchanged.body.username).toBe(username);
  });

  it('shows a page, not a stack trace, when the flow was not started in this browser', async () => {
    const page = await (await browser.newContext()).newPage();
    const res = await page.goto(`${publicUrl}/auth/test/callback?code=stolen&state=${'A'.repeat(43)}`);
    expect(res?.status()).toBe(400);
    expect(await page.textContent('h1')).toBe('Login failed');
    expect(await page.textContent('body')).toMatch(/not started here/);
  });
});
