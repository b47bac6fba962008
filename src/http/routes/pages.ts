import type { Response, Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { html, type SafeHtml } from '../../html';
import type { Services } from '../../services';
import { recordAuthEvent } from '../auth-events';
import { pageErrorHandler } from '../pages/errors';
import { formBody, pageAnswer } from '../pages/forms';
import { sendPage } from '../pages/layout';
import { defineRoute, named, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';

/**
 * The pages that links in mail open. A GET never uses its token: mail scanners fetch links
 * before people do. The page shows a form that sends the token by POST, which works without
 * JavaScript; its answer is a page too.
 */

const tokenQuery = z.object({ token: z.string().max(200).default('') });

export const pageRoutes = {
  emailVerificationPage: defineRoute({
    method: 'get',
    path: '/email/verify',
    summary: 'The page a verification link opens',
    description: 'Shows a button that verifies the address; opening the page uses nothing.',
    tag: 'pages',
    access: 'public',
    page: true,
    query: tokenQuery,
    answers: [pageAnswer('The page, with a form that posts the token to /email/verify/form.')],
    usesDatabase: false,
  }),
  emailVerificationForm: defineRoute({
    method: 'post',
    path: '/email/verify/form',
    summary: "The verification page's form",
    tag: 'pages',
    access: 'public',
    page: true,
    rateLimit: 'email-verification',
    body: named('TokenRequest', schemas.tokenBody),
    answers: [pageAnswer('The address is verified.')],
    errors: ['INVALID_TOKEN', 'EMAIL_TAKEN'],
    usesDatabase: true,
  }),
  passwordForgotPage: defineRoute({
    method: 'get',
    path: '/password/forgot',
    summary: 'The "forgot your password?" page',
    description: 'A form for a username or a verified email address; the login pages link here.',
    tag: 'pages',
    access: 'public',
    page: true,
    answers: [pageAnswer('The page, with a form that posts to /password/forgot/form.')],
    usesDatabase: false,
  }),
  passwordForgotForm: defineRoute({
    method: 'post',
    path: '/password/forgot/form',
    summary: 'The "forgot your password?" form',
    description: 'As POST /password/forgot: the same answer whether the login names an account or not.',
    tag: 'pages',
    access: 'public',
    page: true,
    rateLimit: 'password-reset',
    body: named('PasswordForgotRequest', schemas.passwordForgotBody),
    answers: [pageAnswer('Accepted; a mail may or may not be queued.')],
    usesDatabase: true,
  }),
  passwordResetPage: defineRoute({
    method: 'get',
    path: '/password/reset',
    summary: 'The page a reset link opens',
    description: 'Shows a form for the new password; opening the page uses nothing.',
    tag: 'pages',
    access: 'public',
    page: true,
    query: tokenQuery,
    answers: [pageAnswer('The page, with a form that posts the token and the new password to /password/reset/form.')],
    usesDatabase: false,
  }),
  passwordResetForm: defineRoute({
    method: 'post',
    path: '/password/reset/form',
    summary: "The reset page's form",
    tag: 'pages',
    access: 'public',
    page: true,
    rateLimit: 'password-reset',
    body: named(
      'PasswordResetForm',
      z
        .object({ token: z.string().max(200), newPassword: z.string(), confirmPassword: z.string() })
        .refine((form) => form.newPassword === form.confirmPassword, {
          path: ['confirmPassword'],
          message: 'does not match the new password',
        }),
    ),
    answers: [pageAnswer('The password is changed.')],
    errors: ['INVALID_TOKEN', 'WEAK_PASSWORD', 'OVERLOADED'],
    usesDatabase: true,
  }),
};

export function pagesRouter(config: Config, services: Services, support: RouteSupport): Router {
  const { productName } = config.mail;
  const show = (res: Response, status: number, title: string, body: SafeHtml) =>
    sendPage(res, status, { title, body }, productName);

  const resetForm = (token: string, problem?: string) =>
    html` ${problem && html`<p class="error" role="alert">${problem}</p>`}
      <form method="post" action="/password/reset/form">
        <input type="hidden" name="token" value="${token}" />
        <label for="newPassword">New password</label>
        <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required />
        <label for="confirmPassword">New password, again</label>
        <input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password" required />
        <button type="submit">Set the new password</button>
      </form>`;

  // A weak or mistyped password leaves the token usable: the form comes back, with the reason.
  const errorPage = pageErrorHandler(
    (res, status, shown) => sendPage(res, status, shown, productName),
    (error, req, res) => {
      const token = (req.body as { token?: unknown } | undefined)?.token;
      if (
        (error.code !== 'WEAK_PASSWORD' && error.code !== 'VALIDATION_FAILED') ||
        typeof token !== 'string' ||
        req.path !== pageRoutes.passwordResetForm.path
      ) {
        return false;
      }
      const reason = error.details?.map((detail) => detail.message).join('; ') ?? error.message;
      show(res, error.status, 'Choose a new password', resetForm(token, reason));
      return true;
    },
  );

  const router = routerFor(
    pageRoutes,
    {
      emailVerificationPage: (_req, res, { query }) => {
        show(
          res,
          200,
          'Verify your email address',
          html`<form method="post" action="/email/verify/form">
            <input type="hidden" name="token" value="${query.token}" />
            <p>Confirm that this address is yours.</p>
            <button type="submit">Verify my address</button>
          </form>`,
        );
      },
      emailVerificationForm: async (req, res, { body }) => {
        const user = await services.emailVerification.verify(body.token);
        recordAuthEvent(req, 'email.verified', { userId: user.id });
        show(res, 200, 'Address verified', html`<p>${user.email ?? ''} is now verified for ${user.username}.</p>`);
      },
      passwordForgotPage: (_req, res) => {
        show(
          res,
          200,
          'Forgot your password?',
          html`<form method="post" action="/password/forgot/form">
            <label for="login">Username or email</label>
            <input id="login" name="login" autocomplete="username" required autofocus />
            <button type="submit">Send me a link</button>
          </form>`,
        );
      },
      passwordForgotForm: async (_req, res, { body }) => {
        await services.passwordReset.requestReset(body.login);
        show(
          res,
          200,
          'Check your mail',
          html`<p>
            If an account has that name and a verified email address, a link to choose a new password is on its way to
            that address. It works for a short while, once.
          </p>`,
        );
      },
      passwordResetPage: (_req, res, { query }) => {
        show(res, 200, 'Choose a new password', resetForm(query.token));
      },
      passwordResetForm: async (req, res, { body }) => {
        const user = await services.passwordReset.reset(body.token, body.newPassword);
        recordAuthEvent(req, 'password.reset', { userId: user.id });
        show(
          res,
          200,
          'Password changed',
          html`<p>
            The password of ${user.username} is changed, and every session of the account has ended. Log in with the new
            password.
          </p>`,
        );
      },
    },
    { ...support, formBody: formBody() },
  );
  router.use(errorPage);
  return router;
}
