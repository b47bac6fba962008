import type { Router } from 'express';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import { recordAuthEvent } from '../auth-events';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';

const recoveryCodes = named('RecoveryCodes', schemas.recoveryCodesResponse);

/**
 * The signed-in user's second factors: an authenticator app (TOTP) and its recovery codes. The
 * calls that may check the password count against the password-change limit, so that none is a
 * way to guess the password, nor the app's codes.
 */
export const secondFactorRoutes = {
  getSecondFactors: defineRoute({
    method: 'get',
    path: '/me/mfa',
    summary: "The signed-in user's second factors",
    tag: 'second-factors',
    access: 'session',
    answers: [{ status: 200, description: 'What is set up.', body: named('MfaStatus', schemas.mfaStatusResponse) }],
    usesDatabase: true,
  }),
  beginTotpEnrolment: defineRoute({
    method: 'post',
    path: '/me/mfa/totp',
    summary: 'Start setting up an authenticator app: its secret, as text and as a QR code',
    description:
      'Nothing is asked at login until POST /me/mfa/totp/confirm. Calling again before that replaces the secret.',
    tag: 'second-factors',
    access: 'session',
    rateLimit: 'password-change',
    body: named('PasswordConfirmation', schemas.passwordConfirmationBody),
    answers: [
      {
        status: 200,
        description: 'The secret to enter in the app.',
        body: named('TotpEnrolment', schemas.totpEnrolmentResponse),
      },
    ],
    errors: ['INVALID_CREDENTIALS', 'PASSWORD_REQUIRED', 'MFA_ALREADY_ENABLED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  confirmTotpEnrolment: defineRoute({
    method: 'post',
    path: '/me/mfa/totp/confirm',
    summary: 'Finish setting up the app with a code from it: logins now ask for a code',
    tag: 'second-factors',
    access: 'session',
    body: named('TotpConfirmation', schemas.totpConfirmationBody),
    answers: [{ status: 200, description: 'The recovery codes, shown this once.', body: recoveryCodes }],
    errors: ['INVALID_MFA_CODE', 'MFA_ALREADY_ENABLED', 'MFA_NOT_ENABLED'],
    usesDatabase: true,
  }),
  removeTotp: defineRoute({
    method: 'delete',
    path: '/me/mfa/totp',
    summary: 'Remove the app and the recovery codes, with the password and a code',
    tag: 'second-factors',
    access: 'session',
    rateLimit: 'password-change',
    body: named('TotpRemoval', schemas.totpRemovalBody),
    answers: [noContent('Logins ask for the password alone.')],
    errors: ['INVALID_CREDENTIALS', 'INVALID_MFA_CODE', 'MFA_NOT_ENABLED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  replaceRecoveryCodes: defineRoute({
    method: 'post',
    path: '/me/mfa/recovery-codes',
    summary: 'A new set of recovery codes; the old set stops working',
    tag: 'second-factors',
    access: 'session',
    rateLimit: 'password-change',
    body: named('PasswordConfirmation', schemas.passwordConfirmationBody),
    answers: [{ status: 200, description: 'The new codes, shown this once.', body: recoveryCodes }],
    errors: ['INVALID_CREDENTIALS', 'PASSWORD_REQUIRED', 'MFA_NOT_ENABLED', 'OVERLOADED'],
    usesDatabase: true,
  }),
};

export function secondFactorsRouter(services: Services, support: RouteSupport): Router {
  const { secondFactors } = services;
  return routerFor(
    secondFactorRoutes,
    {
      getSecondFactors: async (_req, res) => {
        const { user } = currentSession(res);
        const [summary, recoveryCodesLeft] = [
          (await secondFactors.summaries([user.id])).get(user.id)!,
          await secondFactors.countRecoveryCodes(user.id),
        ];
        res.json({ totp: summary.totp, recoveryCodesLeft });
      },

      beginTotpEnrolment: async (_req, res, { body }) => {
        res.json(await secondFactors.beginTotpEnrolment(currentSession(res), body.password));
      },

      confirmTotpEnrolment: async (req, res, { body }) => {
        const { user } = currentSession(res);
        const codes = await secondFactors.confirmTotp(user.id, body.code);
        recordAuthEvent(req, 'mfa.enabled', { userId: user.id, method: 'totp' });
        res.json({ recoveryCodes: codes });
      },

      removeTotp: async (req, res, { body }) => {
        const { user } = currentSession(res);
        await secondFactors.removeTotp(user.id, body);
        recordAuthEvent(req, 'mfa.disabled', { userId: user.id, method: 'totp' });
        res.status(204).end();
      },

      replaceRecoveryCodes: async (req, res, { body }) => {
        const auth = currentSession(res);
        const codes = await secondFactors.regenerateRecoveryCodes(auth, body.password);
        recordAuthEvent(req, 'mfa.recovery_codes_replaced', { userId: auth.user.id });
        res.json({ recoveryCodes: codes });
      },
    },
    support,
  );
}
