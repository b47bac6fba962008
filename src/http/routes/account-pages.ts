import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { ADMIN_ROLE, type AuthenticatedSession } from '../../domain/model';
import type { CodeProof } from '../../domain/second-factors';
import { AppError } from '../../errors';
import { html, SafeHtml } from '../../html';
import type { Services } from '../../services';
import { recordAuthEvent } from '../auth-events';
import { currentSession } from '../authentication';
import { PAGE_FORM_TOKEN_FIELD, type CsrfDefence } from '../csrf';
import type { Logins } from '../logins';
import { pageErrorHandler } from '../pages/errors';
import { formBody, formField, optionalFormField, pageAnswer } from '../pages/forms';
import { seeOther, sendPage, table, type Page } from '../pages/layout';
import { passwordForm, secondFactorForm } from '../pages/login-forms';
import { defineRoute, named, routerFor, type RouteDefinition, type RouteSupport } from '../route-definition';
import type { SessionCookies } from '../session-cookie';
import { sessionStarter } from './accounts';

/**
 * The signed-in user's own pages: a login form (with its second step), and /account, where
 * the user manages the profile, the password, sessions, linked identities, the authenticator
 * app, recovery codes and passkeys, without curl. They are plain forms over the cookie session:
 * each form posts to its own route, which does what the API route of the same name does and
 * redirects back (303) with a notice; the few answers that must be shown once (a TOTP secret,
 * recovery codes) are pages of their own, never URLs.
 */

/** What a signed-in page answers a browser without a session. */
export const toLogin = { status: 303, description: 'Without a session: on to the login page, which comes back here.' };
const backToAccount = { status: 303, description: 'Back to /account, which says what was done.' };

/** Where a login form may send the user on: a fixed list, so that it can never redirect elsewhere. */
export const LOGIN_DESTINATIONS = ['/account', '/admin'] as const;
const destination = z.enum(LOGIN_DESTINATIONS).catch('/account');

/** The notices /account shows after a form: fixed texts, chosen by a key in the redirect. */
const NOTICES = {
  'profile-saved': 'Your profile is saved.',
  'email-change-requested': 'A mail is on its way to the new address: open its link to confirm it.',
  'password-changed': 'Your password is changed. Every other session has ended.',
  'session-ended': 'The session has ended.',
  'other-sessions-ended': 'Every other session has ended.',
  'identity-unlinked': 'The identity is unlinked.',
  'totp-removed': 'The authenticator app is removed.',
  'passkey-added': 'The passkey is added: log in with it next time.',
  'passkey-renamed': 'The passkey is renamed.',
  'passkey-removed': 'The passkey is removed.',
} as const;
type Notice = keyof typeof NOTICES;
const noticeQuery = z.object({
  done: z
    .enum(Object.keys(NOTICES) as [Notice, ...Notice[]])
    .optional()
    .catch(undefined),
});

const accountForm = <B extends z.ZodType>(
  path: string,
  summary: string,
  body: B,
  extra: Partial<Omit<RouteDefinition, 'body'>> = {},
) =>
  defineRoute({
    method: 'post',
    path,
    summary,
    tag: 'pages',
    access: 'session',
    page: true,
    body: named(`${summary.replace(/[^A-Za-z]/g, '')}Form`, body),
    answers: [backToAccount],
    usesDatabase: true,
    ...extra,
  });

export const accountPageRoutes = {
  loginPage: defineRoute({
    method: 'get',
    path: '/account/login',
    summary: 'The login page of the account and admin pages',
    tag: 'pages',
    access: 'public',
    page: true,
    query: z.object({ next: destination.optional() }),
    answers: [pageAnswer('A form for the username and password.')],
    usesDatabase: false,
  }),
  loginForm: defineRoute({
    method: 'post',
    path: '/account/login',
    summary: "The login page's form",
    description:
      'As POST /login, with the same rate limits and the same answer for unknown users; the session is a cookie. ' +
      'A user with a second factor is shown its form next.',
    tag: 'pages',
    access: 'public',
    page: true,
    signsIn: true,
    countedAs: { method: 'password', issued: 'session' },
    body: named('LoginForm', z.object({ username: formField, password: formField, next: destination })),
    answers: [
      { status: 303, description: 'Signed in: on to /account, or /admin.' },
      pageAnswer('The second step, for an account with a second factor (status 401).'),
    ],
    errors: ['INVALID_CREDENTIALS', 'MFA_REQUIRED', 'RATE_LIMITED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  secondFactorForm: defineRoute({
    method: 'post',
    path: '/account/login/mfa',
    summary: "The login page's second step",
    description: 'As POST /login/mfa. One formField takes a code from the app or a recovery code.',
    tag: 'pages',
    access: 'public',
    page: true,
    signsIn: true,
    countedAs: { method: 'second_factor', issued: 'session' },
    body: named('SecondFactorForm', z.object({ challenge: z.string().max(200), code: formField, next: destination })),
    answers: [{ status: 303, description: 'Signed in: on to /account, or /admin.' }],
    errors: ['INVALID_MFA_CODE', 'INVALID_MFA_CHALLENGE', 'INVALID_CREDENTIALS', 'RATE_LIMITED'],
    usesDatabase: true,
  }),
  accountPage: defineRoute({
    method: 'get',
    path: '/account',
    summary: 'The signed-in user’s account page',
    tag: 'pages',
    access: 'session',
    page: true,
    query: noticeQuery,
    answers: [
      pageAnswer('Profile, password, second factors, sessions and linked identities, each with its forms.'),
      toLogin,
    ],
    usesDatabase: true,
  }),
  logOutForm: accountForm('/account/logout', 'Log out', z.object({}), {
    answers: [{ status: 303, description: 'Logged out: on to /account/login.' }],
  }),
  profileForm: accountForm('/account/profile', 'Change the display name', z.object({ displayName: formField })),
  emailForm: accountForm('/account/email', 'Change the email address', z.object({ email: formField }), {
    rateLimit: 'email-verification',
    errors: ['EMAIL_TAKEN'],
  }),
  passwordForm: accountForm(
    '/account/password',
    'Change the password',
    z
      .object({ currentPassword: formField, newPassword: formField, confirmPassword: formField })
      .refine((form) => form.newPassword === form.confirmPassword, {
        path: ['confirmPassword'],
        message: 'does not match the new password',
      }),
    {
      rateLimit: 'password-change',
      errors: ['INVALID_CREDENTIALS', 'WEAK_PASSWORD', 'PASSWORD_CHANGED', 'OVERLOADED'],
    },
  ),
  endSessionForm: accountForm('/account/sessions/end', 'End a session', z.object({ id: z.uuid() }), {
    errors: ['NOT_FOUND'],
  }),
  endOtherSessionsForm: accountForm('/account/sessions/end-others', 'End every other session', z.object({})),
  unlinkIdentityForm: accountForm('/account/identities/unlink', 'Unlink an identity', z.object({ id: formField }), {
    errors: ['NOT_FOUND', 'LAST_LOGIN_METHOD'],
  }),
  totpEnrolmentForm: accountForm(
    '/account/totp',
    'Set up an authenticator app',
    z.object({ password: optionalFormField }),
    {
      rateLimit: 'password-change',
      answers: [pageAnswer('The secret, as a QR code and as text, and a form for the first code.')],
      errors: ['PASSWORD_REQUIRED', 'INVALID_CREDENTIALS', 'MFA_ALREADY_ENABLED'],
    },
  ),
  totpConfirmationForm: accountForm(
    '/account/totp/confirm',
    'Confirm the authenticator app',
    z.object({ code: formField }),
    {
      rateLimit: 'password-change',
      answers: [pageAnswer('The recovery codes, shown this once.')],
      errors: ['INVALID_MFA_CODE', 'MFA_NOT_ENABLED'],
    },
  ),
  totpRemovalForm: accountForm(
    '/account/totp/remove',
    'Remove the authenticator app',
    z.object({ password: formField, code: formField }),
    { rateLimit: 'password-change', errors: ['INVALID_CREDENTIALS', 'INVALID_MFA_CODE', 'MFA_NOT_ENABLED'] },
  ),
  recoveryCodesForm: accountForm(
    '/account/recovery-codes',
    'Make new recovery codes',
    z.object({ password: optionalFormField }),
    {
      rateLimit: 'password-change',
      answers: [pageAnswer('The new recovery codes, shown this once; the old ones no longer work.')],
      errors: ['PASSWORD_REQUIRED', 'INVALID_CREDENTIALS', 'MFA_NOT_ENABLED'],
    },
  ),
  passkeysPage: defineRoute({
    method: 'get',
    path: '/account/passkeys',
    summary: 'The passkeys page: add one with this browser, rename or remove the others',
    description: 'The one page with a script (/account/passkeys.js), for the WebAuthn ceremony.',
    tag: 'pages',
    access: 'session',
    page: true,
    query: noticeQuery,
    answers: [pageAnswer('The passkeys, and a button that registers one.'), toLogin],
    usesDatabase: true,
  }),
  passkeysScript: defineRoute({
    method: 'get',
    path: '/account/passkeys.js',
    summary: "The passkeys page's script",
    tag: 'pages',
    access: 'public',
    answers: [
      {
        status: 200,
        description: 'JavaScript, with no dependency.',
        body: named('Script', z.string().describe('JavaScript.')),
        mediaType: 'text/javascript',
      },
    ],
    usesDatabase: false,
  }),
  renamePasskeyForm: accountForm(
    '/account/passkeys/rename',
    'Rename a passkey',
    z.object({ id: formField, name: formField }),
    { errors: ['NOT_FOUND'] },
  ),
  removePasskeyForm: accountForm('/account/passkeys/remove', 'Remove a passkey', z.object({ id: formField }), {
    errors: ['NOT_FOUND', 'LAST_LOGIN_METHOD'],
  }),
};

/** One formField takes either: six digits are a code from the app, anything else a recovery code. */
export function secondFactorProofOf(entered: string): CodeProof {
  const trimmed = entered.trim();
  return /^\d{6}$/.test(trimmed) ? { code: trimmed } : { recoveryCode: trimmed };
}

const dateOf = (date: Date | null) => (date === null ? '—' : date.toISOString().slice(0, 16).replace('T', ' '));

export interface AccountPagesDeps {
  config: Config;
  services: Services;
  logins: Logins;
  cookies: SessionCookies;
  csrf: CsrfDefence;
  support: RouteSupport;
}

/** What the account and admin pages share: their layout, navigation, and forms' CSRF field. */
export function signedInPages({ config, csrf }: Pick<AccountPagesDeps, 'config' | 'csrf'>) {
  const { productName } = config.mail;
  const show = (res: Response, status: number, page: Page) => sendPage(res, status, page, productName);

  /** A form that posts to `action`, with the page's CSRF field. */
  const form = (req: Request, action: string, fields: SafeHtml) =>
    html`<form method="post" action="${action}">
      <input type="hidden" name="${PAGE_FORM_TOKEN_FIELD}" value="${csrf.pageFormToken(req)}" />
      ${fields}
    </form>`;

  const header = (req: Request, auth: AuthenticatedSession | undefined) =>
    html`<nav aria-label="Pages">
      <strong>${productName}</strong>
      <a href="/account">Account</a>
      ${auth?.user.roles.includes(ADMIN_ROLE) && html`<a href="/admin">Admin</a>`}
      ${auth && form(req, '/account/logout', html`<button type="submit">Log out</button>`)}
    </nav>`;

  /** A page of a signed-in user, with the navigation. */
  const showSignedIn = (req: Request, res: Response, page: Page) =>
    show(res, 200, { ...page, header: header(req, res.locals.auth as AuthenticatedSession | undefined) });

  const loginRedirect = (next: string) => `/account/login${next === '/account' ? '' : `?next=${next}`}`;

  /**
   * A signed-in page asked for without a session goes to the login page, which comes back here;
   * a form posted without one is told so, since what it asked is not done.
   */
  const signInFirst = (error: AppError, req: Request, res: Response): boolean => {
    if (error.code !== 'UNAUTHORIZED' || req.method !== 'GET') return false;
    const next = req.path.startsWith('/admin') ? '/admin' : '/account';
    seeOther(res, loginRedirect(next));
    return true;
  };

  return { show, form, showSignedIn, signInFirst };
}

export function accountPagesRouter(deps: AccountPagesDeps): Router {
  const { services, logins, cookies } = deps;
  const { sessions, accounts, secondFactors, passkeys, identityLogins, emailVerification } = services;
  const { startSession, setSessionCookie } = sessionStarter(sessions, cookies);
  const { show, form, showSignedIn, signInFirst } = signedInPages(deps);
  const back = (res: Response, done: Notice, to = '/account') => seeOther(res, `${to}?done=${done}`);

  const nextField = (next: string) => html`<input type="hidden" name="next" value="${next}" />`;
  const loginForm = (next: string, problem?: string, username = '') =>
    passwordForm('/account/login', nextField(next), {
      problem,
      username,
      offerPasswordReset: deps.config.mail.delivers,
    });
  const secondFactorStep = (challenge: string, next: string, problem?: string) =>
    secondFactorForm('/account/login/mfa', nextField(next), challenge, problem);

  const recoveryCodesPage = (req: Request, res: Response, title: string, codes: readonly string[]) =>
    showSignedIn(req, res, {
      title,
      body: html`<p>
          Keep these codes somewhere safe. Each logs you in once, in place of a code from the app. They are shown only
          now.
        </p>
        <ul class="secret" aria-label="Recovery codes">
          ${codes.map((code) => html`<li>${code}</li>`)}
        </ul>
        <p><a href="/account">Back to your account</a></p>`,
    });

  /** The login form's failures are the form again, with the reason tied to its fields. */
  const loginFailure = (error: AppError, req: Request, res: Response): boolean => {
    const body = req.body as { username?: unknown; challenge?: unknown; next?: unknown } | undefined;
    const next = destination.parse(body?.next);
    if (error.code === 'CSRF_REJECTED') return false;
    if (req.path === '/account/login' && req.method === 'POST') {
      if (error.code === 'MFA_REQUIRED') {
        show(res, 401, { title: 'Log in', body: secondFactorStep(String(error.fields.challenge), next) });
        return true;
      }
      const username = typeof body?.username === 'string' ? body.username : '';
      show(res, error.status, { title: 'Log in', body: loginForm(next, error.message, username) });
      return true;
    }
    if (req.path === '/account/login/mfa' && error.code === 'INVALID_MFA_CODE' && typeof body?.challenge === 'string') {
      show(res, error.status, { title: 'Log in', body: secondFactorStep(body.challenge, next, error.message) });
      return true;
    }
    if (req.path === '/account/login/mfa') {
      show(res, error.status, { title: 'Log in', body: loginForm(next, error.message) });
      return true;
    }
    return signInFirst(error, req, res);
  };

  const overview = async (req: Request, res: Response, notice: Notice | undefined) => {
    const auth = currentSession(res);
    const { user } = auth;
    const [summaries, recoveryCodesLeft, live, identities] = await Promise.all([
      secondFactors.summaries([user.id]),
      secondFactors.countRecoveryCodes(user.id),
      sessions.listUserSessions(user.id),
      identityLogins.listIdentities(user.id),
    ]);
    const mfa = summaries.get(user.id)!;
    const passwordField = (id: string, label: string) =>
      html`<label for="${id}">${label}</label>
        <input id="${id}" name="password" type="password" autocomplete="current-password" />`;
    const totpSection = mfa.totp
      ? html`<p>An authenticator app is set up. ${recoveryCodesLeft} recovery codes are left.</p>
          ${form(
            req,
            '/account/recovery-codes',
            html`${passwordField('codes-password', 'Current password (not needed within 5 minutes of logging in)')}
              <button type="submit">Make new recovery codes</button>`,
          )}
          ${form(
            req,
            '/account/totp/remove',
            html`<label for="remove-password">Current password</label>
              <input id="remove-password" name="password" type="password" autocomplete="current-password" required />
              <label for="remove-code">A code from the app, or a recovery code</label>
              <input id="remove-code" name="code" autocomplete="one-time-code" required />
              <button type="submit">Remove the authenticator app</button>`,
          )}`
      : form(
          req,
          '/account/totp',
          html`<p>No authenticator app is set up.</p>
            ${passwordField('totp-password', 'Current password (not needed within 5 minutes of logging in)')}
            <button type="submit">Set up an authenticator app</button>`,
        );
    const sessionRows = live.map(
      (each) =>
        html`<tr>
          <td>${each.userAgent ?? 'unknown'}${each.id === auth.session.id && html` <strong>(this one)</strong>`}</td>
          <td>${dateOf(each.createdAt)}</td>
          <td>${dateOf(each.lastUsedAt)}</td>
          <td>${each.amr.join(', ') || '—'}</td>
          <td>
            ${form(
              req,
              '/account/sessions/end',
              html`<input type="hidden" name="id" value="${each.id}" />
                <button type="submit" aria-label="End the session from ${dateOf(each.createdAt)}">End</button>`,
            )}
          </td>
        </tr>`,
    );
    const identityRows = identities.map(
      (identity) =>
        html`<tr>
          <td>${identity.provider}</td>
          <td>${identity.email ?? '—'}</td>
          <td>${dateOf(identity.createdAt)}</td>
          <td>
            ${form(
              req,
              '/account/identities/unlink',
              html`<input type="hidden" name="id" value="${identity.id}" />
                <button type="submit" aria-label="Unlink ${identity.provider}">Unlink</button>`,
            )}
          </td>
        </tr>`,
    );
    showSignedIn(req, res, {
      title: 'Your account',
      wide: true,
      body: html`${notice && html`<p class="notice" role="status">${NOTICES[notice]}</p>`}
        <section aria-labelledby="profile">
          <h2 id="profile">Profile</h2>
          <p>
            Username <strong>${user.username}</strong>. Roles: ${user.roles.join(', ')}. Email:
            ${user.email === null ? 'none' : html`${user.email} (${user.emailVerified ? 'verified' : 'not verified'})`}.
          </p>
          ${form(
            req,
            '/account/profile',
            html`<label for="displayName">Display name</label>
              <input id="displayName" name="displayName" value="${user.displayName ?? ''}" maxlength="100" />
              <button type="submit">Save</button>`,
          )}
          ${form(
            req,
            '/account/email',
            html`<label for="email">New email address</label>
              <input id="email" name="email" type="email" autocomplete="email" required />
              <button type="submit">Send a confirmation mail</button>`,
          )}
        </section>
        <section aria-labelledby="password-heading">
          <h2 id="password-heading">Password</h2>
          ${form(
            req,
            '/account/password',
            html`<label for="currentPassword">Current password</label>
              <input
                id="currentPassword"
                name="currentPassword"
                type="password"
                autocomplete="current-password"
                required
              />
              <label for="newPassword">New password</label>
              <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required />
              <label for="confirmPassword">New password, again</label>
              <input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password" required />
              <button type="submit">Change the password</button>`,
          )}
        </section>
        <section aria-labelledby="second-factor">
          <h2 id="second-factor">Two-step login</h2>
          ${totpSection}
          <p>
            ${mfa.passkeys} passkey${mfa.passkeys === 1 ? '' : 's'}. <a href="/account/passkeys">Manage passkeys</a>
          </p>
        </section>
        <section aria-labelledby="sessions">
          <h2 id="sessions">Sessions</h2>
          ${table(['Device', 'Started (UTC)', 'Last used', 'Proved with', ''], sessionRows)}
          ${form(req, '/account/sessions/end-others', html`<button type="submit">End every other session</button>`)}
        </section>
        ${
          identities.length > 0 &&
          html`<section aria-labelledby="identities">
            <h2 id="identities">Linked identities</h2>
            ${table(['Provider', 'Email', 'Linked (UTC)', ''], identityRows)}
          </section>`
        }`,
    });
  };

  const router = routerFor(
    accountPageRoutes,
    {
      loginPage: (_req, res, { query }) => {
        show(res, 200, { title: 'Log in', body: loginForm(query.next ?? '/account') });
      },

      loginForm: async (req, res, { body }) => {
        await logins.logIn(req, body, accountPageRoutes.loginForm.countedAs, startSession(req, res));
        seeOther(res, body.next);
      },

      secondFactorForm: async (req, res, { body }) => {
        const proof = { challenge: body.challenge, ...secondFactorProofOf(body.code) };
        await logins.finishLogIn(req, proof, accountPageRoutes.secondFactorForm.countedAs, startSession(req, res));
        seeOther(res, body.next);
      },

      accountPage: async (req, res, { query }) => {
        await overview(req, res, query.done);
      },

      logOutForm: async (req, res) => {
        const { user, session } = currentSession(res);
        await sessions.endSession(session.id);
        recordAuthEvent(req, 'logout', { userId: user.id, sessionId: session.id });
        res.append('Set-Cookie', cookies.clear(req.secure));
        seeOther(res, '/account/login');
      },

      profileForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        const displayName = body.displayName.trim();
        await accounts.changeDisplayName(user.id, displayName === '' ? null : displayName);
        recordAuthEvent(req, 'profile.updated', { userId: user.id });
        back(res, 'profile-saved');
      },

      emailForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await emailVerification.requestChange(user, body.email);
        recordAuthEvent(req, 'email.change_requested', { userId: user.id });
        back(res, 'email-change-requested');
      },

      passwordForm: async (req, res, { body }) => {
        const auth = currentSession(res);
        const created = await accounts.changePassword(auth.user, {
          currentPassword: body.currentPassword,
          newPassword: body.newPassword,
          origin: { userAgent: req.get('user-agent'), amr: auth.session.amr },
        });
        recordAuthEvent(req, 'password.changed', { userId: auth.user.id, sessionId: created.session.id });
        setSessionCookie(req, res, created);
        back(res, 'password-changed');
      },

      endSessionForm: async (req, res, { body }) => {
        const { user, session } = currentSession(res);
        await sessions.endOwnSession(user.id, body.id);
        recordAuthEvent(req, 'session.ended', { userId: user.id, sessionId: body.id });
        if (body.id !== session.id) {
          back(res, 'session-ended');
          return;
        }
        res.append('Set-Cookie', cookies.clear(req.secure));
        seeOther(res, '/account/login');
      },

      endOtherSessionsForm: async (req, res) => {
        const { user, session } = currentSession(res);
        const others = (await sessions.listUserSessions(user.id)).filter((each) => each.id !== session.id);
        for (const other of others) {
          await sessions.endOwnSession(user.id, other.id);
          recordAuthEvent(req, 'session.ended', { userId: user.id, sessionId: other.id });
        }
        back(res, 'other-sessions-ended');
      },

      unlinkIdentityForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await identityLogins.unlink(user.id, body.id, 'user');
        recordAuthEvent(req, 'identity.unlinked', { userId: user.id, identityId: body.id });
        back(res, 'identity-unlinked');
      },

      totpEnrolmentForm: async (req, res, { body }) => {
        const enrolment = await secondFactors.beginTotpEnrolment(currentSession(res), body.password);
        showSignedIn(req, res, {
          title: 'Set up an authenticator app',
          body: html`<p>Scan this code with the app, or type the key into it. Then enter the code it shows.</p>
            <div class="qr" role="img" aria-label="QR code of the key">${new SafeHtml(enrolment.qrSvg)}</div>
            <p>Key: <code class="secret" id="totp-secret">${enrolment.secret}</code></p>
            ${form(
              req,
              '/account/totp/confirm',
              html`<label for="code">The code the app shows</label>
                <input
                  id="code"
                  name="code"
                  inputmode="numeric"
                  autocomplete="one-time-code"
                  pattern="[0-9 ]*"
                  required
                  autofocus
                />
                <button type="submit">Turn it on</button>`,
            )}`,
        });
      },

      totpConfirmationForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        const codes = await secondFactors.confirmTotp(user.id, body.code.trim());
        recordAuthEvent(req, 'mfa.enabled', { userId: user.id, method: 'totp' });
        recoveryCodesPage(req, res, 'The authenticator app is on', codes);
      },

      totpRemovalForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await secondFactors.removeTotp(user.id, { password: body.password, ...secondFactorProofOf(body.code) });
        recordAuthEvent(req, 'mfa.disabled', { userId: user.id, method: 'totp' });
        back(res, 'totp-removed');
      },

      recoveryCodesForm: async (req, res, { body }) => {
        const auth = currentSession(res);
        const codes = await secondFactors.regenerateRecoveryCodes(auth, body.password);
        recordAuthEvent(req, 'mfa.recovery_codes_replaced', { userId: auth.user.id });
        recoveryCodesPage(req, res, 'New recovery codes', codes);
      },

      passkeysPage: async (req, res, { query }) => {
        const { user } = currentSession(res);
        const rows = (await passkeys.list(user.id)).map(
          (passkey) =>
            html`<tr>
              <td>
                ${form(
                  req,
                  '/account/passkeys/rename',
                  html`<input type="hidden" name="id" value="${passkey.id}" />
                    <input name="name" value="${passkey.name}" aria-label="Name" maxlength="100" required />
                    <button type="submit">Rename</button>`,
                )}
              </td>
              <td>${passkey.deviceType === 'multiDevice' ? 'synced' : 'this device only'}</td>
              <td>${dateOf(passkey.createdAt)}</td>
              <td>${dateOf(passkey.lastUsedAt)}</td>
              <td>
                ${form(
                  req,
                  '/account/passkeys/remove',
                  html`<input type="hidden" name="id" value="${passkey.id}" />
                    <button type="submit" aria-label="Remove ${passkey.name}">Remove</button>`,
                )}
              </td>
            </tr>`,
        );
        showSignedIn(req, res, {
          title: 'Passkeys',
          wide: true,
          script: accountPageRoutes.passkeysScript.path,
          body: html`${query.done && html`<p class="notice" role="status">${NOTICES[query.done]}</p>`}
            <p>A passkey logs you in with this device's screen lock or a security key, with no password.</p>
            ${table(['Name', 'Kind', 'Added (UTC)', 'Last used', ''], rows)}
            <h2>Add a passkey</h2>
            <form id="add-passkey">
              <label for="passkey-name">Name</label>
              <input id="passkey-name" name="name" maxlength="100" placeholder="e.g. my laptop" />
              <label for="passkey-password">Current password (not needed within 5 minutes of logging in)</label>
              <input id="passkey-password" name="password" type="password" autocomplete="current-password" />
              <button type="submit">Add a passkey with this browser</button>
              <p id="passkey-status" role="status" aria-live="polite"></p>
            </form>`,
        });
      },

      passkeysScript: (_req, res) => {
        res.type('text/javascript').setHeader('Cache-Control', 'no-cache');
        res.send(PASSKEYS_SCRIPT);
      },

      renamePasskeyForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await passkeys.rename(user.id, body.id, body.name);
        recordAuthEvent(req, 'passkey.renamed', { userId: user.id });
        back(res, 'passkey-renamed', '/account/passkeys');
      },

      removePasskeyForm: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await passkeys.remove(user.id, body.id);
        recordAuthEvent(req, 'passkey.removed', { userId: user.id });
        back(res, 'passkey-removed', '/account/passkeys');
      },
    },
    { ...deps.support, formBody: formBody() },
  );
  router.use(
    pageErrorHandler((res, status, page) => show(res, status, page), loginFailure, {
      href: '/account',
      label: 'Back to your account',
    }),
  );
  return router;
}

/**
 * The passkeys page's script: the WebAuthn ceremony with the browser's own JSON methods
 * (PublicKeyCredential.parseCreationOptionsFromJSON and toJSON, in every current browser), so
 * that nothing is built or bundled. It calls the JSON API with the session cookie, as a
 * same-origin fetch, which the API's CSRF check admits.
 */
const PASSKEYS_SCRIPT = `'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('add-passkey');
  const status = document.getElementById('passkey-status');
  if (!form) return;
  const call = async (path, body) => {
    const answer = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    const json = answer.status === 204 ? {} : await answer.json();
    if (!answer.ok) throw new Error(json.message || 'The request failed.');
    return json;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      status.textContent = 'This browser cannot create passkeys.';
      return;
    }
    const password = form.elements.password.value;
    const name = form.elements.name.value.trim();
    try {
      status.textContent = 'Follow your browser\\'s prompt…';
      const options = await call('/me/passkeys/options', password ? { password } : {});
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
      const credential = await navigator.credentials.create({ publicKey });
      await call('/me/passkeys', name ? { response: credential.toJSON(), name } : { response: credential.toJSON() });
      window.location.assign('/account/passkeys?done=passkey-added');
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  });
});
`;
