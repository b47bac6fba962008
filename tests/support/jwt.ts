import request from 'supertest';
import { hasuraJwtSecret } from '../../src/cli';
import type { HttpTarget } from './requests';
import { PASSWORD, type TestApp } from './test-app';
import { verifyAsHasura, type HasuraJwtSecret, type HasuraVerdict } from './hasura-jwt-verifier';

/** POST /token with this username and password; resolves to the response, whatever its status. */
export function requestTokens(target: HttpTarget, username: string, password: string = PASSWORD): request.Test {
  return request(target.http).post('/token').send({ username, password });
}

export interface TokenPairBody {
  accessToken: string;
  accessTokenExpiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: { id: number; username: string; roles: string[]; defaultRole: string };
}

/** Logs in for a token pair; throws unless it succeeds. */
export async function obtainTokens(target: HttpTarget, username: string): Promise<TokenPairBody> {
  const res = await requestTokens(target, username);
  if (res.status !== 200) throw new Error(`POST /token failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TokenPairBody;
}

/** POST /token/refresh; resolves to the response, whatever its status. */
export function refreshTokens(target: HttpTarget, refreshToken: string): request.Test {
  return request(target.http).post('/token/refresh').send({ refreshToken });
}

/** The HASURA_GRAPHQL_JWT_SECRET that `cli hasura-jwt-config` prints for this app, as Hasura parses it. */
export function hasuraSecretOf(app: TestApp): HasuraJwtSecret {
  return hasuraJwtSecret(app.config, `${app.http}/.well-known/jwks.json`);
}

export async function fetchJwks(target: HttpTarget): Promise<{ keys: never[] }> {
  const res = await request(target.http).get('/.well-known/jwks.json');
  if (res.status !== 200) throw new Error(`JWKS failed: ${res.status}`);
  return res.body as { keys: never[] };
}

export const nowSecondsOf = (app: TestApp) => Math.floor(app.clock.now().getTime() / 1000);

/**
 * Verifies an access token as a Hasura configured with this app's hasura-jwt-config would, on a
 * fresh fetch of the JWKS (or the given one), at the app's clock unless told otherwise.
 */
export async function verifyIssued(
  app: TestApp,
  accessToken: string,
  options: { role?: string; nowSeconds?: number; jwks?: { keys: never[] }; secret?: Partial<HasuraJwtSecret> } = {},
): Promise<HasuraVerdict> {
  const secret = { ...hasuraSecretOf(app), ...options.secret };
  return verifyAsHasura(secret, {
    headers: { authorization: `Bearer ${accessToken}`, 'x-hasura-role': options.role },
    nowSeconds: options.nowSeconds ?? nowSecondsOf(app),
    jwks: secret.jwk_url === undefined ? undefined : (options.jwks ?? (await fetchJwks(app))),
  });
}

/** The payload of a JWT, unverified: for looking at claims the verifier has already accepted. */
export function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
