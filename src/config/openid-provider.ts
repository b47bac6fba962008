import { z } from 'zod';
import { integer } from './settings';

/**
 * The OpenID Provider: apps send users here to log in (authorization code with PKCE) and get ID
 * tokens, access tokens and refresh tokens. Its issuer is PUBLIC_URL, so it needs one.
 */

export const openIdProviderSettings = {
  // Unset: on when PUBLIC_URL is set (an origin, without a path) and access tokens are signed with a key pair.
  OIDC_PROVIDER: z.enum(['on', 'off']).optional(),
  // A logo the hosted login page shows above its form (an https URL, or a path of this service).
  LOGO_URL: z
    .string()
    .url()
    .refine((value) => /^https?:/.test(value), 'must be an http(s) URL')
    .optional(),
  OIDC_ACCESS_TOKEN_LIFETIME_SECONDS: integer(60, 86400).default(600),
  // How long an app may go on refreshing without the user, once it was given offline_access.
  OIDC_REFRESH_TOKEN_LIFETIME_SECONDS: integer(3600, 365 * 86400).default(30 * 86400),
};

type OpenIdProviderEnv = z.output<z.ZodObject<typeof openIdProviderSettings>> & {
  PUBLIC_URL?: string;
  JWT_ALGORITHM: 'ES256' | 'RS256' | 'HS256';
};

const pathOf = (url: string) => new URL(url).pathname.replace(/\/+$/, '');

export function openIdProviderConfig(env: OpenIdProviderEnv) {
  const possible = env.PUBLIC_URL !== undefined && pathOf(env.PUBLIC_URL) === '' && env.JWT_ALGORITHM !== 'HS256';
  const wanted = env.OIDC_PROVIDER ?? (possible ? 'on' : 'off');
  return {
    openIdProvider:
      wanted === 'on' && env.PUBLIC_URL !== undefined
        ? {
            /** PUBLIC_URL: what every token names as its issuer, and where discovery is. */
            issuer: env.PUBLIC_URL,
            logoUrl: env.LOGO_URL ?? null,
            accessTokenLifetimeSeconds: env.OIDC_ACCESS_TOKEN_LIFETIME_SECONDS,
            refreshTokenLifetimeSeconds: env.OIDC_REFRESH_TOKEN_LIFETIME_SECONDS,
          }
        : null,
  };
}

export function openIdProviderProblems(env: OpenIdProviderEnv): string[] {
  if (env.OIDC_PROVIDER !== 'on') return [];
  const problems: string[] = [];
  if (env.PUBLIC_URL === undefined) problems.push('OIDC_PROVIDER: needs PUBLIC_URL, which is its issuer');
  else if (pathOf(env.PUBLIC_URL) !== '')
    problems.push('OIDC_PROVIDER: PUBLIC_URL must be an origin without a path, such as https://auth.example.com');
  if (env.JWT_ALGORITHM === 'HS256')
    problems.push('OIDC_PROVIDER: apps verify its ID tokens with public keys: set JWT_ALGORITHM to ES256 or RS256');
  return problems;
}
