import { isIP } from 'node:net';
import { z } from 'zod';
import { boolean, integer, list } from './settings';

/** How the service listens, logs, and meets browsers and proxies. */

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
export const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}, 'must be an origin such as https://app.example.com (scheme, host and port only, no path, no "*")');

export const httpSettings = {
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // auto: readable lines at a terminal outside production, JSON otherwise (see wantsReadableLogs).
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  NODE_ENV: z.string().optional(),
  // Every body but the webhook's is a few fields: a larger limit only gives a client more to make
  // the parser chew on.
  JSON_BODY_LIMIT_BYTES: integer(1024, 1024 * 1024).default(64 * 1024),
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
};

type HttpEnv = z.output<z.ZodObject<typeof httpSettings>>;

export function httpConfig(env: HttpEnv) {
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    production: env.NODE_ENV === 'production',
    jsonBodyLimitBytes: env.JSON_BODY_LIMIT_BYTES,
    trustProxy: env.TRUST_PROXY ?? false,
    cookie: {
      sameSite: env.COOKIE_SAME_SITE,
      alwaysSecure: env.COOKIE_SECURE,
      domain: env.COOKIE_DOMAIN ?? null,
    },
    corsOrigins: env.CORS_ORIGINS,
  };
}

export function httpProblems(env: HttpEnv): string[] {
  const problems: string[] = [];
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
  return problems;
}
