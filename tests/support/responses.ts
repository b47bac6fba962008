import request, { type Response } from 'supertest';
import { type HttpTarget, webhookGet, webhookPost } from './requests';
import { bearer } from './test-app';

/** An API answer as `{status, code}`, so that one assertion checks both and a failure shows both. */
export function statusAndCode(res: Response): { status: number; code: unknown } {
  return { status: res.status, code: res.body?.error?.code };
}

/** A webhook answer as `{status, body}`; compare a refusal with WEBHOOK_REFUSAL. */
export function statusAndBody(res: Response): { status: number; body: unknown } {
  return { status: res.status, body: res.body };
}

/** How the webhook refuses a request: 401 with an empty JSON object, which Hasura turns into its own error. */
export const WEBHOOK_REFUSAL = { status: 401, body: {} };

/** An error body is `{error: {code, message}}` plus optional details, and nothing that leaks internals. */
export function expectCleanErrorBody(res: Response, code: string): void {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    error: {
      code,
      // Human text, never empty: what a client shows when it knows no better.
      message: expect.stringMatching(/\S/),
      ...(res.body?.error?.details !== undefined && { details: expect.any(Array) }),
    },
  });
  const text = res.text;
  // A literal 'at ' would also match "at least": look for the shape of a stack frame instead.
  expect(text).not.toMatch(/\bat \S+ \(|\bat (\/|file:|node:)|\n\s+at /);
  expect(text).not.toMatch(/\.(ts|js):\d+/);
  for (const leak of ['/src/', 'node_modules', 'select ', 'insert ', 'update ', 'delete from', 'Error:', 'stack']) {
    expect(text.toLowerCase()).not.toContain(leak.toLowerCase());
  }
}

/** Expects this token refused wherever a token is read: /me with 401 UNAUTHORIZED, the webhook with 401 {} in GET and POST. */
export async function expectTokenRefused(target: HttpTarget, token: string): Promise<void> {
  expect(statusAndCode(await request(target.http).get('/me').set(bearer(token)))).toEqual({
    status: 401,
    code: 'UNAUTHORIZED',
  });
  expect(statusAndBody(await webhookGet(target, token))).toEqual(WEBHOOK_REFUSAL);
  expect(statusAndBody(await webhookPost(target, token))).toEqual(WEBHOOK_REFUSAL);
}
