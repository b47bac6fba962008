import request from 'supertest';
import { cookieHeader, sessionCookieOf } from './cookies';
import type { HttpTarget } from './requests';
import { PASSWORD } from './test-app';

/** What a browser sends with a form that one of this service's own pages posts. */
export const SAME_ORIGIN = { 'Sec-Fetch-Site': 'same-origin' };

/** The CSRF field of the forms on a signed-in page. */
export function csrfFieldOf(page: string): string {
  const token = /name="csrf" value="([^"]*)"/.exec(page)?.[1];
  if (token === undefined) throw new Error('the page has no form with a CSRF field');
  return token;
}

/** A browser signed in through the login page: its cookie, and the CSRF field of its pages' forms. */
export interface PageSession {
  cookie: { Cookie: string };
  csrf: string;
}

/** Logs in through /account/login, as a person at the page would. */
export async function logInAtPage(target: HttpTarget, username: string, password = PASSWORD): Promise<PageSession> {
  const loggedIn = await request(target.http)
    .post('/account/login')
    .set(SAME_ORIGIN)
    .type('form')
    .send({ username, password })
    .expect(303);
  const cookie = cookieHeader(sessionCookieOf(loggedIn));
  const page = await request(target.http).get('/account').set(cookie).expect(200);
  return { cookie, csrf: csrfFieldOf(page.text) };
}

/** Posts one of the signed-in pages' forms, with the page's CSRF field. */
export function postForm(
  target: HttpTarget,
  session: PageSession,
  path: string,
  fields: Record<string, string> = {},
): request.Test {
  return request(target.http)
    .post(path)
    .set(session.cookie)
    .set(SAME_ORIGIN)
    .type('form')
    .send({ csrf: session.csrf, ...fields });
}
