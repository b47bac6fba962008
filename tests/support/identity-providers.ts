import request, { type Response } from 'supertest';
import { cookieHeader, setCookiesOf } from './cookies';
import type { TestApp } from './test-app';

/**
 * Logging in through an identity provider without a browser: the test follows each redirect
 * itself, keeps the cookies each side sets, and plays the person at the provider's login form.
 * Each step is its own function, so that a test can alter what passes between them, as an
 * attacker would.
 */

/** The issuer of the real OpenID Provider the global setup started (tests/support/openid-provider.mjs). */
export function testIssuer(): string {
  const issuer = process.env.TEST_OIDC_ISSUER;
  if (!issuer) throw new Error('TEST_OIDC_ISSUER is unset: the global setup starts the test OpenID Provider');
  return issuer;
}

/** The service's public URL in these suites: the provider redirects there, and the test delivers it to the app. */
export const PUBLIC_URL = 'http://localhost:4180';
export const APP_ORIGIN = 'https://app.example.com';
export const RETURN_TO = `${APP_ORIGIN}/signed-in`;

export const callbackUrlOf = (provider: string, publicUrl = PUBLIC_URL) => `${publicUrl}/auth/${provider}/callback`;

/** Registers a confidential client at the test provider (dynamic registration). */
export async function registerClient(
  redirectUris: string[],
  issuer = testIssuer(),
): Promise<{ clientId: string; clientSecret: string }> {
  const res = await fetch(`${issuer}/reg`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }),
  });
  if (res.status !== 201) throw new Error(`client registration failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { client_id: string; client_secret: string };
  return { clientId: body.client_id, clientSecret: body.client_secret };
}

/** Who the person logging in is at the provider. */
export interface PersonAtProvider {
  sub: string;
  email?: string;
  emailVerified?: boolean;
  preferredUsername?: string;
  name?: string;
  /** Cancel at the provider instead of logging in. */
  deny?: boolean;
}

/** A minimal cookie jar for one site: names and values, as a browser would send them back. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: globalThis.Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export interface StartedLogin {
  /** Where the service sent the browser: the provider's authorization endpoint. */
  authorizationUrl: URL;
  /** The Cookie header that carries the flow's cookie back to the callback. */
  flowCookie: string;
  res: Response;
}

/** GET /auth/:provider; expects the redirect to the provider. */
export async function startLogin(
  app: Pick<TestApp, 'http'>,
  provider: string,
  { returnTo, link, cookie }: { returnTo?: string; link?: boolean; cookie?: string } = {},
): Promise<StartedLogin> {
  const query = new URLSearchParams();
  if (returnTo !== undefined) query.set('returnTo', returnTo);
  if (link) query.set('link', 'true');
  const res = await request(app.http)
    .get(`/auth/${provider}${query.size > 0 ? `?${query.toString()}` : ''}`)
    .set(cookie === undefined ? {} : { Cookie: cookie })
    .redirects(0);
  if (res.status !== 302) throw new Error(`expected a redirect to the provider, got ${res.status}: ${res.text}`);
  const [flow] = setCookiesOf(res).filter((each) => each.name.startsWith('hasura_auth_flow_'));
  if (!flow) throw new Error('the start set no flow cookie');
  return { authorizationUrl: new URL(res.headers.location as string), flowCookie: cookieHeader(flow).Cookie, res };
}

/**
 * Plays the browser at the provider: follows its redirects, fills its login form as `person`,
 * and answers the URL the provider finally sends the browser to (the service's callback).
 */
export async function authorizeAtProvider(authorizationUrl: URL, person: PersonAtProvider): Promise<URL> {
  const jar = new CookieJar();
  const go = async (url: URL, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), Cookie: jar.header() },
    });
    jar.take(res);
    return res;
  };
  let url = authorizationUrl;
  let res = await go(url);
  for (let hops = 0; hops < 10; hops++) {
    const location = res.headers.get('location');
    if (res.status === 200 && /\/interaction\//.test(url.pathname)) {
      const form = new URLSearchParams({ sub: person.sub, decision: person.deny ? 'deny' : 'allow' });
      if (person.email !== undefined) form.set('email', person.email);
      if (person.emailVerified) form.set('email_verified', 'true');
      if (person.preferredUsername !== undefined) form.set('preferred_username', person.preferredUsername);
      if (person.name !== undefined) form.set('name', person.name);
      res = await go(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      continue;
    }
    if (location === null) throw new Error(`the provider answered ${res.status}: ${await res.text()}`);
    const next = new URL(location, url);
    if (next.origin !== authorizationUrl.origin) return next;
    url = next;
    res = await go(url);
  }
  throw new Error('too many redirects at the provider');
}

/** Delivers the provider's redirect to the service's callback, as the browser would, with its cookies. */
export function deliverCallback(app: Pick<TestApp, 'http'>, callback: URL, cookie: string): Promise<Response> {
  return request(app.http).get(`${callback.pathname}${callback.search}`).set({ Cookie: cookie }).redirects(0);
}

/** A whole login through the provider; answers the callback's answer. */
export async function logInThroughProvider(
  app: Pick<TestApp, 'http'>,
  provider: string,
  person: PersonAtProvider,
  options: { returnTo?: string; link?: boolean; cookie?: string } = { returnTo: RETURN_TO },
): Promise<Response> {
  const started = await startLogin(app, provider, options);
  const callback = await authorizeAtProvider(started.authorizationUrl, person);
  const cookies = [started.flowCookie, ...(options.cookie === undefined ? [] : [options.cookie])].join('; ');
  return deliverCallback(app, callback, cookies);
}

/** The `code` or `error` that the callback's redirect to returnTo carries. */
export function redirectParameters(res: Response): URLSearchParams {
  if (res.status !== 302) throw new Error(`expected a redirect, got ${res.status}: ${res.text}`);
  return new URL(res.headers.location as string).searchParams;
}

/** Trades a login's code for a bearer session. */
export async function exchangeCode(
  app: Pick<TestApp, 'http'>,
  res: Response,
): Promise<{ id: number; token: string; username: string }> {
  const code = redirectParameters(res).get('code');
  if (code === null) throw new Error(`the login failed: ${res.headers.location}`);
  const exchanged = await request(app.http).post('/auth/exchange').send({ code });
  if (exchanged.status !== 200) throw new Error(`exchange failed: ${exchanged.status} ${exchanged.text}`);
  return exchanged.body;
}

/** An IDENTITY_PROVIDERS entry for the test provider. */
export function testProviderEntry(
  id: string,
  client: { clientId: string; clientSecret: string },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { id, type: 'oidc', name: `Test ${id}`, issuer: testIssuer(), ...client, ...extra };
}
