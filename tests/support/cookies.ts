import { parseSetCookie, type SetCookie } from 'cookie';
import type { Response } from 'supertest';

/** Every Set-Cookie of an answer, parsed. */
export function setCookiesOf(res: Response): SetCookie[] {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  if (header === undefined) return [];
  return (Array.isArray(header) ? header : [header]).map((each) => parseSetCookie(each));
}

/** The session cookie an answer sets (a live one, not a deletion); throws unless there is exactly one. */
export function sessionCookieOf(res: Response): SetCookie {
  const live = setCookiesOf(res).filter((cookie) => cookie.value !== '' && cookie.maxAge !== 0);
  if (live.length !== 1) throw new Error(`expected one session cookie, got ${JSON.stringify(live)}`);
  return live[0]!;
}

/** The Cookie header a browser sends back for this cookie. */
export function cookieHeader(cookie: Pick<SetCookie, 'name' | 'value'>): { Cookie: string } {
  return { Cookie: `${cookie.name}=${encodeURIComponent(cookie.value ?? '')}` };
}
