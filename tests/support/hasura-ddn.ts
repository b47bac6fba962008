import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Response } from 'supertest';

/**
 * What Hasura DDN (the v3 engine) does with the webhook's answer and with a JWT, by the rules that
 * ../shared/docs/hasura-ddn-contract.md reads from its source. Tests call the service as the
 * engine does and judge its answers here, as the engine would.
 */

/** Headers v3 never forwards to a GET webhook (COMMON_CLIENT_HEADERS_TO_IGNORE). */
const DROPPED_BY_V3 = new Set([
  'accept',
  'accept-datetime',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'connection',
  'content-length',
  'content-md5',
  'content-type',
  'dnt',
  'host',
  'origin',
  'referer',
  'user-agent',
]);

export const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The headers v3 sends a GET webhook for a client's request: the client's, less the ignored, plus its trace. */
export function forwardedByDdn(clientHeaders: Record<string, string>): Record<string, string> {
  const forwarded = Object.entries(clientHeaders).filter(([name]) => !DROPPED_BY_V3.has(name.toLowerCase()));
  return { ...Object.fromEntries(forwarded), traceparent: TRACEPARENT };
}

export type DdnWebhookVerdict =
  | { outcome: 'session'; role: string; variables: Record<string, string> }
  /** The engine answers the client 403. */
  | { outcome: 'unauthorized' }
  /** The engine answers the client 500. */
  | { outcome: 'internal-error'; reason: string };

/**
 * The webhook's answer as v3 reads it: only 200 and 401 are understood; every key of the 200 body
 * becomes a session variable (trimmed, lower-case), `x-hasura-role` must be a string, and older
 * engines need every value to be one. A role the client asked for must be the one answered.
 */
export function readAsDdn(res: Response, clientRole?: string): DdnWebhookVerdict {
  if (res.status === 401) return { outcome: 'unauthorized' };
  if (res.status !== 200) return { outcome: 'internal-error', reason: `status ${res.status}` };
  const body: unknown = JSON.parse(res.text);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { outcome: 'internal-error', reason: 'body is not an object' };
  }
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value !== 'string') return { outcome: 'internal-error', reason: `${name} is not a string` };
    variables[name.trim().toLowerCase()] = value;
  }
  const role = variables['x-hasura-role'];
  if (role === undefined) return { outcome: 'internal-error', reason: 'no x-hasura-role' };
  if (clientRole !== undefined && clientRole !== role) return { outcome: 'unauthorized' };
  return { outcome: 'session', role, variables };
}

/** The `jwt` mode of an AuthConfig v3, as hasura-ddn-auth-config prints it. */
export interface DdnJwtConfig {
  claimsConfig: { namespace: { claimsFormat: 'Json' | 'StringifiedJson'; location: string } };
  tokenLocation: { type: 'BearerAuthorization' };
  key: { jwkFromUrl: string } | { fixed: { algorithm: string; key: { valueFromEnv: string } } };
  audience?: string[];
  issuer?: string;
}

export type DdnJwtVerdict =
  { ok: true; role: string; variables: Record<string, string> } | { ok: false; reason: string };

/** RFC 6901: the value a JSON pointer names. */
function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>(
      (value, token) =>
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[token] : undefined,
      document,
    );
}

// v3 accepts the algorithms of the key's type.
const ALGORITHMS_BY_KEY_TYPE: Record<string, string[]> = {
  EC: ['ES256', 'ES384'],
  RSA: ['RS256', 'RS384', 'RS512'],
};

/**
 * A JWT as v3 verifies it: with a JWKS (fetched for this very request) the header must name a
 * `kid`; `exp` is required, `aud` and `iss` checked when configured; the claims are found at the
 * namespace pointer, as an object or stringified; the default role must be among the allowed.
 */
export async function verifyAsDdn(
  config: DdnJwtConfig,
  token: string,
  context: { jwks?: { keys: JWK[] }; env?: Record<string, string>; nowSeconds: number; clientRole?: string },
): Promise<DdnJwtVerdict> {
  const refuse = (reason: string): DdnJwtVerdict => ({ ok: false, reason });
  let payload: JWTPayload;
  try {
    const options = {
      requiredClaims: ['exp'],
      currentDate: new Date(context.nowSeconds * 1000),
      ...(config.audience && { audience: config.audience }),
      ...(config.issuer !== undefined && { issuer: config.issuer }),
    };
    if ('jwkFromUrl' in config.key) {
      const { kid } = decodeProtectedHeader(token);
      if (kid === undefined) return refuse('no kid');
      const key = context.jwks?.keys.find((each) => each.kid === kid);
      if (!key?.kty) return refuse(`no key ${kid}`);
      const algorithms = ALGORITHMS_BY_KEY_TYPE[key.kty] ?? [];
      ({ payload } = await jwtVerify(token, createLocalJWKSet({ keys: [key] }), { ...options, algorithms }));
    } else {
      const { algorithm, key } = config.key.fixed;
      const secret = new TextEncoder().encode(context.env?.[key.valueFromEnv] ?? '');
      ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: [algorithm] }));
    }
  } catch (error) {
    return refuse((error as Error).message);
  }

  const { claimsFormat, location } = config.claimsConfig.namespace;
  let claims = resolvePointer(payload, location);
  if (claimsFormat === 'StringifiedJson') {
    if (typeof claims !== 'string') return refuse('claims are not a string');
    claims = JSON.parse(claims);
  }
  if (typeof claims !== 'object' || claims === null) return refuse('no claims object at the namespace');
  const {
    'x-hasura-default-role': defaultRole,
    'x-hasura-allowed-roles': allowedRoles,
    ...rest
  } = claims as Record<string, unknown>;
  if (typeof defaultRole !== 'string' || !Array.isArray(allowedRoles)) return refuse('roles missing');
  if (!allowedRoles.includes(defaultRole)) return refuse('default role not allowed');
  const role = context.clientRole ?? defaultRole;
  if (!allowedRoles.includes(role)) return refuse(`role ${role} not allowed`);
  const variables = Object.fromEntries(
    Object.entries(rest).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  return { ok: true, role, variables };
}
