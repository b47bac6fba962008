import { createServer } from 'node:http';
import { decodeJwt } from 'jose';
import request from 'supertest';
import * as oidc from 'openid-client';
import { withAdminSecret } from './admin';
import { freePort } from './ports';
import { PASSWORD, startTestApp, type TestApp } from './test-app';
import type { Env } from '../../src/config';

/**
 * For the suites about this service as an OpenID Provider: an app started on a port known in
 * advance (its issuer is PUBLIC_URL), apps registered as its clients, a real relying party
 * (openid-client) for each, and a person's browser (a cookie jar that follows redirects by hand,
 * so that each step can be looked at).
 */

export const APP_CALLBACK = 'http://localhost:3999/callback';
export const APP_LOGGED_OUT = 'http://localhost:3999/logged-out';

/**
 * Starts the service as a provider: PUBLIC_URL is http://localhost:<its port>, and JWT_ISSUER the
 * same, as the README advises where Hasura in JWT mode takes the provider's access tokens.
 */
export async function startProviderApp(
  env: Env | ((issuer: string) => Env | Promise<Env>) = {},
): Promise<TestApp & { issuer: string }> {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const app = await startTestApp({
    PORT: String(port),
    PUBLIC_URL: issuer,
    JWT_ISSUER: issuer,
    ADMIN_SECRET: 'test-admin-secret-0123456789',
    ...(typeof env === 'function' ? await env(issuer) : env),
  });
  return { ...app, issuer };
}

export interface RegisteredApp {
  clientId: string;
  clientSecret?: string;
  config: oidc.Configuration;
}

/** Registers a client through the admin API and discovers the provider as openid-client does. */
export async function registerApp(
  app: TestApp & { issuer: string },
  body: Record<string, unknown> = {},
): Promise<RegisteredApp> {
  const res = await request(app.http)
    .post('/admin/clients')
    .set(withAdminSecret)
    .send({
      name: 'Test app',
      type: 'confidential',
      redirectUris: [APP_CALLBACK],
      postLogoutRedirectUris: [APP_LOGGED_OUT],
      ...body,
    });
  if (res.status !== 201) throw new Error(`client registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  const { clientId, clientSecret } = res.body as { clientId: string; clientSecret?: string };
  const config = await discover(app, clientId, clientSecret);
  return { clientId, clientSecret, config };
}

/** openid-client's view of the provider, for one client. */
export function discover(app: { issuer: string }, clientId: string, clientSecret?: string) {
  return oidc.discovery(
    new URL(app.issuer),
    clientId,
    undefined,
    clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret),
    { execute: [oidc.allowInsecureRequests] },
  );
}

/** A person's browser: cookies kept by name, redirects followed one at a time. */
export class Browser {
  readonly cookies = new Map<string, string>();

  async go(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.Cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      // A form posted from the service's own page, as a browser says so.
      headers['Sec-Fetch-Site'] = 'same-origin';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, ...value] = pair!.split('=');
      const expired = attributes.some((attribute) => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
      if (expired || value.join('=') === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    return res;
  }

  /**
   * Follows redirects from `url` until one leaves for the app (answers that URL) or a page is
   * shown (answers the page's response).
   */
  async follow(url: string | URL, init?: { form?: Record<string, string> }): Promise<URL | Response> {
    let res = await this.go(url, init);
    let at = new URL(url);
    for (let hops = 0; hops < 10; hops += 1) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      at = new URL(location, at);
      if (at.origin !== new URL(url).origin) return at;
      res = await this.go(at);
    }
    throw new Error('too many redirects');
  }
}

/** The value of a hidden field of the page. */
export function fieldOf(page: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  if (!match) throw new Error(`no field ${name} on the page`);
  return match[1]!;
}

/** The form's action on the page (the first form whose action has `ending`). */
export function actionOf(page: string, ending: string): string {
  const match = new RegExp(`action="([^"]*${ending})"`).exec(page);
  if (!match) throw new Error(`no form posting to …${ending}`);
  return match[1]!.replace(/&amp;/g, '&');
}

export interface Authorization {
  url: URL;
  codeVerifier: string;
  state: string;
  nonce: string;
}

/** What an app does to send a user to log in: an authorization URL with PKCE, state and nonce. */
export async function authorizationOf(
  registered: RegisteredApp,
  extra: Record<string, string> = {},
): Promise<Authorization> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(registered.config, {
    redirect_uri: APP_CALLBACK,
    scope: 'openid profile email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

/** The browser logs in on the hosted page it was sent to; answers where it ends (the app, or a page). */
export async function logInAtHostedPage(
  browser: Browser,
  page: Response,
  username: string,
  password = PASSWORD,
): Promise<URL | Response> {
  const html = await page.text();
  const action = new URL(actionOf(html, '/login'), page.url);
  return browser.follow(action, { form: { csrf: fieldOf(html, 'csrf'), username, password } });
}

/** The browser answers the consent page; answers where it ends. */
export function consentAtHostedPage(browser: Browser, page: { html: string; url: string }, decision: 'allow' | 'deny') {
  const { html } = page;
  const action = new URL(actionOf(html, '/consent'), page.url);
  return browser.follow(action, { form: { csrf: fieldOf(html, 'csrf'), decision } });
}

/** A whole login, from the app's authorization URL to the tokens, for a person not logged in yet. */
export async function logInThroughApp(
  browser: Browser,
  registered: RegisteredApp,
  username: string,
  extra: Record<string, string> = {},
) {
  const authorization = await authorizationOf(registered, extra);
  const shown = await browser.follow(authorization.url);
  if (shown instanceof URL) throw new Error(`expected the login page, went to ${shown.href}`);
  let landed = await logInAtHostedPage(browser, shown, username);
  // A third-party app's first login asks the person to agree.
  if (!(landed instanceof URL) && landed.status === 200)
    landed = await consentAtHostedPage(browser, { html: await landed.text(), url: landed.url }, 'allow');
  if (!(landed instanceof URL))
    throw new Error(`expected a redirect to the app, got ${landed.status}: ${await landed.text()}`);
  return { authorization, tokens: await redeem(registered, landed, authorization) };
}

/** The app redeems the code it was sent back with. */
export function redeem(registered: RegisteredApp, callback: URL, authorization: Authorization) {
  return oidc.authorizationCodeGrant(registered.config, callback, {
    pkceCodeVerifier: authorization.codeVerifier,
    expectedState: authorization.state,
    expectedNonce: authorization.nonce,
  });
}

/** An app's back-channel logout endpoint: every logout token posted to it, in order. */
export async function startLogoutReceiver() {
  const tokens: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://localhost:${port}/backchannel`,
    tokens,
    /** The logout tokens received for this user, by sid (read, not verified). */
    sidsFor: (userId: number) =>
      tokens.map((token) => decodeJwt(token)).flatMap((claims) => (claims.sub === String(userId) ? [claims.sid] : [])),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
