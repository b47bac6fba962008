import { createSecretKey } from 'node:crypto';
import { z } from 'zod';
import { ROLE_NAME_PATTERN } from '../domain/model';
import { origin } from './http';
import { list } from './settings';

/** Second factors and passkeys: the key that encrypts authenticator apps' secrets, the roles that need a second factor, and the relying party passkeys belong to. */

/** 32 bytes, as 64 hex digits (`openssl rand -hex 32`, Heroku's generated secrets) or base64 (43 characters and `=`). */
const encryptionKey = z
  .string()
  .regex(
    /^(?:[0-9a-f]{64}|[A-Za-z0-9+/_-]{43}=?)$/i,
    'must be 32 random bytes: 64 hex digits (openssl rand -hex 32) or base64',
  )
  // A KeyObject: it can be frozen with the rest of the configuration, and never prints its bytes.
  .transform((value) => createSecretKey(Buffer.from(value, value.length === 64 ? 'hex' : 'base64')));

export const secondFactorSettings = {
  // Encrypts TOTP secrets at rest. Unset outside production: one is generated and kept in the
  // database with the other server secrets. Changing it makes every enrolled app's secret unreadable.
  MFA_ENCRYPTION_KEY: encryptionKey.optional(),
  // Keys that MFA_ENCRYPTION_KEY replaced: they open the secrets they sealed, never seal, until
  // `npm run cli -- reseal-mfa-secrets` has sealed those again with the current key.
  MFA_ENCRYPTION_PREVIOUS_KEYS: list(encryptionKey).default([]),
  // Roles that a session acts in only when it was proved with a second factor (e.g. `admin`):
  // a holder without one logs in, sets one up, and logs in again to use the role.
  MFA_REQUIRED_ROLES: list(z.string().regex(ROLE_NAME_PATTERN, 'must be role names')).default([]),
  // Passkeys belong to a domain (the relying party) and are offered only to pages of the listed
  // origins. Unset: PUBLIC_URL's host and origin, or localhost and this port's http origin.
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, 'must be a domain such as example.com')
    .optional(),
  WEBAUTHN_ORIGINS: list(origin).optional(),
};

type SecondFactorEnv = z.output<z.ZodObject<typeof secondFactorSettings>> & {
  NODE_ENV?: string;
  PRODUCT_NAME: string;
  PUBLIC_URL?: string;
  PORT: number;
};

export function secondFactorConfig(env: SecondFactorEnv) {
  return {
    secondFactors: {
      /** Null: generated once and kept in the database (never in production). */
      encryptionKey: env.MFA_ENCRYPTION_KEY ?? null,
      /** Replaced keys, which still open what they sealed. */
      previousEncryptionKeys: env.MFA_ENCRYPTION_PREVIOUS_KEYS,
      /** What authenticator apps show above the account's codes: PRODUCT_NAME, as mail and pages say it. */
      issuer: env.PRODUCT_NAME,
      requiredForRoles: env.MFA_REQUIRED_ROLES,
    },
    passkeys: {
      relyingPartyId: env.WEBAUTHN_RP_ID ?? (env.PUBLIC_URL ? new URL(env.PUBLIC_URL).hostname : 'localhost'),
      origins: env.WEBAUTHN_ORIGINS ?? [
        env.PUBLIC_URL ? new URL(env.PUBLIC_URL).origin : `http://localhost:${env.PORT}`,
      ],
      /** What a passkey manager shows beside the passkey. */
      relyingPartyName: env.PRODUCT_NAME,
    },
  };
}

/** In production the key comes from configuration: kept beside the ciphertext, it would protect nothing. */
export function secondFactorProblems(env: SecondFactorEnv): string[] {
  return env.NODE_ENV === 'production' && env.MFA_ENCRYPTION_KEY === undefined
    ? ['MFA_ENCRYPTION_KEY: required in production: 32 random bytes, e.g. `openssl rand -hex 32`']
    : [];
}
