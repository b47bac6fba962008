import * as client from 'openid-client';
import type { IdentityProviderSettings } from '../config';
import { isValidEmail, normalizeEmail } from '../domain/emails';
import { ProviderLoginRefused } from '../domain/identity-logins';
import type { ProviderProfile } from '../domain/ports';
import { AppError } from '../errors';

/**
 * The relying-party side of logging in through a provider, built on openid-client: discovery,
 * the authorization request (state, nonce, PKCE S256) and the checks of what comes back
 * (state, issuer, PKCE, the ID token's signature against the provider's JWKS, its issuer,
 * audience, expiry and nonce). GitHub is
 * OAuth 2 without OpenID Connect: its configuration is built by hand, and who the user is comes
 * from its API.
 *
 * openid-client's Passport strategy is not used: it keeps a flow's state in one `req.session`
 * entry per provider, so that a second tab's login overwrites the first's. Each flow here keeps
 * its own state in a cookie of its own (../http/identity-flows).
 */

/** What a flow must remember between the redirect to the provider and the callback. */
export interface FlowChecks {
  state: string;
  /** Absent for GitHub, which issues no ID token. */
  nonce?: string;
  codeVerifier: string;
}

export interface ProviderClient {
  readonly settings: IdentityProviderSettings;
  /** The URL to send the browser to, and what the callback must check. Throws PROVIDER_UNAVAILABLE. */
  startLogin(redirectUri: string): Promise<{ url: URL; checks: FlowChecks }>;
  /** Who the callback says the user is, after every check. Throws ProviderLoginRefused. */
  finishLogin(callbackUrl: URL, checks: FlowChecks): Promise<ProviderProfile>;
}

// Discovery is tried again on use after a failure, waiting longer each time, up to a minute.
const FIRST_RETRY_SECONDS = 1;
const LAST_RETRY_SECONDS = 60;
const PROVIDER_TIMEOUT_SECONDS = 10;

/** Whether the failure is the provider's absence (network, timeout, 5xx) rather than its refusal. */
function isUnreachable(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return true;
    if (cause instanceof TypeError && cause.message === 'fetch failed') return true;
    if (
      'code' in cause &&
      typeof cause.code === 'string' &&
      /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|UND_ERR)/.test(cause.code)
    ) {
      return true;
    }
  }
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 500;
}

/** Why the provider's answer was refused, in the stable words of the callback's redirect. */
function refusalOf(error: unknown): ProviderLoginRefused {
  if (error instanceof ProviderLoginRefused) return error;
  if (error instanceof client.AuthorizationResponseError) {
    return new ProviderLoginRefused(error.error === 'access_denied' ? 'access_denied' : 'provider_error');
  }
  return new ProviderLoginRefused(isUnreachable(error) ? 'provider_unavailable' : 'provider_error');
}

const stringClaim = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function emailOf(value: unknown): string | null {
  const email = stringClaim(value);
  if (email === null) return null;
  const normalized = normalizeEmail(email);
  return isValidEmail(normalized) ? normalized : null;
}

/**
 * One configuration per provider, discovered on first use; after a failure, tried again no sooner
 * than its backoff allows, and until then every use answers PROVIDER_UNAVAILABLE at once.
 */
function lazyConfiguration(discover: () => Promise<client.Configuration>, now: () => number) {
  let configuration: client.Configuration | undefined;
  let pending: Promise<client.Configuration> | undefined;
  let retryAt = 0;
  let backoffSeconds = FIRST_RETRY_SECONDS;
  const unavailable = (cause?: unknown) =>
    new AppError('PROVIDER_UNAVAILABLE', {
      cause,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil((retryAt - now()) / 1000))) },
    });
  return async (): Promise<client.Configuration> => {
    if (configuration) return configuration;
    if (now() < retryAt) throw unavailable();
    pending ??= discover()
      .then((discovered) => {
        configuration = discovered;
        return discovered;
      })
      .catch((error: unknown) => {
        retryAt = now() + backoffSeconds * 1000;
        backoffSeconds = Math.min(backoffSeconds * 2, LAST_RETRY_SECONDS);
        throw unavailable(error);
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

const discoveryOptions = (allowInsecure: boolean, issuer: string) => ({
  timeout: PROVIDER_TIMEOUT_SECONDS,
  execute: [
    // openid-client checks an ID token's claims, but its signature only when asked: over TLS,
    // OpenID Connect lets a client trust the token endpoint instead. Checked here all the same,
    // against the provider's published keys, so that a token endpoint answer that was tampered
    // with (or a plain-http provider in development) can never sign anyone in.
    client.enableNonRepudiationChecks,
    ...(allowInsecure && issuer.startsWith('http:') ? [client.allowInsecureRequests] : []),
  ],
});

function oidcClient(settings: IdentityProviderSettings, allowInsecure: boolean, now: () => number): ProviderClient {
  const configuration = lazyConfiguration(
    () =>
      client.discovery(
        new URL(settings.issuer),
        settings.clientId,
        undefined,
        settings.clientSecret === null ? client.None() : client.ClientSecretPost(settings.clientSecret),
        discoveryOptions(allowInsecure, settings.issuer),
      ),
    now,
  );
  return {
    settings,
    async startLogin(redirectUri) {
      const config = await configuration();
      const checks = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes.join(' '),
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, checks };
    },
    async finishLogin(callbackUrl, checks) {
      let config: client.Configuration;
      try {
        config = await configuration();
      } catch {
        throw new ProviderLoginRefused('provider_unavailable');
      }
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          pkceCodeVerifier: checks.codeVerifier,
          idTokenExpected: true,
        });
        const claims = tokens.claims()!;
        // Some providers (oidc-provider by default) put the address only in userinfo.
        const info =
          claims.email === undefined && config.serverMetadata().userinfo_endpoint !== undefined
            ? await client.fetchUserInfo(config, tokens.access_token, claims.sub)
            : claims;
        const email = emailOf(info.email);
        return {
          issuer: config.serverMetadata().issuer,
          subject: claims.sub,
          email,
          emailVerified: email !== null && info.email_verified === true,
          usernameHint: stringClaim(info.preferred_username) ?? email?.split('@')[0] ?? null,
          displayName: stringClaim(info.name)?.slice(0, 100) ?? null,
        };
      } catch (error) {
        throw refusalOf(error);
      }
    },
  };
}

interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/** GitHub (or a GitHub Enterprise Server at `settings.issuer`): OAuth 2 with PKCE, then its API. */
function gitHubClient(settings: IdentityProviderSettings, allowInsecure: boolean): ProviderClient {
  const { issuer } = settings;
  const apiBase = issuer === 'https://github.com' ? 'https://api.github.com' : `${issuer}/api/v3`;
  const config = new client.Configuration(
    {
      issuer,
      authorization_endpoint: `${issuer}/login/oauth/authorize`,
      token_endpoint: `${issuer}/login/oauth/access_token`,
      code_challenge_methods_supported: ['S256'],
    },
    settings.clientId,
    undefined,
    client.ClientSecretPost(settings.clientSecret ?? undefined),
  );
  if (allowInsecure && issuer.startsWith('http:')) client.allowInsecureRequests(config);

  /** A GET of GitHub's API; an answer that is not 200, or that carries `error`, is a refusal. */
  async function api<T>(path: string, accessToken: string): Promise<T> {
    const response = await fetch(`${apiBase}${path}`, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'hasura-auth',
      },
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_SECONDS * 1000),
    });
    if (response.status >= 500)
      throw Object.assign(new Error(`GitHub answered ${response.status}`), { status: response.status });
    const body: unknown = await response.json();
    if (response.status !== 200 || body === null || typeof body !== 'object' || 'error' in body) {
      throw new ProviderLoginRefused('provider_error');
    }
    return body as T;
  }

  return {
    settings,
    async startLogin(redirectUri) {
      const checks = { state: client.randomState(), codeVerifier: client.randomPKCECodeVerifier() };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes.join(' '),
        state: checks.state,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
        // GitHub offers to sign up when nobody is signed in there; a login here needs no new account there.
        allow_signup: 'false',
      });
      return { url, checks };
    },
    async finishLogin(callbackUrl, checks) {
      try {
        // GitHub answers some token errors as 200 with `error`: no access token then, which
        // openid-client refuses like any other malformed answer.
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          expectedState: checks.state,
          pkceCodeVerifier: checks.codeVerifier,
        });
        const user = await api<{ id?: unknown; login?: unknown; name?: unknown }>('/user', tokens.access_token);
        if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id))
          throw new ProviderLoginRefused('provider_error');
        const emails = await api<GitHubEmail[]>('/user/emails', tokens.access_token);
        const listed = Array.isArray(emails) ? emails : [];
        const chosen = listed.find((each) => each.primary && each.verified) ?? listed.find((each) => each.primary);
        const email = emailOf(chosen?.email);
        return {
          issuer,
          subject: String(user.id),
          email,
          emailVerified: email !== null && chosen?.verified === true,
          usernameHint: stringClaim(user.login),
          displayName: stringClaim(user.name)?.slice(0, 100) ?? null,
        };
      } catch (error) {
        throw refusalOf(error);
      }
    },
  };
}

/** A client for each configured provider, by id. Nothing is fetched until a provider is used. */
export function createProviderClients(
  providers: readonly IdentityProviderSettings[],
  { allowInsecureIssuers, now = Date.now }: { allowInsecureIssuers: boolean; now?: () => number },
): Map<string, ProviderClient> {
  return new Map(
    providers.map((settings) => [
      settings.id,
      settings.type === 'github'
        ? gitHubClient(settings, allowInsecureIssuers)
        : oidcClient(settings, allowInsecureIssuers, now),
    ]),
  );
}
