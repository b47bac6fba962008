import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ROLE_NAME_PATTERN } from './domain/model';
import { passwordProblem } from './domain/passwords';

/**
 * Every setting the service reads, parsed once from the environment. This is the only module
 * that knows environment variable names; everything else receives the typed, frozen Config.
 */

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

// `z.coerce.boolean()` would read "false" as true, so booleans are spelled out.
const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A comma-separated list, empty items dropped. */
const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((each) => each.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

// Express's own names for address ranges, besides addresses and CIDR subnets.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const proxyAddress = z.string().refine((value) => {
  if (PROXY_RANGE_NAMES.includes(value)) return true;
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}, 'must be an IP address, a CIDR subnet, or loopback, linklocal or uniquelocal');

/** `https://app.example.com` exactly as a browser sends it in `Origin`: scheme, host, port if not the default. */
const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}, 'must be an origin such as https://app.example.com (scheme, host and port only, no path, no "*")');

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
// Hasura refuses an iss or aud that holds a ':' and is not a URI (docs/hasura-jwt-contract.md §2.4):
// a scheme, then only the characters RFC 3986 allows.
const RFC_3986_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const jwtStringOrUri = z
  .string()
  .min(1)
  .refine((value) => !value.includes(':') || RFC_3986_URI.test(value), 'must be a URI when it contains ":"');

/**
 * A private signing key as JWT_PRIVATE_KEY takes it: PKCS#8 PEM, with real newlines or with
 * literal "\n" (some environment editors take one line only), or a private JWK as JSON. A
 * problem is described without a word of the value: it is a secret.
 */
function parsePrivateKey(text: string): KeyObject | string {
  const value = text.trim();
  let key: KeyObject;
  if (value.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(value);
    } catch {
      return 'is not valid JSON (a private JWK), nor a PEM';
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'must be a JSON object (a private JWK)';
    if (!('d' in jwk)) return 'is a public key: give the private key (a JWK with "d")';
    try {
      key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      return 'is not a usable private JWK';
    }
  } else {
    const pem = value.replace(/\\n/g, '\n');
    const label = /^-----BEGIN ([A-Z0-9 ]{1,40})-----/.exec(pem)?.[1];
    if (label === undefined) {
      return 'must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) or a private JWK (a JSON object)';
    }
    if (label.endsWith('PUBLIC KEY') || label === 'CERTIFICATE') return 'is a public key: give the private key';
    if (label !== 'PRIVATE KEY') {
      return `must be PKCS#8 (-----BEGIN PRIVATE KEY-----), not ${label}: convert it with openssl pkcs8 -topk8 -nocrypt`;
    }
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      return 'is not a readable PKCS#8 private key';
    }
  }
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    if ((details?.modulusLength ?? 0) < 2048)
      return `is an RSA key of ${details?.modulusLength} bits: use 2048 or more`;
  } else if (!(key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1')) {
    return 'must be an EC P-256 key (ES256) or an RSA key (RS256)';
  }
  return key;
}

/** The JWT algorithm a key parsed by parsePrivateKey signs with. */
const algorithmOfKey = (key: KeyObject) => (key.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256');

const privateKey = z.string().transform((text, ctx) => {
  const parsed = parsePrivateKey(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const roleName = z.string().regex(ROLE_NAME_PATTERN, 'must be 1-63 characters of a-z, 0-9, "_" and "-"');

const envSchema = z.object({
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // auto: readable lines at a terminal outside production, JSON otherwise (see wantsReadableLogs).
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  NODE_ENV: z.string().optional(),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_SSL: z.enum(['disable', 'no-verify', 'verify-full']).default('disable'),
  DATABASE_POOL_MAX: integer(1, 1000).default(10),
  // How long start-up keeps retrying a database that does not answer yet before it gives up.
  DATABASE_WAIT_TIMEOUT_SECONDS: integer(0, 86400).default(60),
  // Short, so that a stuck database fails a request within seconds (a 503) instead of holding it
  // until Hasura's own 30 s webhook timeout.
  DATABASE_STATEMENT_TIMEOUT_MS: integer(10, 10 * 60_000).default(10_000),
  DATABASE_ACQUIRE_TIMEOUT_MS: integer(10, 10 * 60_000).default(5_000),
  DATA_DIR: z.string().default('./data'),

  BCRYPT_COST: integer(4, 15).default(12),
  // One core is left to the event loop, which serves the webhook.
  BCRYPT_THREADS: integer(1, 256).default(Math.max(1, availableParallelism() - 1)),
  BCRYPT_QUEUE_MAX: integer(0, 100_000).default(16),
  PASSWORD_MIN_LENGTH: integer(1, 72).default(8),

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
  // Every body but the webhook's is a few fields: a larger limit only gives a client more to make
  // the parser chew on.
  JSON_BODY_LIMIT_BYTES: integer(1024, 1024 * 1024).default(64 * 1024),
  // Empty means "no anonymous access": requests without credentials get 401.
  // Never a role that signed-in users or admins hold: that would hand their rights to everyone.
  ANONYMOUS_ROLE: z
    .union([z.literal(''), roleName.refine((role) => role !== 'user' && role !== 'admin', 'must not be user or admin')])
    .default('anonymous'),

  // How many proxies in front of the service are believed about the client (X-Forwarded-For, and
  // X-Forwarded-Proto, which decides whether a cookie is Secure): a hop count, or the proxies'
  // addresses and subnets. Unset: none, and the connection itself is the client.
  TRUST_PROXY: z.union([z.string().regex(/^\d+$/).transform(Number), list(proxyAddress)]).optional(),

  // Browsers hold their session in a cookie. SameSite=None lets it travel cross-site and so needs Secure.
  COOKIE_SAME_SITE: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['lax', 'strict', 'none']))
    .default('lax'),
  // False: Secure only when the request came over HTTPS. True: always.
  COOKIE_SECURE: boolean.default(false),
  // Unset: the cookie is sent back to this host only. Set (`example.com`): to its subdomains too,
  // Hasura's among them.
  COOKIE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, 'must be a domain such as example.com')
    .optional(),
  // The browser origins allowed to call this service with the session cookie. Never a wildcard.
  CORS_ORIGINS: list(origin).default([]),

  LOGIN_LIMIT_PER_IP: attemptLimit.default({ attempts: 100, windowSeconds: 600 }),
  LOGIN_FAILURE_LIMIT_PER_USERNAME: attemptLimit.default({ attempts: 50, windowSeconds: 3600 }),
  LOGIN_FAILURE_LIMIT_PER_USER_IP: attemptLimit.default({ attempts: 10, windowSeconds: 900 }),
  SIGNUP_LIMIT_PER_IP: attemptLimit.default({ attempts: 20, windowSeconds: 3600 }),
  PASSWORD_CHANGE_LIMIT_PER_IP: attemptLimit.default({ attempts: 20, windowSeconds: 3600 }),
  JWT_ALGORITHM: z.enum(['ES256', 'RS256', 'HS256']).default('ES256'),
  // Hasura takes an HS256 key as raw UTF-8 bytes and refuses one shorter than 32 bytes.
  JWT_SECRET: z
    .string()
    .refine((value) => Buffer.byteLength(value, 'utf8') >= 32, 'must be at least 32 bytes')
    .optional(),
  // ES256 or RS256 keys given here sign instead of keys generated in the database. NEXT is
  // published at once and takes over once every Hasura has fetched it: how keys are rotated.
  JWT_PRIVATE_KEY: privateKey.optional(),
  JWT_NEXT_PRIVATE_KEY: privateKey.optional(),
  JWT_ISSUER: jwtStringOrUri.default('hasura-auth-webhook'),
  JWT_AUDIENCE: jwtStringOrUri.default('hasura'),
  JWT_CLAIMS_NAMESPACE: z.string().min(1).default('https://hasura.io/jwt/claims'),
  JWT_CLAIMS_FORMAT: z.enum(['json', 'stringified_json']).default('json'),
  ACCESS_TOKEN_LIFETIME_SECONDS: integer(10, 86400).default(15 * 60),
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: integer(0, 60).default(10),
  JWKS_MAX_AGE_SECONDS: integer(0, 86400).default(300),

  ADMIN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),

  METRICS_ENABLED: boolean.default(true),
  // Unset: /metrics answers 401 to everyone (see metricsRouter).
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_USERNAME: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
});

export type Env = Partial<Record<keyof z.input<typeof envSchema>, string>>;

/** The name of every environment variable the service reads. */
export const settingNames = Object.keys(envSchema.shape) as (keyof Env)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type DatabaseConfig =
  | {
      kind: 'postgres';
      url: string;
      ssl: 'disable' | 'no-verify' | 'verify-full';
      poolMax: number;
      /** Longest a statement may run (PostgreSQL's statement_timeout), and wait for a pooled connection. */
      statementTimeoutMs: number;
      acquireTimeoutMs: number;
    }
  | { kind: 'pglite'; dataDir: string };

function toConfig(env: z.output<typeof envSchema>) {
  const database: DatabaseConfig = env.DATABASE_URL
    ? {
        kind: 'postgres',
        url: env.DATABASE_URL,
        ssl: env.DATABASE_SSL,
        poolMax: env.DATABASE_POOL_MAX,
        statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
        acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
      }
    : { kind: 'pglite', dataDir: env.DATA_DIR };
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    production: env.NODE_ENV === 'production',
    database,
    databaseWaitTimeoutSeconds: env.DATABASE_WAIT_TIMEOUT_SECONDS,
    passwords: { bcryptCost: env.BCRYPT_COST, minLength: env.PASSWORD_MIN_LENGTH },
    hashing: { threads: env.BCRYPT_THREADS, queueMax: env.BCRYPT_QUEUE_MAX },
    sessions: {
      absoluteTimeoutSeconds: env.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
      idleTimeoutSeconds: env.SESSION_IDLE_TIMEOUT_SECONDS,
      touchIntervalSeconds: env.SESSION_TOUCH_INTERVAL_SECONDS,
      purgeIntervalSeconds: env.SESSION_PURGE_INTERVAL_SECONDS,
      expireOnRoleChange: env.SESSIONS_EXPIRE_ON_ROLE_CHANGE,
    },
    webhook: {
      maxAgeSeconds: env.WEBHOOK_MAX_AGE_SECONDS,
      bodyLimitBytes: env.WEBHOOK_BODY_LIMIT_BYTES,
      anonymousRole: env.ANONYMOUS_ROLE === '' ? null : env.ANONYMOUS_ROLE,
      cache: { ttlSeconds: env.WEBHOOK_CACHE_TTL_SECONDS, maxEntries: env.WEBHOOK_CACHE_MAX_ENTRIES },
    },
    jsonBodyLimitBytes: env.JSON_BODY_LIMIT_BYTES,
    trustProxy: env.TRUST_PROXY ?? false,
    cookie: {
      sameSite: env.COOKIE_SAME_SITE,
      alwaysSecure: env.COOKIE_SECURE,
      domain: env.COOKIE_DOMAIN ?? null,
    },
    corsOrigins: env.CORS_ORIGINS,
    metrics: env.METRICS_ENABLED ? { token: env.METRICS_TOKEN ?? null } : null,
    rateLimits: {
      loginPerIp: env.LOGIN_LIMIT_PER_IP,
      loginFailuresPerUsername: env.LOGIN_FAILURE_LIMIT_PER_USERNAME,
      loginFailuresPerUsernameAndIp: env.LOGIN_FAILURE_LIMIT_PER_USER_IP,
      signupPerIp: env.SIGNUP_LIMIT_PER_IP,
      passwordChangePerIp: env.PASSWORD_CHANGE_LIMIT_PER_IP,
    },
    jwt: {
      algorithm: env.JWT_ALGORITHM,
      secret: env.JWT_SECRET ?? null,
      /** Unset: ES256 and RS256 keys are generated and kept in the database. */
      privateKey: env.JWT_PRIVATE_KEY ?? null,
      nextPrivateKey: env.JWT_NEXT_PRIVATE_KEY ?? null,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      claimsNamespace: env.JWT_CLAIMS_NAMESPACE,
      claimsFormat: env.JWT_CLAIMS_FORMAT,
      accessTokenLifetimeSeconds: env.ACCESS_TOKEN_LIFETIME_SECONDS,
      refreshTokenReuseGraceSeconds: env.REFRESH_TOKEN_REUSE_GRACE_SECONDS,
      jwksMaxAgeSeconds: env.JWKS_MAX_AGE_SECONDS,
    },
    admin: {
      secret: env.ADMIN_SECRET ?? null,
      bootstrap:
        env.ADMIN_USERNAME && env.ADMIN_PASSWORD
          ? { username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD }
          : null,
    },
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

/** JWT_PRIVATE_KEY and JWT_NEXT_PRIVATE_KEY against the algorithm and each other. Never quotes a key. */
function signingKeyContradictions(env: z.output<typeof envSchema>): string[] {
  const { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: current, JWT_NEXT_PRIVATE_KEY: next } = env;
  const keys = { JWT_PRIVATE_KEY: current, JWT_NEXT_PRIVATE_KEY: next };
  const problems: string[] = [];
  for (const [name, key] of Object.entries(keys)) {
    if (key === undefined) continue;
    if (algorithm === 'HS256') {
      problems.push(`${name}: HS256 signs with JWT_SECRET; a private key is for JWT_ALGORITHM ES256 or RS256`);
    } else if (algorithmOfKey(key) !== algorithm) {
      problems.push(
        `${name}: is a key for ${algorithmOfKey(key)} (${key.asymmetricKeyType === 'rsa' ? 'RSA' : 'EC P-256'}), ` +
          `but JWT_ALGORITHM is ${algorithm}`,
      );
    }
  }
  if (next && !current) {
    problems.push('JWT_NEXT_PRIVATE_KEY: needs JWT_PRIVATE_KEY, the key that signs until the next one takes over');
  }
  const spki = (key: KeyObject) => createPublicKey(key).export({ type: 'spki', format: 'der' });
  // The same public key is the same thumbprint, so the same kid: there would be nothing to rotate to.
  if (current && next && spki(current).equals(spki(next))) {
    problems.push('JWT_NEXT_PRIVATE_KEY: is the same key as JWT_PRIVATE_KEY; give the new key to rotate to');
  }
  return problems;
}

/** Settings that are each valid but together would break the service. */
function contradictions(env: z.output<typeof envSchema>): string[] {
  const problems: string[] = [];
  if (env.SESSION_TOUCH_INTERVAL_SECONDS >= env.SESSION_IDLE_TIMEOUT_SECONDS) {
    // A session's use is recorded at most once per touch interval; were that as long as the idle
    // timeout, a session in constant use would still die at the idle timeout.
    problems.push(
      `SESSION_TOUCH_INTERVAL_SECONDS (${env.SESSION_TOUCH_INTERVAL_SECONDS}) must be less than ` +
        `SESSION_IDLE_TIMEOUT_SECONDS (${env.SESSION_IDLE_TIMEOUT_SECONDS}), or sessions in use would end at the idle timeout`,
    );
  }
  if (env.COOKIE_SAME_SITE === 'none' && !env.COOKIE_SECURE) {
    // Browsers drop a SameSite=None cookie that is not Secure: every login would silently fail.
    problems.push(
      'COOKIE_SAME_SITE=None needs COOKIE_SECURE=true: browsers refuse a SameSite=None cookie without Secure',
    );
  }
  if (env.COOKIE_DOMAIN !== undefined && !env.COOKIE_SECURE) {
    // The webhook renews the cookie on Hasura's behalf and cannot see whether the browser used
    // HTTPS: without COOKIE_SECURE a renewal would drop Secure from a cookie that every sibling
    // subdomain receives.
    problems.push(
      'COOKIE_DOMAIN needs COOKIE_SECURE=true: a cookie shared with every subdomain must never travel over plain HTTP',
    );
  }
  if ((env.JWT_ALGORITHM === 'HS256') !== (env.JWT_SECRET !== undefined)) {
    problems.push(
      env.JWT_SECRET === undefined
        ? 'JWT_SECRET: required when JWT_ALGORITHM is HS256'
        : `JWT_SECRET: only HS256 uses a shared secret; ${env.JWT_ALGORITHM} signs with a key pair (generated, or JWT_PRIVATE_KEY)`,
    );
  }
  problems.push(...signingKeyContradictions(env));
  if (env.ADMIN_PASSWORD) {
    const problem = passwordProblem(
      env.ADMIN_PASSWORD,
      { minLength: env.PASSWORD_MIN_LENGTH },
      { username: env.ADMIN_USERNAME },
    );
    if (problem) problems.push(`ADMIN_PASSWORD: ${problem} (PASSWORD_MIN_LENGTH is ${env.PASSWORD_MIN_LENGTH})`);
  }
  return problems;
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
