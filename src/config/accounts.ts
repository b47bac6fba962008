import { z } from 'zod';
import { integer } from './settings';

/** Who may sign up, and how long the tokens that mail carries stay usable. */

export const accountSettings = {
  // closed: only admins create users (POST /admin/users); /signup answers 403 SIGNUP_CLOSED.
  SIGNUP: z.enum(['open', 'closed']).default('open'),
  PASSWORD_RESET_TOKEN_LIFETIME_SECONDS: integer(60, 86400).default(30 * 60),
  EMAIL_VERIFICATION_TOKEN_LIFETIME_SECONDS: integer(60, 30 * 86400).default(24 * 3600),
  // The set-password link of a user an admin created without a password.
  INVITATION_TOKEN_LIFETIME_SECONDS: integer(60, 30 * 86400).default(7 * 86400),
};

type AccountEnv = z.output<z.ZodObject<typeof accountSettings>>;

export function accountConfig(env: AccountEnv) {
  return {
    accounts: {
      signupOpen: env.SIGNUP === 'open',
      passwordResetTokenLifetimeSeconds: env.PASSWORD_RESET_TOKEN_LIFETIME_SECONDS,
      emailVerificationTokenLifetimeSeconds: env.EMAIL_VERIFICATION_TOKEN_LIFETIME_SECONDS,
      invitationTokenLifetimeSeconds: env.INVITATION_TOKEN_LIFETIME_SECONDS,
    },
  };
}
