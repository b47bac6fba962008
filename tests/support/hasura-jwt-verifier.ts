import { compactVerify, importJWK, type JWK } from 'jose';

/**
 * What Hasura v2 does with a JWT in JWT mode, step by step, as ../shared/docs/hasura-jwt-contract.md
 * describes it from Hasura's source (§2, in the order of §8). Every token this service issues is
 * checked here the way Hasura would check it; the first failure is reported, with Hasura's code.
 */

export interface HasuraJwtSecret {
  /** The parsed HASURA_GRAPHQL_JWT_SECRET: `type` and `key`, or `jwk_url` (whose keys are given separately). */
  type?: string;
  key?: string;
  jwk_url?: string;
  claims_namespace?: string;
  claims_format?: 'json' | 'stringified_json';
  audience?: string | string[];
  issuer?: string;
  allowed_skew?: number;
}

export interface HasuraRequest {
  /** The request's headers, lower-case names. */
  headers: Record<string, string | undefined>;
  /** Hasura's clock, in seconds since the epoch. */
  nowSeconds: number;
  /** The key set Hasura holds from jwk_url (its last fetch), when the secret names one. */
  jwks?: { keys: JWK[] };
}

export type HasuraVerdict =
  { ok: true; role: string; sessionVariables: Record<string, string> } | { ok: false; code: string; message: string };

const refuse = (code: string, message: string): HasuraVerdict => ({ ok: false, code, message });
const invalidJwt = (reason: string) => refuse('invalid-jwt', `Could not verify JWT: ${reason}`);

const ALLOWED_ALGORITHMS = /^(HS|RS|ES|PS)(256|384|512)$|^EdDSA$/;

function decodeSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new Error('not base64url');
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** hs-jose's StringOrURI: a string holding ':' must parse as an RFC 3986 URI. */
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const isStringOrUri = (value: unknown) => typeof value === 'string' && (!value.includes(':') || URI.test(value));

function claimTypeProblem(payload: Record<string, unknown>): string | undefined {
  for (const name of ['exp', 'nbf', 'iat']) {
    if (payload[name] !== undefined && typeof payload[name] !== 'number') return `${name} is not a number`;
  }
  for (const name of ['iss', 'sub']) {
    if (payload[name] !== undefined && !isStringOrUri(payload[name])) return `${name} is not a StringOrURI`;
  }
  const { aud } = payload;
  if (aud !== undefined && !(Array.isArray(aud) ? aud.every(isStringOrUri) : isStringOrUri(aud))) {
    return 'aud is not a StringOrURI or a list of them';
  }
  return undefined;
}

async function signatureVerifies(token: string, alg: string, secret: HasuraJwtSecret, request: HasuraRequest) {
  const keys: (JWK | Uint8Array)[] =
    secret.key !== undefined ? [new TextEncoder().encode(secret.key)] : (request.jwks?.keys ?? []);
  if (keys.length === 0) return 'JWSError NoUsableKeys';
  // Every key is tried; the token's kid is not consulted.
  for (const key of keys) {
    try {
      const usable = key instanceof Uint8Array ? key : await importJWK(key, alg);
      await compactVerify(token, usable, { algorithms: [alg] });
      return undefined;
    } catch {
      // This key does not verify it; try the next.
    }
  }
  return 'JWSError JWSInvalidSignature';
}

export async function verifyAsHasura(secret: HasuraJwtSecret, request: HasuraRequest): Promise<HasuraVerdict> {
  // 1. The header: exactly `Bearer <token>`.
  const authorization = request.headers.authorization;
  if (authorization === undefined) {
    return refuse('invalid-headers', "Missing 'Authorization' or 'Cookie' header in JWT authentication mode");
  }
  const [scheme, token, ...rest] = authorization.split(' ');
  if (token === undefined || rest.length > 0 || scheme !== 'Bearer') {
    return refuse('invalid-headers', 'Malformed Authorization header');
  }

  // 2. Compact decoding, then the registered claims' types (jose decodes before it verifies).
  const segments = token.split('.');
  let header: unknown;
  let payload: unknown;
  try {
    const [headerSegment, payloadSegment, signatureSegment, ...more] = segments;
    if (signatureSegment === undefined || more.length > 0) throw new Error('not three segments');
    header = decodeSegment(headerSegment!);
    payload = decodeSegment(payloadSegment!);
  } catch {
    return invalidJwt('JWSError (CompactDecodeError ...)');
  }
  if (!isObject(header) || !isObject(payload)) return invalidJwt('JWSError (CompactDecodeError ...)');
  const typeProblem = claimTypeProblem(payload);
  if (typeProblem) return invalidJwt(`JWTClaimsSetDecodeError ${typeProblem}`);

  // 3. The signature: an allowed algorithm, and any one key of the set.
  const alg = header.alg;
  if (typeof alg !== 'string' || !ALLOWED_ALGORITHMS.test(alg)) return invalidJwt('JWSError JWSNoSignatures');
  const signatureProblem = await signatureVerifies(token, alg, secret, request);
  if (signatureProblem) return invalidJwt(signatureProblem);

  // 4. Times, issuer and audience; iss and aud only when the token has them.
  const skew = secret.allowed_skew ?? 0;
  const now = request.nowSeconds;
  const { exp, iat, nbf, iss, aud } = payload as {
    exp?: number;
    iat?: number;
    nbf?: number;
    iss?: string;
    aud?: string | string[];
  };
  if (exp !== undefined && !(now < exp + skew)) return invalidJwt('JWTExpired');
  if (iat !== undefined && !(iat <= now + skew)) return invalidJwt('JWTIssuedAtFuture');
  if (nbf !== undefined && !(now >= nbf - skew)) return invalidJwt('JWTNotYetValid');
  if (iss !== undefined && secret.issuer !== undefined && iss !== secret.issuer) return invalidJwt('JWTNotInIssuer');
  if (aud !== undefined && secret.audience !== undefined) {
    const accepted = Array.isArray(secret.audience) ? secret.audience : [secret.audience];
    const given = Array.isArray(aud) ? aud : [aud];
    if (!given.some((each) => accepted.includes(each))) return invalidJwt('JWTNotInAudience');
  }

  // 5. The namespace, in its format; only x-hasura-* keys count, in any case.
  const namespace = secret.claims_namespace ?? 'https://hasura.io/jwt/claims';
  let claims = payload[namespace];
  if (claims === undefined) return refuse('jwt-invalid-claims', `claims key: '${namespace}' not found`);
  if (secret.claims_format === 'stringified_json') {
    if (typeof claims !== 'string') {
      return refuse('jwt-invalid-claims', 'expecting a string when claims_format is stringified_json');
    }
    try {
      claims = JSON.parse(claims);
    } catch {
      return refuse('jwt-invalid-claims', 'the stringified claims are not JSON');
    }
  }
  if (!isObject(claims)) return refuse('jwt-invalid-claims', 'the claims are not an object');
  const hasuraClaims = new Map<string, unknown>();
  for (const [name, value] of Object.entries(claims)) {
    if (name.toLowerCase().startsWith('x-hasura-')) hasuraClaims.set(name.toLowerCase(), value);
  }

  // 6. The role claims.
  const allowedRoles = hasuraClaims.get('x-hasura-allowed-roles');
  if (allowedRoles === undefined) {
    return refuse('jwt-missing-role-claims', 'JWT claim does not contain x-hasura-allowed-roles');
  }
  if (!Array.isArray(allowedRoles) || !allowedRoles.every((role) => typeof role === 'string' && role !== '')) {
    return refuse('jwt-invalid-claims', 'invalid x-hasura-allowed-roles; should be a list of roles');
  }
  const defaultRole = hasuraClaims.get('x-hasura-default-role');
  if (defaultRole === undefined) {
    return refuse('jwt-missing-role-claims', 'JWT claim does not contain x-hasura-default-role');
  }
  if (typeof defaultRole !== 'string') {
    return refuse('jwt-invalid-claims', 'invalid x-hasura-default-role; should be a role');
  }

  // 7. The role: the requested one (an empty header is ignored), else the default; either must be allowed.
  const requested = request.headers['x-hasura-role'];
  const role = requested !== undefined && requested !== '' ? requested : defaultRole;
  if (!(allowedRoles as string[]).includes(role)) {
    return refuse('access-denied', 'Your requested role is not in allowed roles');
  }

  // 8. Every other x-hasura-* claim is a JSON string.
  const sessionVariables: Record<string, string> = { 'x-hasura-role': role };
  for (const [name, value] of hasuraClaims) {
    if (name === 'x-hasura-allowed-roles' || name === 'x-hasura-default-role') continue;
    if (typeof value !== 'string') return refuse('jwt-invalid-claims', `x-hasura-* claims: ${name} is not a string`);
    sessionVariables[name] = value;
  }
  return { ok: true, role, sessionVariables };
}
