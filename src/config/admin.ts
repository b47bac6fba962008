import { z } from 'zod';
import { passwordProblem } from '../domain/passwords';
import { boolean } from './settings';

/** The admin API's secret, the first admin, and who may read the metrics. */

export const adminSettings = {
  ADMIN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_USERNAME: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  METRICS_ENABLED: boolean.default(true),
  // Unset: /metrics answers 401 to everyone (see metricsRouter).
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
};

type AdminEnv = z.output<z.ZodObject<typeof adminSettings>>;

export function adminConfig(env: AdminEnv) {
  return {
    admin: {
      secret: env.ADMIN_SECRET ?? null,
      bootstrap:
        env.ADMIN_USERNAME && env.ADMIN_PASSWORD
          ? { username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD }
          : null,
    },
    metrics: env.METRICS_ENABLED ? { token: env.METRICS_TOKEN ?? null } : null,
  };
}

/** The first admin's password meets the password policy, whose length is another concern's. */
export function adminProblems(env: AdminEnv & { PASSWORD_MIN_LENGTH: number }): string[] {
  if (!env.ADMIN_PASSWORD) return [];
  const problem = passwordProblem(
    env.ADMIN_PASSWORD,
    { minLength: env.PASSWORD_MIN_LENGTH },
    { username: env.ADMIN_USERNAME },
  );
  return problem ? [`ADMIN_PASSWORD: ${problem} (PASSWORD_MIN_LENGTH is ${env.PASSWORD_MIN_LENGTH})`] : [];
}
