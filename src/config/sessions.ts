import { z } from 'zod';
import { ROLE_NAME_PATTERN } from '../domain/model';
import { boolean, integer } from './settings';

/** How long sessions live, and how the webhook answers and caches them. */

const roleName = z.string().regex(ROLE_NAME_PATTERN, 'must be 1-63 characters of a-z, 0-9, "_" and "-"');

export const sessionSettings = {
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: integer(60, 10 * 365 * 86400).default(30 * 86400),
  SESSION_IDLE_TIMEOUT_SECONDS: integer(60, 10 * 365 * 86400).default(7 * 86400),
  SESSION_TOUCH_INTERVAL_SECONDS: integer(0, 86400).default(60),
  SESSION_PURGE_INTERVAL_SECONDS: integer(1, 7 * 86400).default(3600),
  SESSIONS_EXPIRE_ON_ROLE_CHANGE: boolean.default(true),

  WEBHOOK_MAX_AGE_SECONDS: integer(0, 86400).default(60),
  // 0 turns the cache off: every webhook call then reads the database.
  WEBHOOK_CACHE_TTL_SECONDS: integer(0, 3600).default(10),
  WEBHOOK_CACHE_MAX_ENTRIES: integer(0, 10_000_000).default(10_000),
  WEBHOOK_BODY_LIMIT_BYTES: integer(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  // Webhook refusals are logged one line per this many seconds, with their count by reason, not
  // one line each: a client spraying tokens must not cost a log write per try.
  WEBHOOK_REFUSAL_SUMMARY_SECONDS: integer(1, 3600).default(60),
  // Which Hasura calls the webhook: v2 (GraphQL Engine) or v3 (DDN), which reads no Cache-Control
  // and no Set-Cookie from the answer and makes every key of its body a session variable.
  HASURA_ENGINE: z.enum(['v2', 'v3']).default('v2'),
  // Empty means "no anonymous access": requests without credentials get 401.
  // Never a role that signed-in users or admins hold: that would hand their rights to everyone.
  ANONYMOUS_ROLE: z
    .union([z.literal(''), roleName.refine((role) => role !== 'user' && role !== 'admin', 'must not be user or admin')])
    .default('anonymous'),
};

type SessionEnv = z.output<z.ZodObject<typeof sessionSettings>>;

export function sessionConfig(env: SessionEnv) {
  return {
    sessions: {
      absoluteTimeoutSeconds: env.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
      idleTimeoutSeconds: env.SESSION_IDLE_TIMEOUT_SECONDS,
      touchIntervalSeconds: env.SESSION_TOUCH_INTERVAL_SECONDS,
      purgeIntervalSeconds: env.SESSION_PURGE_INTERVAL_SECONDS,
      endOnRoleChange: env.SESSIONS_EXPIRE_ON_ROLE_CHANGE,
    },
    webhook: {
      maxAgeSeconds: env.WEBHOOK_MAX_AGE_SECONDS,
      bodyLimitBytes: env.WEBHOOK_BODY_LIMIT_BYTES,
      engine: env.HASURA_ENGINE,
      refusalSummarySeconds: env.WEBHOOK_REFUSAL_SUMMARY_SECONDS,
      anonymousRole: env.ANONYMOUS_ROLE === '' ? null : env.ANONYMOUS_ROLE,
      cache: { ttlSeconds: env.WEBHOOK_CACHE_TTL_SECONDS, maxEntries: env.WEBHOOK_CACHE_MAX_ENTRIES },
    },
  };
}

export function sessionProblems(env: SessionEnv): string[] {
  if (env.SESSION_TOUCH_INTERVAL_SECONDS < env.SESSION_IDLE_TIMEOUT_SECONDS) return [];
  // A session's use is recorded at most once per touch interval; were that as long as the idle
  // timeout, a session in constant use would still die at the idle timeout.
  return [
    `SESSION_TOUCH_INTERVAL_SECONDS (${env.SESSION_TOUCH_INTERVAL_SECONDS}) must be less than ` +
      `SESSION_IDLE_TIMEOUT_SECONDS (${env.SESSION_IDLE_TIMEOUT_SECONDS}), or sessions in use would end at the idle timeout`,
  ];
}
