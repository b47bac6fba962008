import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { accountConfig, accountSettings } from './accounts';
import { adminConfig, adminProblems, adminSettings } from './admin';
import { databaseConfig, databaseSettings } from './database';
import { httpConfig, httpProblems, httpSettings } from './http';
import { identityProviderConfig, identityProviderProblems, identityProviderSettings } from './identity-providers';
import { jwtConfig, jwtProblems, jwtSettings } from './jwt';
import { mailConfig, mailSettings } from './mail';
import { openIdProviderConfig, openIdProviderProblems, openIdProviderSettings } from './openid-provider';
import { passwordConfig, passwordSettings } from './passwords';
import { rateLimitConfig, rateLimitSettings } from './rate-limits';
import { secondFactorConfig, secondFactorProblems, secondFactorSettings } from './second-factors';
import { sessionConfig, sessionProblems, sessionSettings } from './sessions';

export type { DatabaseConfig } from './database';
export type { JwtSigning } from './jwt';
export type { IdentityProviderSettings } from './identity-providers';

/**
 * Every setting the service reads, parsed once from the environment: the only module that knows
 * environment variable names. Each concern (./http, ./database, ./sessions, ./passwords,
 * ./rate-limits, ./jwt, ./admin, ./accounts, ./mail, ./identity-providers, ./second-factors, ./openid-provider) declares its settings, what they become, and which of their combinations cannot work;
 * this puts them together, checks the whole environment at once, lists every problem, and
 * freezes the result. Everything else receives the typed, frozen Config.
 */

const envSchema = z.object({
  ...httpSettings,
  ...databaseSettings,
  ...passwordSettings,
  ...sessionSettings,
  ...rateLimitSettings,
  ...jwtSettings,
  ...adminSettings,
  ...accountSettings,
  ...mailSettings,
  ...identityProviderSettings,
  ...secondFactorSettings,
  ...openIdProviderSettings,
});

type ParsedEnv = z.output<typeof envSchema>;

export type Env = Partial<Record<keyof z.input<typeof envSchema>, string>>;

/** The name of every environment variable the service reads. */
export const settingNames = Object.keys(envSchema.shape) as (keyof Env)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function toConfig(env: ParsedEnv) {
  return {
    ...httpConfig(env),
    ...databaseConfig(env),
    ...passwordConfig(env),
    ...sessionConfig(env),
    ...rateLimitConfig(env),
    ...jwtConfig(env),
    ...adminConfig(env),
    ...accountConfig(env),
    ...mailConfig(env),
    ...identityProviderConfig(env),
    ...secondFactorConfig(env),
    ...openIdProviderConfig(env),
  };
}

// A KeyObject is immutable already; mapped over, its methods would lose their call signatures.
type DeepReadonly<T> = {
  readonly [K in keyof T]: T[K] extends KeyObject ? T[K] : T[K] extends object ? DeepReadonly<T[K]> : T[K];
};
export type Config = DeepReadonly<ReturnType<typeof toConfig>>;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Settings that are each valid but together would break the service. */
function contradictions(env: ParsedEnv): string[] {
  return [
    ...sessionProblems(env),
    ...httpProblems(env),
    ...jwtProblems(env),
    ...adminProblems(env),
    ...identityProviderProblems(env),
    ...secondFactorProblems(env),
    ...openIdProviderProblems(env),
  ];
}

/**
 * Parses the environment into a frozen Config, or throws a ConfigError that lists every bad
 * variable at once. An empty string counts as unset, except for ANONYMOUS_ROLE, where empty
 * is meaningful.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of settingNames) {
    const value = env[key];
    input[key] = value === '' && key !== 'ANONYMOUS_ROLE' ? undefined : value;
  }
  const parsed = envSchema.safeParse(input);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (Boolean(input.ADMIN_USERNAME) !== Boolean(input.ADMIN_PASSWORD)) {
    problems.push('ADMIN_USERNAME and ADMIN_PASSWORD: set both or neither');
  }
  if (parsed.success) problems.push(...contradictions(parsed.data));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(toConfig(parsed.data));
}
