import { z } from 'zod';

/** How many logins, signups, password changes, resets and verification mails are admitted, and from where. */

/**
 * A rate limit as `<attempts>/<window seconds>` ("10/900": 10 attempts in 15 minutes), or `off`.
 * The window is fixed: it starts at the first attempt, and the count restarts when it ends.
 */
const attemptLimit = z.union([
  z.literal('off').transform(() => null),
  z
    .string()
    .regex(/^\d{1,9}\/\d{1,9}$/, 'must be "<attempts>/<window seconds>", such as 10/900, or "off"')
    .transform((value) => {
      const [attempts = 0, windowSeconds = 0] = value.split('/').map(Number);
      return { attempts, windowSeconds };
    })
    .refine(
      ({ attempts, windowSeconds }) => attempts >= 1 && windowSeconds >= 1,
      'attempts and seconds must be at least 1',
    ),
]);
export const rateLimitSettings = {
  LOGIN_LIMIT_PER_IP: attemptLimit.default({ attempts: 100, windowSeconds: 600 }),
  LOGIN_FAILURE_LIMIT_PER_USERNAME: attemptLimit.default({ attempts: 50, windowSeconds: 3600 }),
  LOGIN_FAILURE_LIMIT_PER_USER_IP: attemptLimit.default({ attempts: 10, windowSeconds: 900 }),
  SIGNUP_LIMIT_PER_IP: attemptLimit.default({ attempts: 20, windowSeconds: 3600 }),
  PASSWORD_CHANGE_LIMIT_PER_IP: attemptLimit.default({ attempts: 20, windowSeconds: 3600 }),
  // POST /password/forgot and POST /password/reset from one address.
  PASSWORD_RESET_LIMIT_PER_IP: attemptLimit.default({ attempts: 20, windowSeconds: 3600 }),
  // POST /password/forgot for one login (username or address), whether or not it exists.
  PASSWORD_RESET_LIMIT_PER_ACCOUNT: attemptLimit.default({ attempts: 5, windowSeconds: 3600 }),
  // POST /email, /email/verify/resend and /email/verify from one address.
  EMAIL_VERIFICATION_LIMIT_PER_IP: attemptLimit.default({ attempts: 30, windowSeconds: 3600 }),
  // POST /email and /email/verify/resend by one user.
  EMAIL_VERIFICATION_LIMIT_PER_USER: attemptLimit.default({ attempts: 5, windowSeconds: 3600 }),
};

export function rateLimitConfig(env: z.output<z.ZodObject<typeof rateLimitSettings>>) {
  return {
    rateLimits: {
      loginPerIp: env.LOGIN_LIMIT_PER_IP,
      loginFailuresPerUsername: env.LOGIN_FAILURE_LIMIT_PER_USERNAME,
      loginFailuresPerUsernameAndIp: env.LOGIN_FAILURE_LIMIT_PER_USER_IP,
      signupPerIp: env.SIGNUP_LIMIT_PER_IP,
      passwordChangePerIp: env.PASSWORD_CHANGE_LIMIT_PER_IP,
      passwordResetPerIp: env.PASSWORD_RESET_LIMIT_PER_IP,
      passwordResetPerAccount: env.PASSWORD_RESET_LIMIT_PER_ACCOUNT,
      emailVerificationPerIp: env.EMAIL_VERIFICATION_LIMIT_PER_IP,
      emailVerificationPerUser: env.EMAIL_VERIFICATION_LIMIT_PER_USER,
    },
  };
}
