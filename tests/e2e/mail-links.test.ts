import request from 'supertest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { linkIn, startMailbox, type Mailbox } from '../support/mailbox';
import { PASSWORD, startTestApp, uniqueUsername, type TestApp } from '../support/test-app';

/** The pages that links in mail open, used by a person in a real Chromium, without JavaScript. */
describe('the pages of links in mail, in Chromium', () => {
  let app: TestApp;
  let mailbox: Mailbox;
  let browser: Browser;
  let page: Page;
  const policyViolations: string[] = [];

  beforeAll(async () => {
    mailbox = await startMailbox();
    app = await startTestApp({ SMTP_URL: mailbox.smtpUrl, PUBLIC_URL: 'https://auth.example.com' });
    browser = await chromium.launch({
      executablePath: globalThis.CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    // As in a mail client that opens links in a browser where scripts are off.
    page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    // A Content-Security-Policy violation (the page's own style refused, say) shows here.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/.test(message.text()))
        policyViolations.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await mailbox?.close();
  });

  /** The mailed link, on this test's server: PUBLIC_URL names where people reach it in production. */
  const onTestServer = (url: string) => {
    const link = new URL(url);
    return `${app.http}${link.pathname}${link.search}`;
  };

  it('verifies an address with one click on the page the link opens', async () => {
    const username = uniqueUsername();
    const email = `${username}@example.com`;
    const signup = await request(app.http).post('/signup').send({ username, password: PASSWORD, email });
    const link = linkIn(await mailbox.waitForMail(email, /^Verify/));

    await page.goto(onTestServer(link.url));
    expect(await page.textContent('h1')).toBe('Verify your email address');
    await page.click('button[type=submit]');

    expect(await page.textContent('h1')).toBe('Address verified');
    expect(await page.textContent('body')).toContain(`${email} is now verified for ${username}`);
    const me = await request(app.http).get('/me').set('Authorization', `Bearer ${signup.body.token}`);
    expect(me.body.emailVerified).toBe(true);
    // The same link a second time: the page says so, in words.
    await page.goto(onTestServer(link.url));
    await page.click('button[type=submit]');
    expect(await page.textContent('h1')).toBe('That did not work');
    expect(await page.textContent('.error')).toMatch(/used already/);
    expect(policyViolations).toEqual([]);
  });

  it('sets a new password through the form, after telling the person what was wrong', async () => {
    const username = uniqueUsername();
    const email = `${username}@example.com`;
    await request(app.http).post('/signup').send({ username, password: PASSWORD, email });
    const verification = linkIn(await mailbox.waitForMail(email, /^Verify/));
    await request(app.http).post('/email/verify').send({ token: verification.token }).expect(200);
    await request(app.http).post('/password/forgot').send({ login: email }).expect(202);
    const reset = linkIn(await mailbox.waitForMail(email, /^Reset/));

    await page.goto(onTestServer(reset.url));
    expect(await page.textContent('h1')).toBe('Choose a new password');
    await page.fill('#newPassword', 'a new passphrase of mine');
    await page.fill('#confirmPassword', 'a different passphrase');
    await page.click('button[type=submit]');
    expect(await page.textContent('.error')).toContain('does not match the new password');

    await page.fill('#newPassword', 'a new passphrase of mine');
    await page.fill('#confirmPassword', 'a new passphrase of mine');
    await page.click('button[type=submit]');

    expect(await page.textContent('h1')).toBe('Password changed');
    const login = await request(app.http).post('/login').send({ username, password: 'a new passphrase of mine' });
    expect(login.status).toBe(200);
    expect(policyViolations).toEqual([]);
  });
});
