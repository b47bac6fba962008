import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import type { UserIdentity } from './caller-identity';
import type { Clock } from './model';
import type { SigningKeys } from './signing-keys';

/**
 * JWT mode's access token: the same Identity the webhook answers, rendered as the claims Hasura
 * reads from a JWT (docs/hasura-jwt-contract.md §2 and §6).
 */

export interface AccessTokenPolicy {
  lifetimeSeconds: number;
  issuer: string;
  audience: string;
  claimsNamespace: string;
  claimsFormat: 'json' | 'stringified_json';
}

// Hasura refuses a token issued "in the future" (default skew 0): a clock here a little ahead of
// Hasura's must not make every fresh token fail.
const ISSUED_AT_BACKDATE_SECONDS = 5;

/**
 * An identity as Hasura's JWT claims: allowed-roles a list that holds the default role, every
 * other value a string. The built-in claims are written last, so no session variable replaces them.
 */
export function renderHasuraClaims(identity: UserIdentity): Record<string, string | string[]> {
  return {
    ...identity.sessionVariables,
    // A user's identity answers only a role the user holds, so its allowed roles include it.
    'x-hasura-allowed-roles': [...identity.allowedRoles],
    'x-hasura-default-role': identity.role,
    'x-hasura-user-id': String(identity.userId),
    'x-hasura-mfa': String(identity.secondFactor),
  };
}

export interface IssuedAccessToken {
  accessToken: string;
  /** Seconds from now until it expires. */
  expiresInSeconds: number;
}

export interface AccessTokensDeps {
  keys: SigningKeys;
  clock: Clock;
  policy: AccessTokenPolicy;
}

export function createAccessTokens({ keys, clock, policy }: AccessTokensDeps) {
  return {
    /**
     * Signs an access token for the identity of a live session. It expires after the configured
     * lifetime, or with the session if that comes first, and always carries exp: without it,
     * Hasura never closes the WebSocket it authenticated.
     */
    async issueAccessToken(identity: UserIdentity, sessionExpiresAt: Date): Promise<IssuedAccessToken> {
      const nowSeconds = Math.floor(clock.now().getTime() / 1000);
      const expiresAt = Math.max(
        nowSeconds + 1,
        Math.min(nowSeconds + policy.lifetimeSeconds, Math.floor(sessionExpiresAt.getTime() / 1000)),
      );
      const claims = renderHasuraClaims(identity);
      const signing = await keys.currentSigningKey();
      const accessToken = await new SignJWT({
        sid: identity.sessionId,
        [policy.claimsNamespace]: policy.claimsFormat === 'json' ? claims : JSON.stringify(claims),
      })
        // A kid left undefined (a shared HS256 secret has none) is left out of the JSON.
        .setProtectedHeader({ alg: signing.alg, typ: 'JWT', kid: signing.kid })
        .setSubject(String(identity.userId))
        .setIssuer(policy.issuer)
        .setAudience(policy.audience)
        .setIssuedAt(nowSeconds - ISSUED_AT_BACKDATE_SECONDS)
        .setExpirationTime(expiresAt)
        .sign(signing.key);
      return { accessToken, expiresInSeconds: expiresAt - nowSeconds };
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;

/**
 * Reads the id (`jti`) of an access token that the OpenID Provider issued as a JWT (for Hasura's
 * resource): signed by one of the published keys, by that issuer, for that audience, of type
 * at+jwt, and unexpired. Anything else answers undefined.
 */
export function createProviderJwtReader(
  keys: Pick<SigningKeys, 'publishedKeySet'>,
  clock: Clock,
  expected: { issuer: string; audience: string },
) {
  // The key set object stays the same until the keys change: imported once per set.
  const keySets = new WeakMap<object, ReturnType<typeof createLocalJWKSet>>();
  return async (token: string): Promise<string | undefined> => {
    const published = await keys.publishedKeySet();
    let keySet = keySets.get(published);
    if (!keySet) {
      keySet = createLocalJWKSet(published);
      keySets.set(published, keySet);
    }
    try {
      const { payload } = await jwtVerify(token, keySet, { ...expected, typ: 'at+jwt', currentDate: clock.now() });
      return typeof payload.jti === 'string' ? payload.jti : undefined;
    } catch {
      return undefined;
    }
  };
}
