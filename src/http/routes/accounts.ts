import type { Request, Response, Router } from 'express';
import type { NewSession } from '../../domain/model';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import type { LogIn } from '../logins';
import { recordAuthEvent } from '../auth-events';
import { AppError } from '../../errors';
import { presentCurrentUser, presentNewSession, presentUser } from '../presenters';
import { defineRoute, named, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';
import type { SessionCookies } from '../session-cookie';

const newSession = named('NewSession', schemas.newSessionResponse);

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
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED', 'OVERLOADED'],
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
    logIn,
    support,
    signupOpen,
  }: { cookies: SessionCookies; logIn: LogIn; support: RouteSupport; signupOpen: boolean },
): Router {
  const { accounts, sessions, emailVerification } = services;

  // The token goes in the body for mobile and server clients, and in the cookie for browsers.
  const setSessionCookie = (req: Request, res: Response, created: NewSession) => {
    res.append('Set-Cookie', cookies.issue(created.token, sessions.remainingLifetimeSeconds(created), req.secure));
  };

  return routerFor(
    accountRoutes,
    {
      signUp: async (req, res, { body }) => {
        if (!signupOpen) throw new AppError('SIGNUP_CLOSED');
        const user = await accounts.registerUser(body);
        await emailVerification.mailTokenForNewUser(user);
        const created = await sessions.createSession(user, req.get('user-agent'));
        recordAuthEvent(req, 'signup', { userId: user.id });
        setSessionCookie(req, res, created);
        res.status(201).json(presentNewSession(user, created));
      },

      logIn: async (req, res, { body }) => {
        const answer = await logIn(req, body, accountRoutes.logIn.countedAs, async (user) => {
          const created = await sessions.createSession(user, req.get('user-agent'));
          setSessionCookie(req, res, created);
          return { answer: presentNewSession(user, created), sessionId: created.session.id };
        });
        res.json(answer);
      },

      getCurrentUser: (_req, res) => {
        res.json(presentCurrentUser(currentSession(res)));
      },

      updateCurrentUser: async (req, res, { body }) => {
        let { user } = currentSession(res);
        if (body.displayName !== undefined) user = await accounts.changeDisplayName(user.id, body.displayName);
        recordAuthEvent(req, 'profile.updated', { userId: user.id });
        res.json({ user: presentUser(user) });
      },

      changePassword: async (req, res, { body }) => {
        const { user } = currentSession(res);
        const created = await accounts.changePassword(user, { ...body, userAgent: req.get('user-agent') });
        recordAuthEvent(req, 'password.changed', { userId: user.id, sessionId: created.session.id });
        setSessionCookie(req, res, created);
        res.json(presentNewSession(user, created));
      },
    },
    support,
  );
}
