import type { ErrorRequestHandler, Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { ProviderLoginRefused, type ProviderLoginFailure } from '../../domain/identity-logins';
import type { AuthenticatedSession } from '../../domain/model';
import { AppError } from '../../errors';
import { html } from '../../html';
import type { ProviderClient } from '../../identity-providers/provider-clients';
import type { Metrics } from '../../metrics';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import { recordAuthEvent } from '../auth-events';
import { recordRefusal, toAppError } from '../error-handler';
import { createReturnUrlPolicy, type IdentityFlows } from '../identity-flows';
import { secondFactorRequired } from '../logins';
import { sendPage } from '../pages/layout';
import { presentIdentity, presentNewSession, presentTokenPair } from '../presenters';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';
import type { SessionCookies } from '../session-cookie';

/** Where a login through a provider that an OpenID Provider's hosted login started goes back to. */
const hostedLoginReturnPath = (uid: string) => `/interaction/${uid}/identity`;

const page = named('HtmlPage', z.string().describe('An HTML page.'));
const redirect = (description: string) => ({ status: 302, description });

/** A 302 with no body (Express's res.redirect writes one, with the URL in it). */
function redirectTo(res: Response, url: URL): void {
  res.status(302).setHeader('Location', url.href);
  res.end();
}

/**
 * Logging in through identity providers: the browser's round trip to the provider, which ends
 * in a redirect (or, with no returnTo, a page), never a JSON error. With no provider configured,
 * none of these routes is served.
 */
export const providerLoginRoutes = {
  listIdentityProviders: defineRoute({
    method: 'get',
    path: '/auth/providers',
    summary: 'The identity providers users may log in through',
    description: 'For login pages: a link to /auth/{id} for each. 404 when none is configured.',
    tag: 'identity-providers',
    access: 'public',
    answers: [
      { status: 200, description: 'The providers.', body: named('ProviderList', schemas.providerListResponse) },
    ],
    errors: ['NOT_FOUND'],
    usesDatabase: false,
  }),
  startProviderLogin: defineRoute({
    method: 'get',
    path: '/auth/{provider}',
    summary: 'Log in (or, with link=true, link an identity) through a provider',
    description:
      'Redirects to the provider, with state, nonce and PKCE (S256) kept in a signed cookie for this flow alone (10 minutes). Its errors are pages; a provider that cannot be reached sends the browser to returnTo with `error=provider_unavailable`, or answers 503 without one.',
    tag: 'identity-providers',
    access: 'public',
    page: true,
    rateLimit: 'login-without-password',
    params: schemas.providerParams,
    query: schemas.providerLoginQuery,
    answers: [
      redirect('To the provider.'),
      { status: 400, description: 'returnTo is not allowed.', body: page, mediaType: 'text/html' },
    ],
    errors: ['NOT_FOUND', 'INVALID_RETURN_URL', 'UNAUTHORIZED', 'PROVIDER_UNAVAILABLE'],
    usesDatabase: true,
  }),
  finishProviderLogin: defineRoute({
    method: 'get',
    path: '/auth/{provider}/callback',
    summary: "The provider's redirect back: the redirect URI to register at the provider",
    description:
      'Checks everything, finds or creates the user, sets the session cookie, and redirects to returnTo with `code` (for POST /auth/exchange), or with `error` and a stable reason. Without returnTo, a page says what happened.',
    tag: 'identity-providers',
    access: 'public',
    page: true,
    params: schemas.providerParams,
    query: schemas.providerCallbackQuery,
    answers: [
      redirect('To returnTo, with `code` or `error`.'),
      { status: 200, description: 'Without returnTo: signed in.', body: page, mediaType: 'text/html' },
    ],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
};

/** The JSON side: trading a login's code for a session, and the identities of an account. */
export const identityRoutes = {
  exchangeLoginCode: defineRoute({
    method: 'post',
    path: '/auth/exchange',
    summary: "Trade a provider login's one-time code for a session or a token pair",
    description:
      'For apps that use bearer tokens (mobile apps, single-page apps on another origin). The code is single use and lives 60 seconds; a logout-all, password change or disable in between voids it.',
    tag: 'identity-providers',
    access: 'public',
    body: named('LoginCodeExchange', schemas.loginCodeBody),
    answers: [
      {
        status: 200,
        description: 'The body of POST /login, or with `issue: "tokens"` that of POST /token.',
        body: named('ExchangedLogin', z.union([schemas.newSessionResponse, schemas.tokenPairResponse])),
      },
    ],
    errors: ['INVALID_TOKEN', 'MFA_REQUIRED', 'FORBIDDEN'],
    usesDatabase: true,
  }),
  listMyIdentities: defineRoute({
    method: 'get',
    path: '/me/identities',
    summary: 'The identities at providers that log in to this account',
    tag: 'identity-providers',
    access: 'session',
    answers: [
      { status: 200, description: 'The identities.', body: named('IdentityList', schemas.identityListResponse) },
    ],
    usesDatabase: true,
  }),
  unlinkMyIdentity: defineRoute({
    method: 'delete',
    path: '/me/identities/{id}',
    summary: 'Unlink an identity from this account',
    tag: 'identity-providers',
    access: 'session',
    params: schemas.identityIdParams,
    answers: [noContent('It logs in to this account no more.')],
    errors: ['NOT_FOUND', 'LAST_LOGIN_METHOD'],
    usesDatabase: true,
  }),
};

const FAILURE_PAGES: Record<ProviderLoginFailure, { status: number; text: string }> = {
  invalid_state: {
    status: 400,
    text: 'This login link was used already, has expired, or was not started here. Start again.',
  },
  access_denied: { status: 403, text: 'The login was cancelled at the provider.' },
  provider_error: { status: 502, text: 'The identity provider did not answer as expected. Try again.' },
  provider_unavailable: { status: 503, text: 'The identity provider cannot be reached. Try again.' },
  account_disabled: { status: 403, text: 'This account is disabled.' },
  identity_in_use: { status: 409, text: 'This identity is linked to another account already.' },
  signup_closed: { status: 403, text: 'No account uses this identity, and signing up is closed.' },
  login_required: {
    status: 401,
    text: 'Your session ended before the identity could be linked. Log in, and start again.',
  },
  // No username could be had (four random suffixes taken): trying again draws others.
  server_error: { status: 503, text: 'Something went wrong. Try again.' },
};

/** What a failed login through a provider says to the person, for a reason a redirect carried. */
export const providerLoginFailureText = (reason: string): string =>
  Object.hasOwn(FAILURE_PAGES, reason)
    ? FAILURE_PAGES[reason as ProviderLoginFailure].text
    : 'The login through the identity provider did not work. Try again.';

export interface IdentityRouterDeps {
  config: Config;
  services: Services;
  metrics: Metrics;
  clients: ReadonlyMap<string, ProviderClient>;
  flows: IdentityFlows;
  cookies: SessionCookies;
  authenticate: (req: Request) => Promise<AuthenticatedSession | undefined>;
  support: RouteSupport;
}

export function identityRouters({
  config,
  services,
  metrics,
  clients,
  flows,
  cookies,
  authenticate,
  support,
}: IdentityRouterDeps): Router[] {
  const { identityLogins, sessions, jwtSessions, secondFactors } = services;
  const { productName, publicUrl } = config.mail;
  // PUBLIC_URL is required with providers in production; elsewhere its default serves.
  const base = publicUrl ?? `http://localhost:${config.port}`;
  const callbackUrl = (provider: string) => `${base}/auth/${provider}/callback`;
  const returnUrl = createReturnUrlPolicy(config.identityProviders.allowedReturnUrls, base);
  const secure = (req: Request) => config.cookie.alwaysSecure || req.secure;

  const providerOrNotFound = (id: string): ProviderClient => {
    const client = clients.get(id);
    if (!client) throw new AppError('NOT_FOUND', { message: 'No such identity provider.' });
    return client;
  };

  const show = (res: Response, status: number, title: string, text: string) =>
    sendPage(res, status, { title, body: html`<p>${text}</p>` }, productName);

  /** Ends a failed flow: back to the app with the reason, or a page that says it. */
  const fail = (req: Request, res: Response, provider: string, reason: ProviderLoginFailure, returnTo?: URL) => {
    metrics.countProviderLogin(provider, reason);
    recordAuthEvent(req, 'login.failed', { method: 'provider', provider, reason });
    if (returnTo) {
      returnTo.searchParams.set('error', reason);
      redirectTo(res, returnTo);
      return;
    }
    const { status, text } = FAILURE_PAGES[reason];
    show(res, status, 'Login failed', text);
  };

  const pages = routerFor(
    providerLoginRoutes,
    {
      listIdentityProviders: (_req, res) => {
        res.json({
          providers: [...clients.values()].map(({ settings }) => ({ id: settings.id, name: settings.name })),
        });
      },

      startProviderLogin: async (req, res, { params, query }) => {
        const client = providerOrNotFound(params.provider);
        // A hosted login's own button: back to that login, whatever returnTo or link say.
        const { interaction = null } = query;
        const returnTo =
          interaction !== null
            ? new URL(`${base}${hostedLoginReturnPath(interaction)}`)
            : query.returnTo === undefined
              ? undefined
              : returnUrl(query.returnTo);
        if (query.returnTo !== undefined && !returnTo) throw new AppError('INVALID_RETURN_URL');
        let linkUserId: number | null = null;
        if (query.link === 'true' && interaction === null) {
          const auth = await authenticate(req);
          if (!auth)
            throw new AppError('UNAUTHORIZED', { message: 'Log in first: linking adds the identity to your account.' });
          linkUserId = auth.user.id;
        }
        let started;
        try {
          started = await client.startLogin(callbackUrl(client.settings.id));
        } catch (error) {
          if (returnTo && toAppError(error).code === 'PROVIDER_UNAVAILABLE') {
            fail(req, res, client.settings.id, 'provider_unavailable', returnTo);
            return;
          }
          throw error;
        }
        const flow = {
          provider: client.settings.id,
          checks: started.checks,
          returnTo: returnTo?.href ?? null,
          linkUserId,
          interaction,
        };
        res.append('Set-Cookie', flows.start(flow, secure(req)));
        res.setHeader('Cache-Control', 'no-store');
        redirectTo(res, started.url);
      },

      finishProviderLogin: async (req, res, { params, query: { state } }) => {
        const client = providerOrNotFound(params.provider);
        const provider = client.settings.id;
        const flow = flows.read(req.headers.cookie, provider, state);
        if (state !== '') res.append('Set-Cookie', flows.end(provider, state, secure(req)));
        res.setHeader('Cache-Control', 'no-store');
        const returnTo = flow?.returnTo ? new URL(flow.returnTo) : undefined;
        try {
          if (!flow) throw new ProviderLoginRefused('invalid_state');
          // The provider's answer, as openid-client checks it: the registered redirect URI (never
          // the Host header) with the query the provider sent.
          const answered = new URL(callbackUrl(provider));
          answered.search = new URL(req.originalUrl, base).search;
          const profile = await client.finishLogin(answered, flow.checks);

          if (flow.linkUserId !== null) {
            const auth = await authenticate(req);
            if (auth?.user.id !== flow.linkUserId) throw new ProviderLoginRefused('login_required');
            const { user } = await identityLogins.signIn(client.settings, profile, auth.user.id);
            metrics.countProviderLogin(provider, 'success');
            recordAuthEvent(req, 'identity.linked', { provider, userId: user.id });
            if (returnTo) {
              returnTo.searchParams.set('linked', provider);
              redirectTo(res, returnTo);
            } else show(res, 200, 'Identity linked', `${client.settings.name} now logs in to ${user.username}.`);
            return;
          }

          const { user, how } = await identityLogins.signIn(client.settings, profile);
          metrics.countProviderLogin(provider, 'success');
          if (flow.interaction !== null && returnTo) {
            // The hosted login trades the code and goes on (to the account's second factor, if it
            // has one): what it makes is the provider's login session, not one of this API.
            returnTo.searchParams.set('code', await identityLogins.issueLoginCode(user, provider));
            redirectTo(res, returnTo);
            return;
          }
          if (await secondFactors.isRequired(user.id)) {
            // No session yet: the app trades the code, is told MFA_REQUIRED, and finishes the login
            // at /login/mfa. A browser that came without an app has nowhere to type the code.
            recordAuthEvent(req, 'login.second_factor_required', { method: 'provider', provider, userId: user.id });
            if (returnTo) {
              returnTo.searchParams.set('code', await identityLogins.issueLoginCode(user, provider));
              redirectTo(res, returnTo);
            } else {
              show(
                res,
                403,
                'Second factor required',
                'This account asks for a second factor: log in through your app.',
              );
            }
            return;
          }
          const created = await sessions.createSession(user, { userAgent: req.get('user-agent'), amr: [] });
          res.append(
            'Set-Cookie',
            cookies.issue(created.token, sessions.remainingLifetimeSeconds(created), req.secure),
          );
          recordAuthEvent(req, 'login.succeeded', {
            method: 'provider',
            provider,
            how,
            userId: user.id,
            sessionId: created.session.id,
          });
          if (returnTo) {
            returnTo.searchParams.set('code', await identityLogins.issueLoginCode(user, provider));
            redirectTo(res, returnTo);
          } else show(res, 200, 'Logged in', `You are logged in as ${user.username}. You can close this page.`);
        } catch (error) {
          // A refusal goes back to the app; anything else (the database down) is the service's
          // own failure, answered and logged as such.
          if (!(error instanceof ProviderLoginRefused)) throw error;
          fail(req, res, provider, error.reason, returnTo);
        }
      },
    },
    support,
  );
  // Failures before the flow (an unknown provider, a returnTo not allowed, no session to link
  // to, a rate limit, a provider down) are pages too: the browser navigated here.
  const errorPage: ErrorRequestHandler = (failure, req, res, next) => {
    const error = toAppError(failure);
    if (error.status >= 500 && error.code !== 'PROVIDER_UNAVAILABLE') {
      next(failure);
      return;
    }
    recordRefusal(req, error);
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    show(res, error.status, 'Login failed', error.message);
  };
  pages.use(errorPage);

  const api = routerFor(
    identityRoutes,
    {
      exchangeLoginCode: async (req, res, { body }) => {
        const { user, provider } = await identityLogins.exchangeLoginCode(body.code);
        const issues = body.issue === 'tokens' ? 'tokens' : 'session';
        // The provider proved the first step; the account's own second factor is still asked.
        if (await secondFactors.isRequired(user.id)) throw await secondFactorRequired(secondFactors, user, issues, []);
        const origin = { userAgent: req.get('user-agent'), amr: [] };
        if (issues === 'tokens') {
          const pair = await jwtSessions.startJwtSession(user, origin);
          recordAuthEvent(req, 'login.code_exchanged', { provider, userId: user.id, sessionId: pair.session.id });
          res.json(presentTokenPair(pair));
          return;
        }
        const created = await sessions.createSession(user, origin);
        recordAuthEvent(req, 'login.code_exchanged', { provider, userId: user.id, sessionId: created.session.id });
        res.json(presentNewSession(user, created));
      },

      listMyIdentities: async (_req, res) => {
        const identities = await identityLogins.listIdentities(currentSession(res).user.id);
        res.json({ identities: identities.map(presentIdentity) });
      },

      unlinkMyIdentity: async (req, res, { params }) => {
        const { user } = currentSession(res);
        await identityLogins.unlink(user.id, params.id, 'user');
        recordAuthEvent(req, 'identity.unlinked', { userId: user.id, identityId: params.id });
        res.status(204).end();
      },
    },
    support,
  );
  return [pages, api];
}
