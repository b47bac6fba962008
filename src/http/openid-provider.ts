import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type Provider from 'oidc-provider';
import type { Adapter, AdapterPayload, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config';
import type { LoginSessionLinks } from '../db/openid-provider-store';
import { hashClientSecret, type StoredClient } from '../domain/openid-clients';
import type { SigningAlgorithm } from '../domain/ports';
import { renderHasuraClaims } from '../domain/access-tokens';
import type { AuthenticationMethod } from '../domain/model';
import { AppError } from '../errors';
import { html, SafeHtml } from '../html';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Services } from '../services';
import { logAuthEvent, type AuthEvent } from './auth-events';
import { sendError } from './error-handler';
import { JWKS_PATH } from './jwks';
import { hostedPageOptions, renderPage } from './pages/layout';
import { pathOf } from './request-logging';

/**
 * The OpenID Provider (oidc-provider, the certified library): apps send users to /authorize,
 * the user logs in on this service's own pages (/interaction/…, src/http/routes/interactions.ts),
 * and the app gets a code for tokens. Its requests are answered before Express sees them, as the
 * webhook's are: the library reads its own bodies, and no parser may run in front of it.
 *
 * Everything it keeps is in the database (src/db/openid-provider-store.ts), so any instance
 * serves any step. It signs with the key that signs JWT mode's access tokens, so one JWKS (ours,
 * with its Cache-Control) serves Hasura and apps alike; when that key changes, the provider is
 * built again around the new one.
 */

/** Where the library's endpoints are. */
export const OPENID_ROUTES = {
  authorization: '/authorize',
  token: '/oauth/token',
  userinfo: '/userinfo',
  revocation: '/oauth/revoke',
  end_session: '/oauth/logout',
  pushed_authorization_request: '/oauth/par',
  jwks: JWKS_PATH,
} as const;

const DISCOVERY_PATH = '/.well-known/openid-configuration';
/** The paths the library answers: its endpoints but the JWKS (ours), the resume step under /authorize, and discovery. */
const handledPath = (path: string) =>
  path === DISCOVERY_PATH ||
  path === OPENID_ROUTES.userinfo ||
  path === OPENID_ROUTES.authorization ||
  path.startsWith(`${OPENID_ROUTES.authorization}/`) ||
  path.startsWith('/oauth/');

export const INTERACTION_PATH = '/interaction';

/**
 * The resource indicator (RFC 8707) an app names to get an access token for Hasura in JWT mode:
 * a JWT with the claims JWT mode gives, for JWT_AUDIENCE. Without it, access tokens are opaque,
 * for userinfo and for /webhook.
 */
export const HASURA_RESOURCE = 'urn:hasura:graphql';

/** What a proxy says of the request it forwards; believed only from the proxies TRUST_PROXY names. */
const FORWARDED_HEADERS = ['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for', 'x-forwarded-port'];

/**
 * The scopes apps may ask for, and the claims each gives. How and when the user logged in (`amr`,
 * `auth_time`) are in every ID token: the library would give them only to an app that asks.
 */
const CLAIMS = {
  openid: ['sub', 'auth_time', 'amr'],
  profile: ['preferred_username', 'name'],
  email: ['email', 'email_verified'],
  sid: null,
};

/** The interaction result our login pages hand the provider, beside its own `login`. */
export interface LoginResult {
  login: { accountId: string; amr: string[]; ts: number; remember: boolean };
  /** The `sessions` row of this login (see LoginSessionLinks). */
  loginSessionId: string;
}

/** The scope of HASURA_RESOURCE: an app asks for it with the resource. */
const HASURA_SCOPE = 'hasura';

/** The resources the authorization request names. */
const requestedResources = (ctx: KoaContextWithOIDC): string[] => {
  const resource = ctx.oidc.params?.resource;
  if (typeof resource === 'string') return [resource];
  return Array.isArray(resource) ? resource.filter((each): each is string => typeof each === 'string') : [];
};

/** How many queued back-channel logouts an instance takes at once. */
const BACKCHANNEL_BATCH = 20;
/** What an access token of the library knows of where it comes from. */
type AccessTokenRecord = {
  accountId: string;
  clientId: string;
  grantId: string;
  sessionUid?: string;
  expiresWithSession?: boolean;
};
/** The library's Client has it; its types leave it out. */
type BackchannelClient = { backchannelLogout(sub: string, sid: string): Promise<void> };

/** The grant type a token request asked for, as the metrics label it. */
const grantTypeOf = (ctx: KoaContextWithOIDC) => {
  const grantType = ctx.oidc.params?.grant_type;
  return typeof grantType === 'string' ? grantType : '';
};

/** A client as the library reads it, from one row of oidc_clients. */
function clientMetadata(client: StoredClient, alg: SigningAlgorithm): AdapterPayload {
  return {
    client_id: client.clientId,
    client_name: client.name,
    ...(client.secretHash !== null && { client_secret: client.secretHash }),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    id_token_signed_response_alg: alg,
    first_party: client.firstParty,
    ...(client.backchannelLogoutUri !== null && {
      backchannel_logout_uri: client.backchannelLogoutUri,
      backchannel_logout_session_required: true,
    }),
  };
}

export interface OpenIdProviderDeps {
  config: Config;
  services: Services;
  logger: Logger;
  metrics: Metrics;
}

export function createOpenIdProvider({ config, services, logger, metrics }: OpenIdProviderDeps) {
  if (config.openIdProvider === null) return undefined;
  const settings = config.openIdProvider;
  // Loaded only when the provider is on: a webhook-only deploy never loads the library (nor Koa).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: OidcProvider, errors } = require('oidc-provider') as typeof import('oidc-provider');
  const { productName } = config.mail;

  /** Which login session the request being served belongs to, read from the library's own context. */
  const currentLinks = (): LoginSessionLinks | undefined => {
    const ctx = OidcProvider.ctx;
    if (!ctx?.oidc) return undefined;
    const result = ctx.oidc.result as Partial<LoginResult> | undefined;
    const session = ctx.oidc.session as { id?: string; oldId?: string } | undefined;
    return {
      loginSessionId: result?.loginSessionId,
      providerSessionIds: [session?.id, session?.oldId].filter((id): id is string => typeof id === 'string'),
      loggingOut: ctx.oidc.route === 'end_session_confirm',
    };
  };
  const models = services.providerModelStore(currentLinks);

  const sendHtml = (ctx: KoaContextWithOIDC, status: number, title: string, body: SafeHtml) => {
    const { headers, markup } = renderPage({ title, body }, productName, hostedPageOptions(config));
    ctx.status = status;
    ctx.set(headers);
    ctx.body = markup;
  };

  /**
   * The Hasura claims of an access token for HASURA_RESOURCE: what JWT mode puts in its own
   * access tokens (the user's default role, allowed roles, id, variables and whether the login
   * had a second factor), decided by the same rule.
   */
  async function hasuraClaimsOf(ctx: KoaContextWithOIDC, accountId: string, grantId: string | undefined) {
    const user = await services.findUser(Number(accountId));
    if (!user) return undefined;
    const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
    const now = services.clock.now();
    const decision = services.callers.identifySession({
      user,
      session: {
        id: grantId ?? '',
        kind: 'op',
        userId: user.id,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: now,
        userAgent: null,
        amr: (source?.amr ?? []) as AuthenticationMethod[],
      },
      endsAt: new Date(now.getTime() + settings.accessTokenLifetimeSeconds * 1000),
      renewed: false,
    });
    if (decision.outcome !== 'identified') return undefined;
    const claims = renderHasuraClaims(decision.identity);
    return { [config.jwt.claimsNamespace]: config.jwt.claimsFormat === 'json' ? claims : JSON.stringify(claims) };
  }

  function build(key: { kid: string; alg: SigningAlgorithm } & Record<string, unknown>): Provider {
    const clientAdapter = (): Adapter => ({
      async find(id: string) {
        const client = await services.openIdClients.find(id);
        return client && clientMetadata(client, key.alg);
      },
      // Clients are managed through the admin API, never by the library.
      upsert: () => Promise.resolve(),
      findByUid: () => Promise.resolve(undefined),
      findByUserCode: () => Promise.resolve(undefined),
      consume: () => Promise.resolve(),
      destroy: () => Promise.resolve(),
      revokeByGrantId: () => Promise.resolve(),
    });

    // The library reads a code or refresh token, checks it is unused, then consumes it: a second
    // request in between would pass the check too. The store's conditional consume decides, and
    // the loser is refused as a reused grant.
    const modelAdapter = (name: string): Adapter => {
      const adapter = models.adapterFor(name);
      return {
        ...adapter,
        async consume(id: string) {
          if (!(await adapter.consume(id))) throw new errors.InvalidGrant('grant request is invalid');
        },
      };
    };

    const configuration: Configuration = {
      adapter: (name: string) => (name === 'Client' ? clientAdapter() : modelAdapter(name)),
      clients: [],
      jwks: { keys: [key] },
      enabledJWA: { idTokenSigningAlgValues: [key.alg], userinfoSigningAlgValues: [key.alg] },
      clientDefaults: {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        id_token_signed_response_alg: key.alg,
      },
      extraClientMetadata: { properties: ['first_party'] },
      responseTypes: ['code'],
      scopes: ['openid', 'offline_access', 'profile', 'email', HASURA_SCOPE],
      claims: CLAIMS,
      pkce: { required: () => true },
      routes: OPENID_ROUTES,
      cookies: {
        keys: [services.openIdCookieKey],
        names: {
          // __Host-: this cookie is for this origin only, and only over https.
          session: settings.issuer.startsWith('https:') ? '__Host-op_session' : 'op_session',
          interaction: 'op_interaction',
          resume: 'op_interaction_resume',
        },
        long: { httpOnly: true, sameSite: 'lax', signed: true },
        short: { httpOnly: true, sameSite: 'lax', signed: true },
      },
      features: {
        devInteractions: { enabled: false },
        revocation: { enabled: true },
        introspection: { enabled: false },
        registration: { enabled: false },
        backchannelLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          // The code's resource, when the token request names none.
          useGrantedResource: () => true,
          getResourceServerInfo(_ctx, resource) {
            if (resource !== HASURA_RESOURCE) throw new errors.InvalidTarget();
            return {
              scope: HASURA_SCOPE,
              audience: config.jwt.audience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: settings.accessTokenLifetimeSeconds,
              jwt: { sign: { alg: key.alg } },
            };
          },
        },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource(ctx, form) {
            sendHtml(
              ctx,
              200,
              'Log out',
              html`<p>Log out of ${productName}?</p>
                ${new SafeHtml(form)}
                <button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Log out</button>
                <button type="submit" form="op.logoutForm">Stay logged in</button>`,
            );
          },
          postLogoutSuccessSource(ctx) {
            sendHtml(ctx, 200, 'Logged out', html`<p>You are logged out.</p>`);
          },
        },
      },
      interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}` },
      formats: {
        customizers: {
          // The library keeps no record of a JWT access token. One is kept here, by its id, as an
          // opaque token's is, so that /webhook can end it with its grant, login session and user.
          async jwt(_ctx, token) {
            if (token.kind !== 'AccessToken') return;
            const { accountId, clientId, grantId, sessionUid, expiresWithSession } = token as AccessTokenRecord;
            await models
              .adapterFor('AccessToken')
              .upsert(
                token.jti,
                { kind: 'AccessToken', format: 'jwt', accountId, clientId, grantId, sessionUid, expiresWithSession },
                settings.accessTokenLifetimeSeconds,
              );
          },
        },
      },
      async findAccount(_ctx, sub) {
        const user = /^\d{1,15}$/.test(sub) ? await services.findUser(Number(sub)) : undefined;
        if (!user || user.disabled) return undefined;
        return {
          accountId: sub,
          claims: () => ({
            sub,
            preferred_username: user.username,
            ...(user.displayName !== null && { name: user.displayName }),
            ...(user.email !== null && { email: user.email, email_verified: user.emailVerified }),
          }),
        };
      },
      async extraTokenClaims(ctx, token) {
        if (token.kind !== 'AccessToken' || (token as { format?: string }).format !== 'jwt') return undefined;
        return hasuraClaimsOf(ctx, token.accountId, token.grantId);
      },
      async loadExistingGrant(ctx) {
        const { client, session, result } = ctx.oidc;
        if (!client || !session?.accountId) return undefined;
        const grantId = session.grantIdFor(client.clientId);
        const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
        const consented = (result as { consent?: { given?: boolean } } | undefined)?.consent?.given === true;
        // First-party apps are the service's own: nobody is asked. Others, once the user agreed.
        if (!(client as unknown as { first_party?: boolean }).first_party && !consented) return existing;
        const grant =
          existing ?? new ctx.oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
        grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
        if (requestedResources(ctx).includes(HASURA_RESOURCE)) grant.addResourceScope(HASURA_RESOURCE, HASURA_SCOPE);
        await grant.save();
        return grant;
      },
      // Every login gives the app a refresh token. Without offline_access it ends with the login
      // session; with it (which OpenID Connect gives only with prompt=consent) it outlives it.
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: true,
      ttl: {
        AccessToken: settings.accessTokenLifetimeSeconds,
        AuthorizationCode: 60,
        IdToken: settings.accessTokenLifetimeSeconds,
        Interaction: 3600,
        RefreshToken: settings.refreshTokenLifetimeSeconds,
        Grant: settings.refreshTokenLifetimeSeconds,
        Session: config.sessions.absoluteTimeoutSeconds,
      },
      // Browser apps (public clients) call the token endpoint from their redirect URIs' origins.
      clientBasedCORS: (ctx, origin, client) =>
        origin !== 'null' &&
        (ctx.oidc.route === 'userinfo' || client.clientAuthMethod === 'none') &&
        (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
      async renderError(ctx, out) {
        sendHtml(
          ctx,
          ctx.status >= 400 ? ctx.status : 400,
          'That did not work',
          html`<p class="error" role="alert">${out.error_description ?? 'The app sent an invalid request.'}</p>
            <p><small>Error code: ${out.error}</small></p>`,
        );
        return Promise.resolve();
      },
    };

    const provider = new OidcProvider(settings.issuer, configuration);
    // X-Forwarded-* are believed (the proto of a TLS-terminating proxy such as Heroku's router):
    // serve() removes them first from any request that did not come through a trusted proxy.
    provider.proxy = true;
    // A secret is stored only as its hash: the presented one is hashed before the constant-time comparison.
    (provider.Client.prototype as unknown as { compareClientSecret: (actual: string) => boolean }).compareClientSecret =
      function (this: { clientSecret?: string }, actual: string) {
        const expected = Buffer.from(this.clientSecret ?? '');
        const given = Buffer.from(hashClientSecret(actual));
        return expected.length === given.length && timingSafeEqual(expected, given);
      };
    // An opaque access token is made as a session's token is, so that /webhook tells one of
    // them from a forgery without a query, and finds it by the same hash.
    type TokenIds = { generateTokenId: (this: { format?: string }) => string };
    const accessTokens = provider.AccessToken.prototype as unknown as TokenIds;
    const libraryTokenId = accessTokens.generateTokenId;
    accessTokens.generateTokenId = function () {
      const libraryId = libraryTokenId.call(this);
      return this.format === 'opaque' ? services.newProviderAccessToken() : libraryId;
    };
    provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'OpenID Provider failed'));
    /** An auth event of the provider, with the app and the user it concerns. */
    const recordEvent = (ctx: KoaContextWithOIDC, authEvent: AuthEvent, fields: Record<string, string | undefined>) =>
      logAuthEvent(logger, authEvent, { ip: ctx.ip, clientId: ctx.oidc?.client?.clientId, ...fields });
    provider.on('authorization.success', (ctx) => {
      metrics.countOpenIdEvent('authorization', 'success');
      recordEvent(ctx, 'oidc.authorized', { userId: ctx.oidc.session?.accountId });
    });
    provider.on('authorization.error', (_ctx, error) =>
      metrics.countOpenIdEvent('authorization', error.error ?? 'server_error'),
    );
    provider.on('grant.success', (ctx) => {
      metrics.countOpenIdEvent('token_grant', 'success', grantTypeOf(ctx));
      const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
      recordEvent(ctx, 'oidc.token_granted', { grantType: grantTypeOf(ctx), userId: source?.accountId });
    });
    provider.on('grant.error', (ctx, error) =>
      metrics.countOpenIdEvent('token_grant', error.error ?? 'server_error', grantTypeOf(ctx)),
    );
    provider.on('grant.revoked', (ctx) => {
      metrics.countOpenIdEvent('grant_revoked', 'success');
      // At the token endpoint, a revoked grant is a code or a rotated refresh token used again.
      const reason = ctx.oidc?.route === 'token' ? `${grantTypeOf(ctx)}_reused` : (ctx.oidc?.route ?? 'unknown');
      recordEvent(ctx, 'oidc.grant_revoked', { reason });
    });
    provider.on('end_session.success', (ctx) => {
      metrics.countOpenIdEvent('logout', 'success');
      recordEvent(ctx, 'oidc.logout', { userId: ctx.oidc.session?.accountId });
    });
    provider.on('backchannel.success', () => metrics.countOpenIdEvent('backchannel_logout', 'success'));
    provider.on('backchannel.error', (_ctx, error) => {
      metrics.countOpenIdEvent('backchannel_logout', 'error');
      logger.warn({ err: error }, 'back-channel logout could not be delivered');
    });
    return provider;
  }

  // The proxies Express believes (TRUST_PROXY), decided as Express decides it.
  const trustsProxy = express().set('trust proxy', config.trustProxy).get('trust proxy fn') as (
    address: string,
    hop: number,
  ) => boolean;

  // Rebuilt when the signing key changes: the library takes its keys once, when built.
  let current: { kid: string; provider: Provider; handle: ReturnType<Provider['callback']> } | undefined;
  async function providerNow(): Promise<NonNullable<typeof current>> {
    const key = await services.signingKeys.currentSigningJwk();
    if (!key) throw new Error('The OpenID Provider needs JWT_ALGORITHM ES256 or RS256');
    if (current?.kid !== key.kid) {
      const provider = build(key);
      current = { kid: key.kid, provider, handle: provider.callback() };
    }
    return current;
  }

  /**
   * Sends the back-channel logouts the database queued when rules ended login sessions: each
   * once, by whichever instance takes it first (no retry, as for the library's own on an app's
   * logout). One run at a time; a call during a run makes it go round once more.
   */
  let delivering: Promise<void> | undefined;
  let calledWhileDelivering = false;
  async function deliverQueuedLogouts(): Promise<void> {
    const { provider } = await providerNow();
    for (;;) {
      const logouts = await models.takeBackchannelLogouts(BACKCHANNEL_BATCH);
      await Promise.all(
        logouts.map(async ({ clientId, accountId, sid }) => {
          const client = await provider.Client.find(clientId);
          if (!client?.backchannelLogoutUri) return;
          try {
            await (client as unknown as BackchannelClient).backchannelLogout(accountId, sid);
            metrics.countOpenIdEvent('backchannel_logout', 'success');
          } catch (error) {
            metrics.countOpenIdEvent('backchannel_logout', 'error');
            logger.warn({ err: error, clientId }, 'back-channel logout could not be delivered');
          }
        }),
      );
      if (logouts.length < BACKCHANNEL_BATCH) return;
    }
  }

  return {
    /** The provider as it signs now, for the interaction pages. */
    provider: async () => (await providerNow()).provider,

    /** Sends what back-channel logouts are queued; never rejects (a failure is logged). */
    deliverBackchannelLogouts(): Promise<void> {
      if (delivering) {
        calledWhileDelivering = true;
        return delivering;
      }
      delivering = (async () => {
        do {
          calledWhileDelivering = false;
          await deliverQueuedLogouts().catch((error: unknown) =>
            logger.warn({ err: error }, 'could not send queued back-channel logouts'),
          );
        } while (calledWhileDelivering);
      })().finally(() => (delivering = undefined));
      return delivering;
    },

    /** Answers the request if it is the provider's, and says whether it was. */
    serve(req: IncomingMessage, res: ServerResponse): boolean {
      if (!handledPath(pathOf(req))) return false;
      if (!trustsProxy(req.socket.remoteAddress ?? '', 0)) {
        for (const name of FORWARDED_HEADERS) delete req.headers[name];
      }
      providerNow()
        .then(({ handle }) => handle(req, res))
        // Its key could not be read: the database is down, as every other answer would find.
        .catch((error: unknown) => sendError(res, new AppError('DATABASE_UNAVAILABLE', { cause: error }), logger));
      return true;
    },
  };
}

export type OpenIdProvider = NonNullable<ReturnType<typeof createOpenIdProvider>>;
