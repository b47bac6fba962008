import { Secret, TOTP } from 'otpauth';
import Ajv2020 from 'ajv/dist/2020';
import request, { type Response } from 'supertest';
import { createExpressApp } from '../src/app';
import { createMetrics } from '../src/metrics';
import { documentedRoutes } from '../src/http/openapi';
import type { HttpMethod } from '../src/http/route-definition';
import { webhookRoutes } from '../src/http/routes/webhook';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { cookieHeader, sessionCookieOf } from './support/cookies';
import { linkIn, startMailbox, type Mailbox } from './support/mailbox';
import {
  PUBLIC_URL,
  RETURN_TO,
  callbackUrlOf,
  logInThroughProvider,
  redirectParameters,
  registerClient,
  testProviderEntry,
} from './support/identity-providers';
import { logInAtPage, postForm, SAME_ORIGIN } from './support/pages';
import { logIn } from './support/requests';
import { APP_CALLBACK } from './support/openid-apps';
import { bearer, PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
}

interface ServedRoute {
  method: HttpMethod;
  path: string;
}

/** The routes that node:http answers in front of Express, which Express's router cannot list. */
const frameworkFreeRoutes: ServedRoute[] = Object.values(webhookRoutes);

/** The slice of Express 5's router that lists what it serves. */
interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
  rawPath?: string;
}

/** Every method and path the Express app serves, nested routers included, paths in OpenAPI form. */
function expressRoutes(stack: RouterLayer[], prefix = ''): ServedRoute[] {
  return stack.flatMap((layer): ServedRoute[] => {
    if (layer.route) {
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods).map((method) => ({ method: method as ServedRoute['method'], path }));
    }
    if (layer.handle.stack) {
      const mountPath = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
      return expressRoutes(layer.handle.stack, prefix + mountPath);
    }
    return [];
  });
}

const routeNames = (routes: readonly ServedRoute[]) =>
  routes.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort();

describe('the OpenAPI description', () => {
  let app: TestApp;
  let document: OpenApiDocument;
  let mailbox: Mailbox;
  beforeAll(async () => {
    mailbox = await startMailbox();
    // With an identity provider, so that its routes are served too.
    const client = await registerClient([callbackUrlOf('test')]);
    app = await startTestApp({
      ADMIN_SECRET,
      METRICS_TOKEN: 'a-metrics-token-for-the-scraper',
      SMTP_URL: mailbox.smtpUrl,
      PUBLIC_URL,
      ALLOWED_RETURN_URLS: new URL(RETURN_TO).origin,
      IDENTITY_PROVIDERS: JSON.stringify([testProviderEntry('test', client)]),
    });
    document = (await request(app.http).get('/openapi.json')).body as OpenApiDocument;
  });
  afterAll(async () => {
    await app.close();
    await mailbox.close();
  });

  it('is served at GET /openapi.json as JSON', async () => {
    const res = await request(app.http).get('/openapi.json');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe('3.1.0');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();

    const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);

    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('names every route that is served, by Express or in front of it, and no other', () => {
    const express = createExpressApp({
      config: app.config,
      logger: app.logger,
      services: app.services,
      metrics: createMetrics(),
    });
    const served = [...expressRoutes(express.router.stack as RouterLayer[]), ...frameworkFreeRoutes];
    const inDocument = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method as ServedRoute['method'], path })),
    );

    expect(routeNames(inDocument)).toEqual(routeNames(served));
    expect(routeNames(documentedRoutes)).toEqual(routeNames(inDocument));
  });

  it('lists CSRF_REJECTED on exactly the routes that refuse a forged request carrying an admin session cookie', async () => {
    const username = uniqueUsername('csrf-admin');
    await request(app.http)
      .post('/admin/users')
      .set(withAdminSecret)
      .send({ username, password: PASSWORD, roles: ['admin'] })
      .expect(201);
    const cookie = cookieHeader(sessionCookieOf(await logIn(app, username)));
    // Ids that name nothing, so that a route which wrongly lets the forgery through harms nobody.
    const nothing: Record<string, string> = {
      id: '2147483647',
      role: 'no-such-role',
      name: 'no-such-role',
    };
    const refusing: string[] = [];
    const documented: string[] = [];
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (method === 'get') continue;
        const url = path.replace(/\{(\w+)\}/g, (_match, name: string) =>
          path.startsWith('/sessions/') ? '00000000-0000-4000-8000-000000000000' : nothing[name]!,
        );
        const res = await request(app.http)
          [method as 'post' | 'put' | 'patch' | 'delete'](url)
          .set(cookie)
          .set('Origin', 'https://evil.example.net')
          .send({});
        const route = `${method.toUpperCase()} ${path}`;
        // A page's form answers its errors as a page, which names the code too.
        const code = res.type === 'text/html' ? /Error code: ([A-Z_]+)/.exec(res.text)?.[1] : res.body.error?.code;
        if (res.status === 403 && code === 'CSRF_REJECTED') refusing.push(route);
        if (JSON.stringify(operation.responses['403'] ?? {}).includes('CSRF_REJECTED')) documented.push(route);
      }
    }

    expect(refusing.sort()).toEqual(documented.sort());
    expect(refusing).toEqual(expect.arrayContaining(['POST /logout', 'DELETE /admin/users/{id}', 'POST /signup']));
  });

  describe('says what the routes answer', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const exercised = new Set<string>();
    beforeAll(() => {
      ajv.addSchema(document, 'openapi.json');
    });

    /** Expects `res` to have `status`, documented for this route, with a body that its schema accepts. */
    function expectDocumentedAnswer(res: Response, route: string, status: number): void {
      const [method = '', path = ''] = route.split(' ');
      exercised.add(route);
      expect(res.status).toBe(status);
      const documented = document.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
      expect(documented).toBeDefined();
      if (documented?.content === undefined) {
        expect(res.text).toBe('');
        return;
      }
      if (documented.content['text/html'] !== undefined) {
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.text).toMatch(/^<!doctype html>/);
        return;
      }
      if (documented.content['text/javascript'] !== undefined) {
        expect(res.headers['content-type']).toMatch(/^text\/javascript/);
        expect(res.text.length).toBeGreaterThan(0);
        return;
      }
      if (documented.content['text/plain'] !== undefined) {
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.text.length).toBeGreaterThan(0);
        return;
      }
      const pointer = ['paths', path, method.toLowerCase(), 'responses', String(status), 'content', 'application/json']
        .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
        .join('/');
      const validate = ajv.compile({ $ref: `openapi.json#/${pointer}/schema` });
      const valid = validate(res.body);
      expect(validate.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    }

    it('for email addresses, password resets and their pages', async () => {
      const http = () => request(app.http);
      const username = uniqueUsername('mailed');
      const email = `${username}@example.com`;
      const signup = await http().post('/signup').send({ username, password: PASSWORD, email });
      const token = signup.body.token as string;
      expectDocumentedAnswer(
        await http().patch('/me').set(bearer(token)).send({ displayName: 'Mailed' }),
        'PATCH /me',
        200,
      );
      const verification = linkIn(await mailbox.waitForMail(email, /^Verify/));
      expectDocumentedAnswer(await http().get(`/email/verify?token=${verification.token}`), 'GET /email/verify', 200);
      expectDocumentedAnswer(
        await http().post('/email/verify/form').type('form').send({ token: 'unknown' }),
        'POST /email/verify/form',
        400,
      );
      expectDocumentedAnswer(
        await http().post('/email/verify').send({ token: verification.token }),
        'POST /email/verify',
        200,
      );
      expectDocumentedAnswer(await http().post('/email/verify').send({ token: 'unknown' }), 'POST /email/verify', 400);
      expectDocumentedAnswer(
        await http()
          .post('/email')
          .set(bearer(token))
          .send({ email: `new-${email}` }),
        'POST /email',
        202,
      );
      const change = linkIn(await mailbox.waitForMail(`new-${email}`, /^Verify/));
      expectDocumentedAnswer(
        await http().post('/email/verify/resend').set(bearer(token)),
        'POST /email/verify/resend',
        202,
      );
      const resent = linkIn(await mailbox.waitForMail(`new-${email}`, /^Verify/, { skip: 1 }));
      expect(resent.token).not.toBe(change.token);
      expectDocumentedAnswer(
        await http().post('/email/verify/form').type('form').send({ token: resent.token }),
        'POST /email/verify/form',
        200,
      );
      expectDocumentedAnswer(
        await http().post('/password/forgot').send({ login: username }),
        'POST /password/forgot',
        202,
      );
      expectDocumentedAnswer(await http().get('/password/forgot'), 'GET /password/forgot', 200);
      expectDocumentedAnswer(
        await http().post('/password/forgot/form').set(SAME_ORIGIN).type('form').send({ login: 'nobody-at-all' }),
        'POST /password/forgot/form',
        200,
      );
      const reset = linkIn(await mailbox.waitForMail(`new-${email}`, /^Reset/));
      expectDocumentedAnswer(await http().get(`/password/reset?token=${reset.token}`), 'GET /password/reset', 200);
      expectDocumentedAnswer(
        await http().post('/password/reset').send({ token: reset.token, newPassword: 'x' }),
        'POST /password/reset',
        400,
      );
      expectDocumentedAnswer(
        await http()
          .post('/password/reset/form')
          .type('form')
          .send({ token: reset.token, newPassword: 'a new passphrase 1', confirmPassword: 'a new passphrase 1' }),
        'POST /password/reset/form',
        200,
      );
      expectDocumentedAnswer(
        await http().post('/password/reset/form').type('form').send({ token: reset.token }),
        'POST /password/reset/form',
        400,
      );
      await http().post('/password/forgot').send({ login: username });
      const second = linkIn(await mailbox.waitForMail(`new-${email}`, /^Reset/, { skip: 1 }));
      expectDocumentedAnswer(
        await http().post('/password/reset').send({ token: second.token, newPassword: 'another passphrase 2' }),
        'POST /password/reset',
        204,
      );
    });

    it('for logging in through identity providers', async () => {
      const http = () => request(app.http);
      expectDocumentedAnswer(await http().get('/auth/providers'), 'GET /auth/providers', 200);
      expectDocumentedAnswer(await http().get('/auth/test').redirects(0), 'GET /auth/{provider}', 302);
      expectDocumentedAnswer(
        await http().get('/auth/test?returnTo=https://evil.example').redirects(0),
        'GET /auth/{provider}',
        400,
      );
      expectDocumentedAnswer(
        await http().get('/auth/test/callback').redirects(0),
        'GET /auth/{provider}/callback',
        400,
      );
      const login = await logInThroughProvider(app, 'test', { sub: uniqueUsername('subject') });
      expectDocumentedAnswer(login, 'GET /auth/{provider}/callback', 302);
      const exchanged = await http()
        .post('/auth/exchange')
        .send({ code: redirectParameters(login).get('code') });
      expectDocumentedAnswer(exchanged, 'POST /auth/exchange', 200);
      const token = exchanged.body.token as string;
      const identities = await http().get('/me/identities').set(bearer(token));
      expectDocumentedAnswer(identities, 'GET /me/identities', 200);
      const [identity] = identities.body.identities as { id: string }[];
      expectDocumentedAnswer(
        await http().delete(`/me/identities/${identity!.id}`).set(bearer(token)),
        'DELETE /me/identities/{id}',
        409,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/users/${exchanged.body.id}/identities/${identity!.id}`).set(withAdminSecret),
        'DELETE /admin/users/{id}/identities/{identityId}',
        204,
      );
    });

    it('for accounts, sessions and the webhook in both modes', async () => {
      const http = () => request(app.http);
      const username = uniqueUsername('alice');

      const signup = await http().post('/signup').send({ username, password: PASSWORD });
      expectDocumentedAnswer(signup, 'POST /signup', 201);
      const token = signup.body.token as string;
      expectDocumentedAnswer(await http().post('/signup').send({ username, password: PASSWORD }), 'POST /signup', 409);
      expectDocumentedAnswer(await http().post('/signup').send({ username: 1 }), 'POST /signup', 400);
      expectDocumentedAnswer(await http().post('/login').send({ username, password: PASSWORD }), 'POST /login', 200);
      expectDocumentedAnswer(await http().post('/login').send({ username, password: 'wrong' }), 'POST /login', 401);
      const pair = await http().post('/token').send({ username, password: PASSWORD });
      expectDocumentedAnswer(pair, 'POST /token', 200);
      expectDocumentedAnswer(await http().post('/token').send({ username, password: 'wrong' }), 'POST /token', 401);
      const refreshed = await http().post('/token/refresh').send({ refreshToken: pair.body.refreshToken });
      expectDocumentedAnswer(refreshed, 'POST /token/refresh', 200);
      expectDocumentedAnswer(
        await http().post('/token/refresh').send({ refreshToken: 'not-a-token' }),
        'POST /token/refresh',
        401,
      );
      expectDocumentedAnswer(
        await http().post('/token/logout').send({ refreshToken: refreshed.body.refreshToken }),
        'POST /token/logout',
        204,
      );
      const jwks = await http().get('/.well-known/jwks.json');
      expectDocumentedAnswer(jwks, 'GET /.well-known/jwks.json', 200);
      expectDocumentedAnswer(
        await http().get('/.well-known/jwks.json').set('If-None-Match', jwks.headers.etag!),
        'GET /.well-known/jwks.json',
        304,
      );
      expectDocumentedAnswer(await http().get('/me').set(bearer(token)), 'GET /me', 200);
      expectDocumentedAnswer(await http().get('/me'), 'GET /me', 401);

      expectDocumentedAnswer(await http().get('/webhook').set(bearer(token)), 'GET /webhook', 200);
      expectDocumentedAnswer(await http().get('/webhook'), 'GET /webhook', 200);
      expectDocumentedAnswer(await http().get('/webhook').set(bearer('not-a-token')), 'GET /webhook', 401);
      const forwarded = { headers: { Authorization: `Bearer ${token}` }, request: null };
      expectDocumentedAnswer(await http().post('/webhook').send(forwarded), 'POST /webhook', 200);
      expectDocumentedAnswer(await http().post('/webhook').send({ headers: 'none' }), 'POST /webhook', 400);

      expectDocumentedAnswer(await http().get('/session').set(bearer(token)), 'GET /session', 200);
      const sessions = await http().get('/sessions').set(bearer(token));
      expectDocumentedAnswer(sessions, 'GET /sessions', 200);
      const other = (sessions.body.sessions as { id: string; current: boolean }[]).find((each) => !each.current);
      expectDocumentedAnswer(
        await http().delete(`/sessions/${other!.id}`).set(bearer(token)),
        'DELETE /sessions/{id}',
        204,
      );
      expectDocumentedAnswer(
        await http().delete(`/sessions/${other!.id}`).set(bearer(token)),
        'DELETE /sessions/{id}',
        404,
      );

      const changed = await http()
        .post('/password')
        .set(bearer(token))
        .send({ currentPassword: PASSWORD, newPassword: `${PASSWORD}!` });
      expectDocumentedAnswer(changed, 'POST /password', 200);
      const fresh = changed.body.token as string;
      expectDocumentedAnswer(await http().post('/logout').set(bearer(fresh)), 'POST /logout', 204);
      expectDocumentedAnswer(await http().post('/logout').set(bearer(fresh)), 'POST /logout', 401);
      const again = await signUp(app);
      expectDocumentedAnswer(await http().post('/logout/all').set(bearer(again.token)), 'POST /logout/all', 204);
    });

    it('for second factors, and a login that asks for one', async () => {
      const http = () => request(app.http);
      const user = await signUp(app);
      const codeNow = (secret: string) =>
        new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: app.clock.now().getTime() });
      expectDocumentedAnswer(await http().get('/me/mfa').set(bearer(user.token)), 'GET /me/mfa', 200);
      const begun = await http().post('/me/mfa/totp').set(bearer(user.token)).send({});
      expectDocumentedAnswer(begun, 'POST /me/mfa/totp', 200);
      const secret = begun.body.secret as string;
      expectDocumentedAnswer(
        await http().post('/me/mfa/totp/confirm').set(bearer(user.token)).send({ code: 'nope' }),
        'POST /me/mfa/totp/confirm',
        401,
      );
      const confirmed = await http()
        .post('/me/mfa/totp/confirm')
        .set(bearer(user.token))
        .send({ code: codeNow(secret) });
      expectDocumentedAnswer(confirmed, 'POST /me/mfa/totp/confirm', 200);
      expectDocumentedAnswer(
        await http().post('/me/mfa/totp').set(bearer(user.token)).send({}),
        'POST /me/mfa/totp',
        409,
      );
      const replaced = await http().post('/me/mfa/recovery-codes').set(bearer(user.token)).send({});
      expectDocumentedAnswer(replaced, 'POST /me/mfa/recovery-codes', 200);

      const asked = await http().post('/login').send({ username: user.username, password: PASSWORD });
      expectDocumentedAnswer(asked, 'POST /login', 401);
      const wrong = await http().post('/login/mfa').send({ challenge: asked.body.challenge, code: '000000' });
      expectDocumentedAnswer(wrong, 'POST /login/mfa', 401);
      const [first = '', second = '', third = ''] = replaced.body.recoveryCodes as string[];
      expectDocumentedAnswer(
        await http().post('/login/mfa').send({ challenge: asked.body.challenge, recoveryCode: first }),
        'POST /login/mfa',
        200,
      );
      const tokenAsked = await http().post('/token').send({ username: user.username, password: PASSWORD });
      expectDocumentedAnswer(tokenAsked, 'POST /token', 401);
      expectDocumentedAnswer(
        await http().post('/token/mfa').send({ challenge: tokenAsked.body.challenge, recoveryCode: second }),
        'POST /token/mfa',
        200,
      );
      expectDocumentedAnswer(
        await http().post('/token/mfa').send({ challenge: tokenAsked.body.challenge, recoveryCode: third }),
        'POST /token/mfa',
        401,
      );
      expectDocumentedAnswer(
        await http().delete('/me/mfa/totp').set(bearer(user.token)).send({ password: PASSWORD, recoveryCode: third }),
        'DELETE /me/mfa/totp',
        204,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/users/${user.id}/mfa`).set(withAdminSecret),
        'DELETE /admin/users/{id}/mfa',
        204,
      );
      expectDocumentedAnswer(
        await http().delete('/admin/users/2147483647/mfa').set(withAdminSecret),
        'DELETE /admin/users/{id}/mfa',
        404,
      );
    });

    it('for passkeys, as far as no authenticator is needed (tests/e2e/passkeys.test.ts has one)', async () => {
      const http = () => request(app.http);
      const user = await signUp(app);
      expectDocumentedAnswer(
        await http().post('/me/passkeys/options').set(bearer(user.token)).send({}),
        'POST /me/passkeys/options',
        200,
      );
      const forged = {
        id: 'AAAA',
        rawId: 'AAAA',
        type: 'public-key',
        response: { clientDataJSON: 'e30', attestationObject: 'oA' },
        clientExtensionResults: {},
      };
      expectDocumentedAnswer(
        await http().post('/me/passkeys').set(bearer(user.token)).send({ response: forged }),
        'POST /me/passkeys',
        400,
      );
      expectDocumentedAnswer(await http().get('/me/passkeys').set(bearer(user.token)), 'GET /me/passkeys', 200);
      expectDocumentedAnswer(
        await http().patch('/me/passkeys/AAAA').set(bearer(user.token)).send({ name: 'x' }),
        'PATCH /me/passkeys/{id}',
        404,
      );
      expectDocumentedAnswer(
        await http().delete('/me/passkeys/AAAA').set(bearer(user.token)),
        'DELETE /me/passkeys/{id}',
        404,
      );
      expectDocumentedAnswer(await http().post('/login/passkey/options').send(), 'POST /login/passkey/options', 200);
      expectDocumentedAnswer(
        await http().post('/login/mfa/passkey/options').send({ challenge: 'unknown' }),
        'POST /login/mfa/passkey/options',
        401,
      );
      expectDocumentedAnswer(
        await http()
          .post('/login/passkey')
          .send({
            response: { ...forged, response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } },
          }),
        'POST /login/passkey',
        401,
      );
      expectDocumentedAnswer(
        await http()
          .post('/token/passkey')
          .send({
            response: { ...forged, response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } },
          }),
        'POST /token/passkey',
        401,
      );
    });

    it('for the account and admin pages', async () => {
      const http = () => request(app.http);
      const username = uniqueUsername('pages');
      await http()
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username, password: PASSWORD, roles: ['admin'] })
        .expect(201);
      expectDocumentedAnswer(await http().get('/account/login'), 'GET /account/login', 200);
      expectDocumentedAnswer(
        await http().post('/account/login').set(SAME_ORIGIN).type('form').send({ username, password: 'wrong' }),
        'POST /account/login',
        401,
      );
      expectDocumentedAnswer(await http().get('/account'), 'GET /account', 303);
      const session = await logInAtPage(app, username);
      const form = (path: string, fields: Record<string, string> = {}) => postForm(app, session, path, fields);
      expectDocumentedAnswer(await http().get('/account').set(session.cookie), 'GET /account', 200);
      expectDocumentedAnswer(await form('/account/profile', { displayName: 'Page' }), 'POST /account/profile', 303);
      expectDocumentedAnswer(
        await form('/account/email', { email: `${username}@example.com` }),
        'POST /account/email',
        303,
      );
      expectDocumentedAnswer(
        await form('/account/password', { currentPassword: 'wrong', newPassword: 'x', confirmPassword: 'y' }),
        'POST /account/password',
        400,
      );
      expectDocumentedAnswer(
        await form('/account/sessions/end', { id: '00000000-0000-4000-8000-000000000000' }),
        'POST /account/sessions/end',
        404,
      );
      expectDocumentedAnswer(await form('/account/sessions/end-others'), 'POST /account/sessions/end-others', 303);
      expectDocumentedAnswer(
        await form('/account/identities/unlink', { id: '1' }),
        'POST /account/identities/unlink',
        404,
      );
      const enrolment = await form('/account/totp', { password: PASSWORD });
      expectDocumentedAnswer(enrolment, 'POST /account/totp', 200);
      const secret = /id="totp-secret">([A-Z2-7]+)</.exec(enrolment.text)![1]!;
      const code = () =>
        new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: app.clock.now().getTime() });
      expectDocumentedAnswer(await form('/account/totp/confirm', { code: 'nope' }), 'POST /account/totp/confirm', 401);
      expectDocumentedAnswer(await form('/account/totp/confirm', { code: code() }), 'POST /account/totp/confirm', 200);
      expectDocumentedAnswer(
        await form('/account/recovery-codes', { password: PASSWORD }),
        'POST /account/recovery-codes',
        200,
      );
      const second = await http()
        .post('/account/login')
        .set(SAME_ORIGIN)
        .type('form')
        .send({ username, password: PASSWORD });
      expectDocumentedAnswer(second, 'POST /account/login', 401);
      expectDocumentedAnswer(
        await http()
          .post('/account/login/mfa')
          .set(SAME_ORIGIN)
          .type('form')
          .send({ challenge: 'unknown', code: '000000' }),
        'POST /account/login/mfa',
        401,
      );
      expectDocumentedAnswer(
        await form('/account/totp/remove', { password: PASSWORD, code: 'aaaa-bbbb-cccc-dddd' }),
        'POST /account/totp/remove',
        401,
      );
      expectDocumentedAnswer(await http().get('/account/passkeys').set(session.cookie), 'GET /account/passkeys', 200);
      expectDocumentedAnswer(await http().get('/account/passkeys.js'), 'GET /account/passkeys.js', 200);
      expectDocumentedAnswer(
        await form('/account/passkeys/rename', { id: 'AAAA', name: 'x' }),
        'POST /account/passkeys/rename',
        404,
      );
      expectDocumentedAnswer(
        await form('/account/passkeys/remove', { id: 'AAAA' }),
        'POST /account/passkeys/remove',
        404,
      );

      expectDocumentedAnswer(await http().get('/admin?search=pages').set(session.cookie), 'GET /admin', 200);
      const invited = uniqueUsername('invited');
      expectDocumentedAnswer(
        await form('/admin/forms/users', {
          username: invited,
          email: `${invited}@example.com`,
          password: '',
          role: '',
        }),
        'POST /admin/forms/users',
        303,
      );
      expectDocumentedAnswer(
        await form('/admin/forms/user', { id: '2147483647', action: 'end-sessions' }),
        'POST /admin/forms/user',
        404,
      );
      expectDocumentedAnswer(
        await form('/admin/forms/roles', { action: 'delete', name: 'user' }),
        'POST /admin/forms/roles',
        409,
      );
      const registered = await form('/admin/forms/clients', {
        action: 'create',
        name: 'Documented app',
        type: 'public',
        redirectUris: APP_CALLBACK,
      });
      expectDocumentedAnswer(registered, 'POST /admin/forms/clients', 200);
      const clientId = /id="client-id">([^<]+)</.exec(registered.text)![1]!;
      expectDocumentedAnswer(
        await form('/admin/forms/clients', { action: 'delete', id: clientId, confirm: 'yes' }),
        'POST /admin/forms/clients',
        303,
      );
      expectDocumentedAnswer(
        await form('/admin/forms/clients', { action: 'delete', id: 'nobody', confirm: 'yes' }),
        'POST /admin/forms/clients',
        404,
      );
      expectDocumentedAnswer(await form('/account/logout'), 'POST /account/logout', 303);
    });

    it('for the admin API and operations', async () => {
      const http = () => request(app.http);
      const { token } = await signUp(app);

      expectDocumentedAnswer(await http().get('/healthz'), 'GET /healthz', 200);
      expectDocumentedAnswer(await http().get('/readyz'), 'GET /readyz', 200);
      expectDocumentedAnswer(
        await http().get('/metrics').set(bearer('a-metrics-token-for-the-scraper')),
        'GET /metrics',
        200,
      );
      expectDocumentedAnswer(await http().get('/openapi.json'), 'GET /openapi.json', 200);

      expectDocumentedAnswer(await http().get('/admin/users').set(bearer(token)), 'GET /admin/users', 403);
      expectDocumentedAnswer(await http().get('/admin/users').set(withAdminSecret), 'GET /admin/users', 200);
      expectDocumentedAnswer(await http().get('/admin/users?limit=0').set(withAdminSecret), 'GET /admin/users', 400);
      const role = `editor-${process.pid}`;
      expectDocumentedAnswer(
        await http().post('/admin/roles').set(withAdminSecret).send({ name: role }),
        'POST /admin/roles',
        201,
      );
      expectDocumentedAnswer(
        await http().post('/admin/roles').set(withAdminSecret).send({ name: role }),
        'POST /admin/roles',
        409,
      );
      expectDocumentedAnswer(await http().get('/admin/roles').set(withAdminSecret), 'GET /admin/roles', 200);

      const created = await http()
        .post('/admin/users')
        .set(withAdminSecret)
        .send({ username: uniqueUsername('bob'), password: PASSWORD, roles: [role] });
      expectDocumentedAnswer(created, 'POST /admin/users', 201);
      const id = created.body.id as number;
      expectDocumentedAnswer(await http().get(`/admin/users/${id}`).set(withAdminSecret), 'GET /admin/users/{id}', 200);
      expectDocumentedAnswer(
        await http()
          .get(`/admin/users/${2 ** 31 - 1}`)
          .set(withAdminSecret),
        'GET /admin/users/{id}',
        404,
      );
      expectDocumentedAnswer(
        await http()
          .patch(`/admin/users/${id}`)
          .set(withAdminSecret)
          .send({ sessionVariables: { 'x-hasura-org-id': '42' } }),
        'PATCH /admin/users/{id}',
        200,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/users/${id}/roles/${role}`).set(withAdminSecret),
        'DELETE /admin/users/{id}/roles/{role}',
        204,
      );
      expectDocumentedAnswer(
        await http().put(`/admin/users/${id}/roles/${role}`).set(withAdminSecret),
        'PUT /admin/users/{id}/roles/{role}',
        204,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/users/${id}/sessions`).set(withAdminSecret),
        'DELETE /admin/users/{id}/sessions',
        204,
      );
      expectDocumentedAnswer(
        await http().delete('/admin/roles/user').set(withAdminSecret),
        'DELETE /admin/roles/{name}',
        409,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/roles/${role}`).set(withAdminSecret),
        'DELETE /admin/roles/{name}',
        204,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/users/${id}`).set(withAdminSecret),
        'DELETE /admin/users/{id}',
        204,
      );
    });

    it("for the OpenID Provider's clients and hosted pages", async () => {
      const http = () => request(app.http);
      const badClient = await http()
        .post('/admin/clients')
        .set(withAdminSecret)
        .send({ name: 'x', type: 'public', redirectUris: ['http://evil.example/cb'] });
      expectDocumentedAnswer(badClient, 'POST /admin/clients', 400);
      const created = await http()
        .post('/admin/clients')
        .set(withAdminSecret)
        .send({ name: 'Documented', type: 'confidential', redirectUris: [APP_CALLBACK] });
      expectDocumentedAnswer(created, 'POST /admin/clients', 201);
      const clientId = created.body.clientId as string;
      expectDocumentedAnswer(await http().get('/admin/clients').set(withAdminSecret), 'GET /admin/clients', 200);
      expectDocumentedAnswer(
        await http().get(`/admin/clients/${clientId}`).set(withAdminSecret),
        'GET /admin/clients/{id}',
        200,
      );
      expectDocumentedAnswer(
        await http().get('/admin/clients/nobody').set(withAdminSecret),
        'GET /admin/clients/{id}',
        404,
      );
      expectDocumentedAnswer(
        await http().patch(`/admin/clients/${clientId}`).set(withAdminSecret).send({ name: 'Renamed' }),
        'PATCH /admin/clients/{id}',
        200,
      );
      expectDocumentedAnswer(
        await http().post(`/admin/clients/${clientId}/secret`).set(withAdminSecret),
        'POST /admin/clients/{id}/secret',
        200,
      );

      const authorization = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: APP_CALLBACK,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      });
      const started = await http().get(`/authorize?${authorization.toString()}`).redirects(0);
      const interaction = started.headers.location as string;
      const cookies = (started.headers['set-cookie'] as unknown as string[])
        .map((line) => line.split(';')[0])
        .join('; ');
      const page = await http().get(interaction).set('Cookie', cookies);
      expectDocumentedAnswer(page, 'GET /interaction/{uid}', 200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
      const interactionForm = (path: string, fields: Record<string, string>) =>
        http()
          .post(path)
          .set(SAME_ORIGIN)
          .type('form')
          .send({ csrf, ...fields });
      expectDocumentedAnswer(
        await interactionForm(`${interaction}/login`, { username: 'nobody-here', password: 'wrong' }).set(
          'Cookie',
          cookies,
        ),
        'POST /interaction/{uid}/login',
        401,
      );
      expectDocumentedAnswer(
        await interactionForm(`${interaction}/mfa`, { challenge: 'unknown', code: '123456' }).set('Cookie', cookies),
        'POST /interaction/{uid}/mfa',
        401,
      );
      expectDocumentedAnswer(
        await http().get(`${interaction}/signup`).set('Cookie', cookies),
        'GET /interaction/{uid}/signup',
        200,
      );
      expectDocumentedAnswer(
        await interactionForm(`${interaction}/signup`, { username: 'documented-signup', password: 'short' }).set(
          'Cookie',
          cookies,
        ),
        'POST /interaction/{uid}/signup',
        400,
      );
      expectDocumentedAnswer(
        await http().get(`${interaction}/identity?error=access_denied`).set('Cookie', cookies),
        'GET /interaction/{uid}/identity',
        400,
      );
      expectDocumentedAnswer(
        await http().get(`${interaction}/identity?code=not-a-code`).set('Cookie', cookies),
        'GET /interaction/{uid}/identity',
        400,
      );
      // Without the interaction's cookie, the login is not this browser's.
      expectDocumentedAnswer(
        await interactionForm(`${interaction}/consent`, { decision: 'allow' }),
        'POST /interaction/{uid}/consent',
        400,
      );
      expectDocumentedAnswer(
        await http().delete(`/admin/clients/${clientId}`).set(withAdminSecret),
        'DELETE /admin/clients/{id}',
        204,
      );
    });

    it('for every documented route, each exercised above', () => {
      expect([...exercised].sort()).toEqual(routeNames(documentedRoutes));
    });
  });
});
