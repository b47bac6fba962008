import { z } from 'zod';
import { integer } from './settings';

/** How mail leaves, what it says it is from, and where its links point. */

const smtpUrl = z.string().refine((value) => {
  try {
    const { protocol, hostname } = new URL(value);
    return (protocol === 'smtp:' || protocol === 'smtps:') && hostname !== '';
  } catch {
    return false;
  }
}, 'must be smtp://user:password@host:port or smtps://user:password@host:port');

const publicUrl = z
  .string()
  .refine((value) => {
    try {
      const { protocol, search, hash } = new URL(value);
      return (protocol === 'http:' || protocol === 'https:') && search === '' && hash === '';
    } catch {
      return false;
    }
  }, 'must be the URL this service is reached at, such as https://auth.example.com')
  // Links are built as PUBLIC_URL + path: without the trailing slash, a path prefix stays.
  .transform((value) => value.replace(/\/+$/, ''));

export const mailSettings = {
  // Never read from the Host header, which a client chooses.
  PUBLIC_URL: publicUrl.optional(),
  SMTP_URL: smtpUrl.optional(),
  MAIL_FROM: z.string().min(3).default('Hasura Auth <no-reply@localhost>'),
  // The name that mail and pages give this service.
  PRODUCT_NAME: z.string().min(1).max(100).default('Hasura Auth'),
  // A mail that could not be sent this long after it was queued is given up on, with an error log.
  MAIL_GIVE_UP_AFTER_SECONDS: integer(60, 7 * 86400).default(86400),
};

type MailEnv = z.output<z.ZodObject<typeof mailSettings>> & { NODE_ENV?: string; PORT: number };

export function mailConfig(env: MailEnv) {
  const production = env.NODE_ENV === 'production';
  return {
    mail: {
      /** Null in production until PUBLIC_URL is set: mail then waits in the outbox. */
      publicUrl: env.PUBLIC_URL ?? (production ? null : `http://localhost:${env.PORT}`),
      /** Null: in development each mail's text is logged; in production mail waits in the outbox. */
      smtpUrl: env.SMTP_URL ?? null,
      from: env.MAIL_FROM,
      productName: env.PRODUCT_NAME,
      giveUpAfterSeconds: env.MAIL_GIVE_UP_AFTER_SECONDS,
      /** Without SMTP, log each mail (links and tokens included) instead of sending it: development only. */
      logInsteadOfSending: !production && env.SMTP_URL === undefined,
      /** Whether mail reaches anyone (or, in development, the log): pages offer mail only then. */
      delivers: (env.SMTP_URL !== undefined || !production) && (env.PUBLIC_URL !== undefined || !production),
    },
  };
}
