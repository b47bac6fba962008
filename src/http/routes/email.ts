import type { Router } from 'express';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import { recordAuthEvent } from '../auth-events';
import { presentUser } from '../presenters';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';

const accepted = named('Accepted', schemas.acceptedResponse);

/** Proving an address, and getting back into an account through it. */
export const emailRoutes = {
  requestEmailChange: defineRoute({
    method: 'post',
    path: '/email',
    summary: 'Ask to use a new email address',
    description:
      'A verification mail goes to the new address. The current address stays in force until the new one is verified; then it gets a notice, if it was verified.',
    tag: 'email',
    access: 'session',
    rateLimit: 'email-verification',
    body: named('EmailChangeRequest', schemas.emailChangeBody),
    answers: [{ status: 202, description: 'A verification mail is queued.', body: accepted }],
    usesDatabase: true,
  }),
  resendVerification: defineRoute({
    method: 'post',
    path: '/email/verify/resend',
    summary: 'Send the verification mail again',
    description:
      'To the address waiting for verification: a requested change, else the current address if it is unverified. Any earlier link stops working.',
    tag: 'email',
    access: 'session',
    rateLimit: 'email-verification',
    answers: [{ status: 202, description: 'A mail is queued, if any address waits for verification.', body: accepted }],
    usesDatabase: true,
  }),
  verifyEmail: defineRoute({
    method: 'post',
    path: '/email/verify',
    summary: 'Verify an email address with the token from its mail',
    tag: 'email',
    access: 'public',
    rateLimit: 'email-verification',
    body: named('TokenRequest', schemas.tokenBody),
    answers: [
      {
        status: 200,
        description: 'The address is verified, and in force.',
        body: named('UserAnswer', schemas.userOnlyResponse),
      },
    ],
    errors: ['INVALID_TOKEN', 'EMAIL_TAKEN'],
    usesDatabase: true,
  }),
  forgotPassword: defineRoute({
    method: 'post',
    path: '/password/forgot',
    summary: 'Ask for a password reset mail',
    description:
      'The answer is the same whether `login` names an account or not. A mail goes out only to an enabled account with a verified address.',
    tag: 'email',
    access: 'public',
    rateLimit: 'password-reset',
    body: named('PasswordForgotRequest', schemas.passwordForgotBody),
    answers: [{ status: 202, description: 'Accepted; a mail may or may not be queued.', body: accepted }],
    usesDatabase: true,
  }),
  resetPassword: defineRoute({
    method: 'post',
    path: '/password/reset',
    summary: 'Set a new password with the token from a reset mail',
    description: 'Every session and refresh token of the user ends, and a notice is mailed.',
    tag: 'email',
    access: 'public',
    rateLimit: 'password-reset',
    body: named('PasswordResetRequest', schemas.passwordResetBody),
    answers: [noContent('The password is changed.')],
    errors: ['INVALID_TOKEN', 'WEAK_PASSWORD', 'OVERLOADED'],
    usesDatabase: true,
  }),
};

export function emailRouter(services: Services, support: RouteSupport): Router {
  const { emailVerification, passwordReset } = services;
  return routerFor(
    emailRoutes,
    {
      requestEmailChange: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await emailVerification.requestChange(user, body.email);
        recordAuthEvent(req, 'email.change_requested', { userId: user.id });
        res.status(202).json({});
      },
      resendVerification: async (_req, res) => {
        await emailVerification.resend(currentSession(res).user);
        res.status(202).json({});
      },
      verifyEmail: async (req, res, { body }) => {
        const user = await emailVerification.verify(body.token);
        recordAuthEvent(req, 'email.verified', { userId: user.id });
        res.json({ user: presentUser(user) });
      },
      forgotPassword: async (_req, res, { body }) => {
        await passwordReset.requestReset(body.login);
        res.status(202).json({});
      },
      resetPassword: async (req, res, { body }) => {
        const user = await passwordReset.reset(body.token, body.newPassword);
        recordAuthEvent(req, 'password.reset', { userId: user.id });
        res.status(204).end();
      },
    },
    support,
  );
}
