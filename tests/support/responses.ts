import type { Response } from 'supertest';

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
      message: expect.any(String),
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
