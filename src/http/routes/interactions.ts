import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { Config } from '../../config';
import { AppError } from '../../errors';
import { html } from '../../html';
import type { Services } from '../../services';
import type { Logins } from '../logins';
import type { LoginResult, OpenIdProvider } from '../openid-provider';
import { pageErrorHandler } from '../pages/errors';
import { formBody, formField, optionalFormField, pageAnswer } from '../pages/forms';
import { hostedPageOptions, sendPage, type Page } from '../pages/layout';
import { passwordForm, secondFactorForm, signupForm } from '../pages/login-forms';
import { defineRoute, named, routerFor, type RouteSupport } from '../route-definition';
import { recordAuthEvent } from '../auth-events';
import { secondFactorRequired } from '../logins';
import { interactionUid } from '../schemas';
import { secondFactorProofOf } from './account-pages';
import { providerLoginFailureText } from './identities';

/**
 * The OpenID Provider's hosted pages: where an app's user logs in (with the second step for an
 * account with a second factor) and agrees to what a third-party app asks. The provider sends
 * the browser to /interaction/{uid}; each form posts back under it, and a finished step goes
 * back to the provider (303), which sends the user on to the app.
 *
 * A login here is POST /login's: the same rate limits, the same answer and timing for unknown
 * users, the same auth events and metrics. What it makes is the provider's login session: a row
 * in `sessions` (kind `op`), which every rule that ends sessions ends.
 */

const uidParams = z.object({ uid: interactionUid });
const interactionForm = <S extends z.ZodRawShape>(name: string, fields: S) =>
  named(name, z.object({ csrf: z.string().max(100) }).extend(fields));

const LOGIN_KIND = { method: 'password', issued: 'session' } as const;
const SECOND_FACTOR_KIND = { method: 'second_factor', issued: 'session' } as const;
const backToProvider = { status: 303, description: 'Done: back to the provider, which sends the user on to the app.' };
const expired = { code: 'NOT_FOUND', message: 'This login is not known here.' } as const;

export const interactionRoutes = {
  interactionPage: defineRoute({
    method: 'get',
    path: '/interaction/{uid}',
    summary: 'The hosted login page (or the consent page) of an app’s login',
    description:
      'The OpenID Provider sends the browser here from /authorize. It shows the login form, or, for a third-party app that asks for more than the user gave it, what the app asks for.',
    tag: 'pages',
    access: 'public',
    page: true,
    params: uidParams,
    malformedParams: expired,
    answers: [pageAnswer('The login form, or the consent form.')],
    errors: ['INTERACTION_EXPIRED'],
    usesDatabase: true,
  }),
  interactionLogin: defineRoute({
    method: 'post',
    path: '/interaction/{uid}/login',
    summary: 'The hosted login form',
    description:
      'As POST /login, with the same rate limits and the same answer for unknown users. A user with a second factor is shown its form next.',
    tag: 'pages',
    access: 'public',
    page: true,
    signsIn: true,
    countedAs: LOGIN_KIND,
    params: uidParams,
    malformedParams: expired,
    body: interactionForm('InteractionLoginForm', { username: formField, password: formField }),
    answers: [backToProvider, pageAnswer('The second step, for an account with a second factor (status 401).')],
    errors: [
      'INVALID_CREDENTIALS',
      'MFA_REQUIRED',
      'RATE_LIMITED',
      'OVERLOADED',
      'INTERACTION_EXPIRED',
      'CSRF_REJECTED',
    ],
    usesDatabase: true,
  }),
  interactionSecondFactor: defineRoute({
    method: 'post',
    path: '/interaction/{uid}/mfa',
    summary: 'The hosted login’s second step',
    description: 'As POST /login/mfa. One field takes a code from the app or a recovery code.',
    tag: 'pages',
    access: 'public',
    page: true,
    signsIn: true,
    countedAs: SECOND_FACTOR_KIND,
    params: uidParams,
    malformedParams: expired,
    body: interactionForm('InteractionSecondFactorForm', { challenge: z.string().max(200), code: formField }),
    answers: [backToProvider],
    errors: ['INVALID_MFA_CODE', 'INVALID_MFA_CHALLENGE', 'INVALID_CREDENTIALS', 'RATE_LIMITED', 'INTERACTION_EXPIRED'],
    usesDatabase: true,
  }),
  interactionSignupPage: defineRoute({
    method: 'get',
    path: '/interaction/{uid}/signup',
    summary: 'The hosted sign-up page, linked from the hosted login',
    description: 'With SIGNUP=closed, 403 SIGNUP_CLOSED: the login page then shows no link here.',
    tag: 'pages',
    access: 'public',
    page: true,
    params: uidParams,
    malformedParams: expired,
    answers: [pageAnswer('The sign-up form.')],
    errors: ['INTERACTION_EXPIRED', 'SIGNUP_CLOSED'],
    usesDatabase: true,
  }),
  interactionSignup: defineRoute({
    method: 'post',
    path: '/interaction/{uid}/signup',
    summary: 'The hosted sign-up form: a new account, logged in to the app at once',
    description: 'As POST /signup, with the same rate limit, password rules and verification mail.',
    tag: 'pages',
    access: 'public',
    page: true,
    signsIn: true,
    rateLimit: 'signup',
    countedAs: 'signup',
    params: uidParams,
    malformedParams: expired,
    body: interactionForm('InteractionSignupForm', {
      username: formField,
      email: optionalFormField,
      password: formField,
    }),
    answers: [backToProvider, pageAnswer('The form again, with the reason (4xx).', 400)],
    errors: ['WEAK_PASSWORD', 'USERNAME_TAKEN', 'EMAIL_TAKEN', 'SIGNUP_CLOSED', 'OVERLOADED', 'INTERACTION_EXPIRED'],
    usesDatabase: true,
  }),
  interactionIdentity: defineRoute({
    method: 'get',
    path: '/interaction/{uid}/identity',
    summary: 'Where a login through an identity provider, started from the hosted login, comes back to',
    description:
      'The buttons of the hosted login go to /auth/{provider}?interaction={uid}; its callback sends the browser here with a one-time `code`, or with `error` and the reason, which the login form then shows.',
    tag: 'pages',
    access: 'public',
    page: true,
    rateLimit: 'login-without-password',
    params: uidParams,
    malformedParams: expired,
    query: z.object({ code: z.string().max(200).optional(), error: z.string().max(50).optional() }),
    answers: [
      backToProvider,
      pageAnswer('The login form with the reason the provider login failed, or the second step (401).', 400),
    ],
    errors: ['INVALID_TOKEN', 'MFA_REQUIRED', 'INTERACTION_EXPIRED'],
    usesDatabase: true,
  }),
  interactionConsent: defineRoute({
    method: 'post',
    path: '/interaction/{uid}/consent',
    summary: 'The consent form: the user agrees, or not, to what a third-party app asks',
    tag: 'pages',
    access: 'public',
    page: true,
    params: uidParams,
    malformedParams: expired,
    body: interactionForm('InteractionConsentForm', { decision: z.enum(['allow', 'deny']) }),
    answers: [backToProvider],
    errors: ['INTERACTION_EXPIRED', 'CSRF_REJECTED'],
    usesDatabase: true,
  }),
};

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are (your user id)',
  profile: 'Your username and display name',
  email: 'Your email address',
  offline_access: 'Stay signed in to the app while you are away',
  hasura: 'Read and change your data through the GraphQL API, as you',
};

export interface InteractionPagesDeps {
  config: Config;
  services: Services;
  logins: Logins;
  support: RouteSupport;
  openIdProvider: OpenIdProvider;
}

export function interactionsRouter({
  config,
  services,
  logins,
  support,
  openIdProvider,
}: InteractionPagesDeps): Router {
  const { productName } = config.mail;
  const logoUrl = config.openIdProvider?.logoUrl ?? null;
  const { signupOpen } = config.accounts;
  const identityProviders = config.identityProviders.providers;
  const show = (res: Response, status: number, page: Page) =>
    sendPage(res, status, page, productName, hostedPageOptions(config));

  /** The interaction's CSRF field: a MAC of its uid, which the interaction's own cookie carries too. */
  const csrfOf = (uid: string) =>
    createHmac('sha256', services.pageFormKey).update(`interaction:${uid}`).digest('base64url');
  const checkCsrf = (uid: string, given: string) => {
    const expected = Buffer.from(csrfOf(uid));
    const actual = Buffer.from(given);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new AppError('CSRF_REJECTED', { message: 'The form is out of date. Go back to the app and start again.' });
    }
  };

  /** The interaction this browser is in (its cookie names it), which must be the one in the path. */
  const interactionOf = async (
    req: Request,
    res: Response,
    uid: string,
  ): Promise<{ provider: Provider; details: Details }> => {
    const provider = await openIdProvider.provider();
    let details: Details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      throw new AppError('INTERACTION_EXPIRED', { cause: error });
    }
    if (details.uid !== uid) throw new AppError('INTERACTION_EXPIRED');
    return { provider, details };
  };

  const clientOf = (details: Details) => services.openIdClients.find(String(details.params.client_id));
  const clientNameOf = async (details: Details) => (await clientOf(details))?.name ?? 'the app';

  const heading = (clientName: string) =>
    html`${logoUrl && html`<p><img src="${logoUrl}" alt="${productName}" height="48" /></p>`}
      <p>to continue to <strong>${clientName}</strong></p>`;

  const csrfField = (uid: string) => html`<input type="hidden" name="csrf" value="${csrfOf(uid)}" />`;
  /** The other ways in that the login form offers: a provider's login, and sign-up. */
  const otherWaysIn = (uid: string) =>
    html`${
      identityProviders.length > 0 &&
      html`<p>Or continue with</p>
        <ul class="actions">
          ${identityProviders.map(
            ({ id, name }) => html`<li><a href="/auth/${id}?interaction=${uid}">${name}</a></li>`,
          )}
        </ul>`
    }
    ${signupOpen && html`<p>New here? <a href="/interaction/${uid}/signup">Create an account</a></p>`}`;
  const loginForm = (uid: string, clientName: string, options: { problem?: string; username?: string }) =>
    html`${heading(clientName)}
    ${passwordForm(`/interaction/${uid}/login`, csrfField(uid), {
      ...options,
      offerPasswordReset: config.mail.delivers,
    })}
    ${otherWaysIn(uid)}`;
  const signupPage = (
    uid: string,
    clientName: string,
    problem?: string,
    entered: { username?: string; email?: string } = {},
  ) =>
    html`${heading(clientName)} ${signupForm(`/interaction/${uid}/signup`, csrfField(uid), { problem, ...entered })}
      <p>Have an account? <a href="/interaction/${uid}">Log in</a></p>`;
  const secondStep = (uid: string, challenge: string, problem?: string) =>
    secondFactorForm(`/interaction/${uid}/mfa`, csrfField(uid), challenge, problem);

  const consentForm = (uid: string, clientName: string, scopes: string[]) =>
    html`${heading(clientName)}
      <p><strong>${clientName}</strong> asks to:</p>
      <ul>
        ${scopes.map((scope) => html`<li>${SCOPE_WORDS[scope] ?? scope}</li>`)}
      </ul>
      <form method="post" action="/interaction/${uid}/consent">
        ${csrfField(uid)}
        <button type="submit" name="decision" value="allow" autofocus>Allow</button>
        <button type="submit" name="decision" value="deny">Deny</button>
      </form>`;

  /** Ends the login step: the provider's login session is a row in `sessions`, made here. */
  const finishLogin =
    (provider: Provider, req: Request, res: Response) =>
    async (user: { id: number; sessionEpoch: number }, amr: string[]) => {
      const session = await services.sessions.createProviderSession(user, {
        userAgent: req.get('user-agent'),
        amr: amr as never,
      });
      const result: LoginResult = {
        login: {
          accountId: String(user.id),
          amr,
          ts: Math.floor(services.clock.now().getTime() / 1000),
          remember: true,
        },
        loginSessionId: session.id,
      };
      await provider.interactionFinished(req, res, { ...result }, { mergeWithLastSubmission: false });
      return { answer: undefined, sessionId: session.id };
    };

  /** The login form's failures are the form again (or the second step), with the reason in words. */
  const loginFailure = (error: AppError, req: Request, res: Response): boolean => {
    // An error handler sees no route parameters: the uid is read from the path.
    const uid = /^\/interaction\/([A-Za-z0-9_-]{10,64})\//.exec(req.path)?.[1];
    const body = req.body as { username?: unknown; email?: unknown; challenge?: unknown } | undefined;
    const username = typeof body?.username === 'string' ? body.username : '';
    if (error.code === 'CSRF_REJECTED' || error.code === 'INTERACTION_EXPIRED' || uid === undefined) return false;
    const clientName = String(res.locals.clientName ?? 'the app');
    if (error.code === 'MFA_REQUIRED') {
      show(res, 401, { title: 'Log in', body: secondStep(uid, String(error.fields.challenge)) });
      return true;
    }
    if (req.path.endsWith('/signup') && error.code !== 'SIGNUP_CLOSED') {
      const entered = { username, email: typeof body?.email === 'string' ? body.email : '' };
      const reason = error.details?.map((detail) => `${detail.path}: ${detail.message}`).join('; ') ?? error.message;
      show(res, error.status, { title: 'Create an account', body: signupPage(uid, clientName, reason, entered) });
      return true;
    }
    if (req.path.endsWith('/identity')) {
      show(res, error.status, { title: 'Log in', body: loginForm(uid, clientName, { problem: error.message }) });
      return true;
    }
    if (req.path.endsWith('/login')) {
      show(res, error.status, {
        title: 'Log in',
        body: loginForm(uid, clientName, { problem: error.message, username }),
      });
      return true;
    }
    if (req.path.endsWith('/mfa')) {
      show(res, error.status, {
        title: 'Log in',
        body:
          error.code === 'INVALID_MFA_CODE' && typeof body?.challenge === 'string'
            ? secondStep(uid, body.challenge, error.message)
            : loginForm(uid, clientName, { problem: error.message }),
      });
      return true;
    }
    return false;
  };

  const router = routerFor(
    interactionRoutes,
    {
      interactionPage: async (req, res, { params: { uid } }) => {
        const { provider, details } = await interactionOf(req, res, uid);
        const client = await clientOf(details);
        const clientName = client?.name ?? 'the app';
        if (details.prompt.name === 'login') {
          const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
          show(res, 200, { title: 'Log in', body: loginForm(uid, clientName, { username: hint }) });
          return;
        }
        // A first-party app is the service's own: asked for consent (prompt=consent, which
        // OpenID Connect wants with offline_access), it is given it with no page.
        if (client?.firstParty) {
          await provider.interactionFinished(req, res, { consent: { given: true } }, { mergeWithLastSubmission: true });
          return;
        }
        const resourceScopes = Object.values(
          (details.prompt.details.missingResourceScopes as Record<string, string[]> | undefined) ?? {},
        ).flat();
        const missing = [
          ...((details.prompt.details.missingOIDCScope as string[] | undefined) ?? []),
          ...resourceScopes,
        ];
        show(res, 200, { title: 'Allow access', body: consentForm(uid, clientName, missing) });
      },

      interactionLogin: async (req, res, { params: { uid }, body }) => {
        checkCsrf(uid, body.csrf);
        const { provider, details } = await interactionOf(req, res, uid);
        res.locals.clientName = await clientNameOf(details);
        await logins.logIn(req, body, LOGIN_KIND, finishLogin(provider, req, res));
      },

      interactionSecondFactor: async (req, res, { params: { uid }, body }) => {
        checkCsrf(uid, body.csrf);
        const { provider, details } = await interactionOf(req, res, uid);
        res.locals.clientName = await clientNameOf(details);
        const proof = { challenge: body.challenge, ...secondFactorProofOf(body.code) };
        await logins.finishLogIn(req, proof, SECOND_FACTOR_KIND, finishLogin(provider, req, res));
      },

      interactionSignupPage: async (req, res, { params: { uid } }) => {
        if (!signupOpen) throw new AppError('SIGNUP_CLOSED');
        const { details } = await interactionOf(req, res, uid);
        show(res, 200, { title: 'Create an account', body: signupPage(uid, await clientNameOf(details)) });
      },

      interactionSignup: async (req, res, { params: { uid }, body }) => {
        checkCsrf(uid, body.csrf);
        if (!signupOpen) throw new AppError('SIGNUP_CLOSED');
        const { provider, details } = await interactionOf(req, res, uid);
        res.locals.clientName = await clientNameOf(details);
        const user = await services.accounts.registerUser(body);
        await services.emailVerification.mailTokenForNewUser(user);
        const { sessionId } = await finishLogin(provider, req, res)(user, ['pwd']);
        recordAuthEvent(req, 'signup', { userId: user.id, sessionId });
      },

      interactionIdentity: async (req, res, { params: { uid }, query }) => {
        const { provider, details } = await interactionOf(req, res, uid);
        const clientName = await clientNameOf(details);
        res.locals.clientName = clientName;
        if (query.code === undefined) {
          const problem = providerLoginFailureText(query.error ?? '');
          show(res, 400, { title: 'Log in', body: loginForm(uid, clientName, { problem }) });
          return;
        }
        const { user, provider: identityProvider } = await services.identityLogins.exchangeLoginCode(query.code);
        // The provider proved the first step; the account's own second factor is still asked.
        if (await services.secondFactors.isRequired(user.id)) {
          throw await secondFactorRequired(services.secondFactors, user, 'session', []);
        }
        const { sessionId } = await finishLogin(provider, req, res)(user, []);
        recordAuthEvent(req, 'login.succeeded', {
          method: 'provider',
          provider: identityProvider,
          userId: user.id,
          sessionId,
        });
      },

      interactionConsent: async (req, res, { params: { uid }, body }) => {
        checkCsrf(uid, body.csrf);
        const { provider } = await interactionOf(req, res, uid);
        const result =
          body.decision === 'allow'
            ? { consent: { given: true } }
            : { error: 'access_denied', error_description: 'The user did not allow the app access.' };
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
      },
    },
    { ...support, formBody: formBody() },
  );
  router.use(pageErrorHandler((res, status, page) => show(res, status, page), loginFailure));
  return router;
}
