import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { NewSession } from '../../domain/model';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import type { IssueLogin, Logins } from '../logins';
import { recordAuthEvent } from '../auth-events';
import { AppError } from '../../errors';
import { presentCurrentUser, presentNewSession, presentUser } from '../presenters';
import { defineRoute, named, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';
import type { SessionCookies } from '../session-cookie';

const newSession = named('NewSession', schemas.newSessionResponse);

/** How a login that issues a session answers, for the API and the account pages alike. */
export function sessionStarter(sessions: Services['sessions'], cookies: SessionCookies) {
  // The token goes in the body for mobile and server clients, and in the cookie for browsers.
  const setSessionCookie = (req: Request, res: Response, created: NewSession) => {
    res.append('Set-Cookie', cookies.issue(created.token, sessions.remainingLifetimeSeconds(created), req.secure));
  };

  /** A login's answer: a session, as a cookie for browsers and in the body for other clients. */
  const startSession =
    (req: Request, res: Response): IssueLogin<z.input<typeof schemas.newSessionResponse>> =>
    async (user, amr) => {
      const created = await sessions.createSession(user, { userAgent: req.get('user-agent'), amr });
      setSessionCookie(req, res, created);
      return { answer: presentNewSession(user, created), sessionId: created.session.id };
    };
  return { setSessionCookie, startSession };
}

/** Signing up, logging in, and the signed-in user's own account. */
export const accountRoutes = {
  signUp: defineRoute({
    method: 'post',
    path: '/signup',
    summary: 'Create an account, and a first session',
    tag: 'accounts',
    access: 'public',
    signsIn: true,
    rateLimit: 'signup',
    countedAs: 'signup',
    description:
      'With `email`, a verification mail is sent to it. 409 EMAIL_TAKEN only when another account has verified that address. With SIGNUP=closed, 403 SIGNUP_CLOSED: only admins create users.',
    body: named('SignupRequest', schemas.signupBody),
    answers: [{ status: 201, description: 'The new user, and the token of their first session.', body: newSession }],
    errors: ['WEAK_PASSWORD', 'USERNAME_TAKEN', 'EMAIL_TAKEN', 'SIGNUP_CLOSED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  logIn: defineRoute({
    method: 'post',
    path: '/login',
    summary: 'Log in: a new session each time',
    tag: 'accounts',
    access: 'public',
    signsIn: true,
    countedAs: { method: 'password', issued: 'session' },
    body: named('LoginRequest', schemas.loginBody),
    answers: [{ status: 200, description: 'The user, and the token of the new session.', body: newSession }],
    errors: ['INVALID_CREDENTIALS', 'MFA_REQUIRED', 'RATE_LIMITED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  finishLogIn: defineRoute({
    method: 'post',
    path: '/login/mfa',
    summary:
      "A login's second step: the challenge of MFA_REQUIRED and a code, a recovery code or a passkey; answers as /login does",
    description:
      'A challenge lives 5 minutes, is used once, and dies after 5 wrong codes. Each try counts against the ' +
      "account's login rate limits. A code from the app is accepted once: a second use, even at the same moment, fails. " +
      'A passkey answers the options of POST /login/mfa/passkey/options (`amr` then ends in `hwk`, `mfa`).',
    tag: 'accounts',
    access: 'public',
    signsIn: true,
    countedAs: { method: 'second_factor', issued: 'session' },
    body: named('SecondFactorLoginRequest', schemas.secondFactorLoginBody),
    answers: [{ status: 200, description: 'The user, and the token of the new session.', body: newSession }],
    errors: ['INVALID_MFA_CODE', 'INVALID_MFA_CHALLENGE', 'INVALID_CREDENTIALS', 'RATE_LIMITED'],
    usesDatabase: true,
  }),
  secondStepPasskeyOptions: defineRoute({
    method: 'post',
    path: '/login/mfa/passkey/options',
    summary: "The options for navigator.credentials.get(), for a login's second step with a passkey",
    description:
      'For a challenge of MFA_REQUIRED whose `methods` list `passkey` (from /login or /token): they name the ' +
      "account's passkeys. Their challenge is good once, for 5 minutes; the answer goes to /login/mfa or /token/mfa.",
    tag: 'accounts',
    access: 'public',
    rateLimit: 'login-without-password',
    body: named('LoginChallengeRequest', schemas.loginChallengeBody),
    answers: [
      {
        status: 200,
        description: 'PublicKeyCredentialRequestOptionsJSON, with allowCredentials.',
        body: named('WebAuthnOptions', schemas.webAuthnOptionsResponse),
      },
    ],
    errors: ['INVALID_MFA_CHALLENGE', 'NOT_FOUND'],
    usesDatabase: true,
  }),
  passkeyLoginOptions: defineRoute({
    method: 'post',
    path: '/login/passkey/options',
    summary: 'The options for navigator.credentials.get(), to log in with a passkey',
    description:
      'They name no passkey (the browser offers those it holds for this site), so they reveal nothing of any ' +
      'account. Their challenge is good once, for 5 minutes.',
    tag: 'accounts',
    access: 'public',
    rateLimit: 'login-without-password',
    answers: [
      {
        status: 200,
        description: 'PublicKeyCredentialRequestOptionsJSON.',
        body: named('WebAuthnOptions', schemas.webAuthnOptionsResponse),
      },
    ],
    usesDatabase: true,
  }),
  logInWithPasskey: defineRoute({
    method: 'post',
    path: '/login/passkey',
    summary: "Log in with a passkey alone (the browser's answer to the options, as JSON); answers as /login does",
    description:
      'The authenticator must verify its user (PIN, biometrics): the passkey is two factors (`amr: ["hwk", "mfa"]`), ' +
      'and no second step follows.',
    tag: 'accounts',
    access: 'public',
    signsIn: true,
    rateLimit: 'login-without-password',
    countedAs: { method: 'passkey', issued: 'session' },
    body: named('PasskeyLogin', schemas.passkeyLoginBody),
    answers: [{ status: 200, description: 'The user, and the token of the new session.', body: newSession }],
    errors: ['INVALID_PASSKEY', 'INVALID_CREDENTIALS'],
    usesDatabase: true,
  }),
  getCurrentUser: defineRoute({
    method: 'get',
    path: '/me',
    summary: 'The signed-in user and the calling session',
    tag: 'accounts',
    access: 'session',
    answers: [
      { status: 200, description: 'The user and session.', body: named('CurrentUser', schemas.currentUserResponse) },
    ],
    usesDatabase: true,
  }),
  updateCurrentUser: defineRoute({
    method: 'patch',
    path: '/me',
    summary: "Change the signed-in user's profile",
    tag: 'accounts',
    access: 'session',
    body: named('ProfileChange', schemas.updateMeBody),
    answers: [
      { status: 200, description: 'The user as changed.', body: named('UserAnswer', schemas.userOnlyResponse) },
    ],
    usesDatabase: true,
  }),
  changePassword: defineRoute({
    method: 'post',
    path: '/password',
    summary: "Change the signed-in user's password",
    description: 'Every session of the user ends; the answer carries a fresh one.',
    tag: 'accounts',
    access: 'session',
    rateLimit: 'password-change',
    countedAs: 'password_change',
    body: named('PasswordChangeRequest', schemas.passwordChangeBody),
    answers: [{ status: 200, description: 'The user, and the token of the fresh session.', body: newSession }],
    errors: ['INVALID_CREDENTIALS', 'WEAK_PASSWORD', 'PASSWORD_CHANGED', 'OVERLOADED'],
    usesDatabase: true,
  }),
};

export function accountsRouter(
  services: Services,
  {
    cookies,
    logins,
    support,
    signupOpen,
  }: { cookies: SessionCookies; logins: Logins; support: RouteSupport; signupOpen: boolean },
): Router {
  const { accounts, sessions, secondFactors, passkeys, emailVerification } = services;
  const { setSessionCookie, startSession } = sessionStarter(sessions, cookies);

  return routerFor(
    accountRoutes,
    {
      signUp: async (req, res, { body }) => {
        if (!signupOpen) throw new AppError('SIGNUP_CLOSED');
        const user = await accounts.registerUser(body);
        await emailVerification.mailTokenForNewUser(user);
        const created = await sessions.createSession(user, { userAgent: req.get('user-agent'), amr: ['pwd'] });
        recordAuthEvent(req, 'signup', { userId: user.id });
        setSessionCookie(req, res, created);
        res.status(201).json(presentNewSession(user, created));
      },

      logIn: async (req, res, { body }) => {
        res.json(await logins.logIn(req, body, accountRoutes.logIn.countedAs, startSession(req, res)));
      },

      finishLogIn: async (req, res, { body }) => {
        res.json(await logins.finishLogIn(req, body, accountRoutes.finishLogIn.countedAs, startSession(req, res)));
      },

      secondStepPasskeyOptions: async (_req, res, { body }) => {
        const pending = await secondFactors.pendingChallenge(body.challenge);
        if (pending === undefined) throw new AppError('INVALID_MFA_CHALLENGE');
        res.json(await passkeys.secondStepOptions(pending.userId));
      },

      passkeyLoginOptions: async (_req, res) => {
        res.json(await passkeys.loginOptions());
      },

      logInWithPasskey: async (req, res, { body }) => {
        res.json(
          await logins.logInWithPasskey(req, body, accountRoutes.logInWithPasskey.countedAs, startSession(req, res)),
        );
      },

      getCurrentUser: async (_req, res) => {
        const auth = currentSession(res);
        const mfa = await secondFactors.summaries([auth.user.id]);
        res.json(presentCurrentUser(auth, mfa.get(auth.user.id)!));
      },

      updateCurrentUser: async (req, res, { body }) => {
        let { user } = currentSession(res);
        if (body.displayName !== undefined) user = await accounts.changeDisplayName(user.id, body.displayName);
        recordAuthEvent(req, 'profile.updated', { userId: user.id });
        res.json({ user: presentUser(user) });
      },

      changePassword: async (req, res, { body }) => {
        const { user } = currentSession(res);
        const created = await accounts.changePassword(user, {
          ...body,
          // The new session was proved as the one that asked: its factors, and the password again.
          origin: { userAgent: req.get('user-agent'), amr: currentSession(res).session.amr },
        });
        recordAuthEvent(req, 'password.changed', { userId: user.id, sessionId: created.session.id });
        setSessionCookie(req, res, created);
        res.json(presentNewSession(user, created));
      },
    },
    support,
  );
}
