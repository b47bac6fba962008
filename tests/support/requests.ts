import request from 'supertest';
import { PASSWORD, bearer } from './test-app';

/** Anything with an `http` supertest can send to: a TestApp, or `{ http: await startPeerInstance(app) }`. */
export interface HttpTarget {
  http: Parameters<typeof request>[0];
}

/** POST /login with this username and password; resolves to the response, whatever its status. */
export function logIn(target: HttpTarget, username: string, password: string = PASSWORD): request.Test {
  return request(target.http).post('/login').send({ username, password });
}

/** POST /password with this session's token; the current password is the test password unless given. */
export function changePassword(
  target: HttpTarget,
  token: string,
  { newPassword, currentPassword = PASSWORD }: { newPassword: string; currentPassword?: string },
): request.Test {
  return request(target.http).post('/password').set(bearer(token)).send({ currentPassword, newPassword });
}

/** Logs in and answers the new session's token; throws unless the login succeeds. */
export async function logInToken(target: HttpTarget, username: string, password: string = PASSWORD): Promise<string> {
  const res = await logIn(target, username, password);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

export interface WebhookOptions {
  /** Sent as X-Hasura-Role, as Hasura forwards the client's choice of role. */
  role?: string;
  /** Further client headers Hasura forwards; they win over the token and the role. */
  headers?: Record<string, string>;
}

function forwardedHeaders(token: string | undefined, { role, headers }: WebhookOptions): Record<string, string> {
  return {
    ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
    ...(role === undefined ? {} : { 'X-Hasura-Role': role }),
    ...headers,
  };
}

/** The webhook in GET mode: Hasura forwards the client's headers as headers of its own request. */
export function webhookGet(target: HttpTarget, token?: string, options: WebhookOptions = {}): request.Test {
  return request(target.http).get('/webhook').set(forwardedHeaders(token, options));
}

/** The webhook in POST mode: Hasura sends the client's headers in a JSON body, with `request: null` here. */
export function webhookPost(target: HttpTarget, token?: string, options: WebhookOptions = {}): request.Test {
  return request(target.http)
    .post('/webhook')
    .send({ headers: forwardedHeaders(token, options), request: null });
}

/** The webhook in either mode with exactly these client headers, as Hasura forwards them. */
export function webhookWithHeaders(
  target: HttpTarget,
  mode: 'GET' | 'POST',
  headers: Record<string, string>,
): request.Test {
  return mode === 'GET'
    ? request(target.http).get('/webhook').set(headers)
    : request(target.http).post('/webhook').send({ headers, request: null });
}

/** Both webhook modes, for `it.each`/`describe.each`: `['GET', webhookGet]` and `['POST', webhookPost]`. */
export const WEBHOOK_MODES = [
  ['GET', webhookGet],
  ['POST', webhookPost],
] as const;
