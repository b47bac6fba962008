import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestApp, uniqueUsername, PASSWORD, type TestApp } from '../support/test-app';
import { servePage, startHasuraStandIn, type HasuraStandIn } from './hasura-stand-in';

declare global {
  // Set for this project in jest.config.js: Debian's chromium, never a downloaded build.
  var CHROMIUM_PATH: string;
}

/**
 * A real Chromium, a web app on one origin, this service on another, and a stand-in for Hasura
 * on a third. All three are on 127.0.0.1: different origins (ports differ) but one site (cookies
 * and SameSite ignore ports), as app.example.com, auth.example.com and hasura.example.com would
 * be, so the browser sends the session cookie to Hasura. An attacker on yet another port is a
 * sibling on the same site, where SameSite=Lax does not help; one on `localhost` is another site.
 */

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface FetchResult {
  status: number;
  body: unknown;
}

/** Runs fetch in the page, as the web app's own script would, with the browser's cookies. */
function browserFetch(page: Page, url: string, init: { method: string; body?: unknown }): Promise<FetchResult> {
  return page.evaluate(
    async ({ url, method, body }) => {
      const res = await fetch(url, {
        method,
        credentials: 'include',
        headers: { 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
    },
    { url, ...init },
  );
}

/** An attacker's page that posts a form to the service's logout as soon as it loads. */
const forgedLogoutPage = (authUrl: string) => () =>
  `<!doctype html><title>win a prize</title>
   <form method="post" action="${authUrl}/logout"><input name="prize" value="yes"></form>
   <script>document.forms[0].submit()</script>`;

describe('a web app in a real Chromium', () => {
  let app: TestApp;
  let hasura: HasuraStandIn;
  let webApp: Awaited<ReturnType<typeof servePage>>;
  const attackers: Awaited<ReturnType<typeof servePage>>[] = [];
  let userDataDir: string;
  let browser: BrowserContext;
  let page: Page;
  let authUrl = '';

  beforeAll(async () => {
    webApp = await servePage('127.0.0.1', () => '<!doctype html><title>the app</title><p>app</p>');
    app = await startTestApp({ CORS_ORIGINS: webApp.origin, SESSION_TOUCH_INTERVAL_SECONDS: '60' });
    authUrl = app.http;
    hasura = await startHasuraStandIn(`${authUrl}/webhook`, webApp.origin);
    attackers.push(
      await servePage('127.0.0.1', forgedLogoutPage(authUrl)),
      await servePage('localhost', forgedLogoutPage(authUrl)),
    );
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: globalThis.CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage();
    await page.goto(webApp.origin);
  });

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await Promise.all([hasura?.close(), webApp?.close(), ...attackers.map((each) => each.close())]);
    await app?.close();
  });

  /** What the stand-in for Hasura answers the page: the session variables the webhook gave it. */
  const askHasura = () => browserFetch(page, `${hasura.url}/v1/graphql`, { method: 'POST', body: { query: '{ me }' } });

  async function sessionCookie() {
    return (await browser.cookies(authUrl)).find((cookie) => cookie.name === 'hasura_auth_session');
  }

  let userId: number;
  let username: string;

  it('signs up from another origin, and the browser keeps the session cookie out of reach of scripts', async () => {
    username = uniqueUsername('browser');
    const signup = await browserFetch(page, `${authUrl}/signup`, {
      method: 'POST',
      body: { username, password: PASSWORD },
    });
    expect(signup.status).toBe(201);
    userId = (signup.body as { id: number }).id;

    expect(await sessionCookie()).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    expect(await page.evaluate('document.cookie')).not.toContain('hasura_auth_session');
  });

  it('logs in from another origin, and the cookie travels to Hasura, which gets the user from the webhook', async () => {
    const login = await browserFetch(page, `${authUrl}/login`, {
      method: 'POST',
      body: { username, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    const token = (login.body as { token: string }).token;
    expect((await sessionCookie())?.value).toBe(token);

    const answer = await askHasura();
    expect(answer).toEqual({
      status: 200,
      body: {
        data: {
          session: {
            'X-Hasura-Role': 'user',
            'X-Hasura-User-Id': String(userId),
            'X-Hasura-Mfa': 'false',
            'Cache-Control': 'max-age=60',
          },
        },
      },
    });
    const call = hasura.webhookCalls.at(-1)!;
    expect(call.cookie).toContain('hasura_auth_session=');
    expect(call.origin).toBeUndefined();
  });

  it('gets a renewed cookie through Hasura once the session has been idle for a touch interval', async () => {
    const before = await sessionCookie();
    app.clock.advanceSeconds(61);
    const renewal = page.waitForResponse(
      (res) => res.url().startsWith(hasura.url) && res.request().method() === 'POST',
    );
    expect((await askHasura()).status).toBe(200);
    const setCookie = await (await renewal).headerValue('set-cookie');
    expect(setCookie).toMatch(/^hasura_auth_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect((await sessionCookie())?.value).toBe(before?.value);
  });

  it.each([
    ['a sibling origin on the same site', 0, { status: 403, code: 'CSRF_REJECTED' }],
    // SameSite=Lax keeps the cookie home: no session comes with it, and its form body is refused.
    ['another site', 1, { status: 400, code: 'VALIDATION_FAILED' }],
  ])('refuses a form post to /logout from %s, and the session lives on', async (_case, attacker, refusal) => {
    const forged = page.waitForResponse((res) => res.url() === `${authUrl}/logout`);
    await page.goto(attackers[attacker]!.origin);
    const res = await forged;
    expect({ status: res.status(), code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual(
      refusal,
    );

    await page.goto(webApp.origin);
    const answer = await askHasura();
    expect((answer.body as { data: { session: Record<string, string> } }).data.session['X-Hasura-User-Id']).toBe(
      String(userId),
    );
  });

  it('logs out, which deletes the cookie, after which Hasura sees an anonymous caller', async () => {
    const logout = await browserFetch(page, `${authUrl}/logout`, { method: 'POST' });
    expect(logout.status).toBe(204);
    expect(await sessionCookie()).toBeUndefined();

    const answer = await askHasura();
    expect(answer).toEqual({ status: 200, body: { data: { session: { 'X-Hasura-Role': 'anonymous' } } } });
    expect(hasura.webhookCalls.at(-1)!.cookie).toBeUndefined();
  });
});
