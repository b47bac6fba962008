import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { hasuraDdnAuthConfig } from '../src/cli';
import { PUBLISHED_KEYS_REFRESH_SECONDS } from '../src/domain/signing-keys';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName } from './support/admin';
import { cookieHeader, sessionCookieOf, setCookiesOf } from './support/cookies';
import { forwardedByDdn, readAsDdn, TRACEPARENT, verifyAsDdn, type DdnJwtConfig } from './support/hasura-ddn';
import { obtainTokens, nowSecondsOf } from './support/jwt';
import { logIn } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

// Hasura DDN (the v3 engine) calls the webhook, and reads JWTs, by rules of its own
// (../shared/docs/hasura-ddn-contract.md): each request here is shaped as the engine sends it, and
// each answer judged as the engine reads it (support/hasura-ddn).

const IDLE_SECONDS = 600;
const TOUCH_SECONDS = 60;

describe('Hasura DDN calls the webhook (HASURA_ENGINE=v3)', () => {
  let app: TestApp;
  let editor: string;
  beforeAll(async () => {
    app = await startTestApp({
      ADMIN_SECRET,
      HASURA_ENGINE: 'v3',
      SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS),
      SESSION_TOUCH_INTERVAL_SECONDS: String(TOUCH_SECONDS),
    });
    editor = uniqueRoleName('editor');
    await createRole(app, editor);
  });
  afterAll(() => app.close());

  /** What a browser or app sends DDN, besides its credential. */
  const clientHeaders = {
    Accept: 'application/json',
    'Accept-Encoding': 'gzip',
    'Content-Type': 'application/json',
    'User-Agent': 'Mozilla/5.0',
    Origin: 'https://app.example.com',
    'X-Request-Id': 'req-ddn-1',
  };
  const ddnGet = (headers: Record<string, string>) =>
    request(app.http)
      .get('/webhook')
      .set(forwardedByDdn({ ...clientHeaders, ...headers }));
  // v3's POST: every client header, lower-case names, and no `request` key.
  const ddnPost = (headers: Record<string, string>) => request(app.http).post('/webhook').send({ headers });

  it('GET, with the headers v3 drops left out and its traceparent added: the user, and no variable but the session', async () => {
    const user = await signUp(app);
    const res = await ddnGet(bearer(user.token));
    expect(res.request.getHeader('traceparent')).toBe(TRACEPARENT);
    expect(readAsDdn(res)).toEqual({
      outcome: 'session',
      role: 'user',
      variables: { 'x-hasura-role': 'user', 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'false' },
    });
  });

  it('POST {headers} with lower-case names and no request: the same session', async () => {
    const user = await signUp(app);
    const res = await ddnPost({
      authorization: `Bearer ${user.token}`,
      'content-type': 'application/json',
      traceparent: TRACEPARENT,
    });
    expect(readAsDdn(res)).toEqual({
      outcome: 'session',
      role: 'user',
      variables: { 'x-hasura-role': 'user', 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'false' },
    });
  });

  it('POST {"headers": {}} (customHeadersConfig forwarding nothing): the anonymous role, which DDN has no setting for', async () => {
    expect(readAsDdn(await ddnPost({}))).toEqual({
      outcome: 'session',
      role: 'anonymous',
      variables: { 'x-hasura-role': 'anonymous' },
    });
  });

  it.each(['GET', 'POST'] as const)(
    '%s: a role the client asks for and holds is answered, as the engine checks; one it does not hold is 401 (403 to the client)',
    async (mode) => {
      const user = await createUserAsAdmin(app, { roles: [editor] });
      const ask = (role: string) =>
        mode === 'GET'
          ? ddnGet({ ...bearer(user.token), 'X-Hasura-Role': role })
          : ddnPost({ authorization: `Bearer ${user.token}`, 'x-hasura-role': role });
      expect(readAsDdn(await ask(editor), editor)).toMatchObject({ outcome: 'session', role: editor });
      expect(readAsDdn(await ask('admin'), 'admin')).toEqual({ outcome: 'unauthorized' });
    },
  );

  it('an unknown token is 401, which DDN answers 403; never a status DDN would turn into a 500', async () => {
    expect(readAsDdn(await ddnGet(bearer('not-a-token')))).toEqual({ outcome: 'unauthorized' });
    expect(readAsDdn(await ddnPost({ authorization: 'Bearer not-a-token' }))).toEqual({ outcome: 'unauthorized' });
  });

  it('answers no Set-Cookie, which DDN would drop; GET /session renews the cookie instead', async () => {
    const user = await signUp(app);
    const cookie = sessionCookieOf(await logIn(app, user.username));
    expect(cookie.maxAge).toBe(IDLE_SECONDS);

    // Half an idle timeout of GraphQL requests: each moves the session's idle deadline, but the
    // browser's cookie keeps the expiry it was set with.
    app.clock.advanceSeconds(IDLE_SECONDS / 2);
    const during = await ddnGet(cookieHeader(cookie));
    expect(readAsDdn(during)).toMatchObject({ outcome: 'session', role: 'user' });
    expect(setCookiesOf(during)).toEqual([]);

    const renewed = await request(app.http).get('/session').set(cookieHeader(cookie));
    expect(renewed.status).toBe(200);
    expect(sessionCookieOf(renewed)).toEqual({ ...cookie, maxAge: IDLE_SECONDS });
    expect(renewed.body).toMatchObject({
      current: true,
      endsAt: new Date(app.clock.now().getTime() + IDLE_SECONDS * 1000).toISOString(),
    });

    // Past the login's own idle timeout, the renewed cookie still carries a live session.
    app.clock.advanceSeconds(IDLE_SECONDS / 2 + 1);
    expect(readAsDdn(await ddnGet(cookieHeader(cookie)))).toMatchObject({ outcome: 'session', role: 'user' });
  });

  it('GET /session sets no cookie for a session that came as a bearer token, nor for one that came as both', async () => {
    const user = await signUp(app);
    const cookie = sessionCookieOf(await logIn(app, user.username));
    const asBearer = await request(app.http).get('/session').set(bearer(user.token));
    expect(asBearer.status).toBe(200);
    expect(setCookiesOf(asBearer)).toEqual([]);
    // Authorization wins over the cookie: the cookie's session was not the one checked.
    const both = await request(app.http)
      .get('/session')
      .set({ ...bearer(user.token), ...cookieHeader(cookie) });
    expect(setCookiesOf(both)).toEqual([]);
  });
});

const HS256_SECRET = 'a shared secret of at least thirty-two bytes, for HS256';

describe.each<[string, Record<string, string>]>([
  ['ES256, claims as JSON', { JWT_CLAIMS_FORMAT: 'json' }],
  ['RS256, claims as stringified JSON', { JWT_ALGORITHM: 'RS256', JWT_CLAIMS_FORMAT: 'stringified_json' }],
  [
    'HS256, a namespace of its own',
    { JWT_ALGORITHM: 'HS256', JWT_SECRET: HS256_SECRET, JWT_CLAIMS_NAMESPACE: 'https://example.com/~ns' },
  ],
])('Hasura DDN verifies access tokens (%s) by the AuthConfig hasura-ddn-auth-config prints', (_label, settings) => {
  let app: TestApp;
  let ddn: DdnJwtConfig;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET, ...settings });
    const printed = parseYaml(hasuraDdnAuthConfig(app.config, 'jwt', app.http)) as {
      definition: { mode: { jwt: DdnJwtConfig } };
    };
    ddn = printed.definition.mode.jwt;
  });
  afterAll(() => app.close());

  /** DDN fetches the JWKS from jwkFromUrl on every request. */
  async function verify(token: string, clientRole?: string) {
    const jwks =
      'jwkFromUrl' in ddn.key ? ((await request(ddn.key.jwkFromUrl).get('').expect(200)).body as never) : undefined;
    return verifyAsDdn(ddn, token, {
      jwks,
      env: { AUTH_JWT_SECRET: HS256_SECRET },
      nowSeconds: nowSecondsOf(app),
      clientRole,
    });
  }

  it('accepts the token, with the default role, a requested role it allows, and the user id', async () => {
    const editor = uniqueRoleName('editor');
    await createRole(app, editor);
    const user = await createUserAsAdmin(app, { roles: [editor] });
    const { accessToken } = await obtainTokens(app, user.username);
    expect(await verify(accessToken)).toEqual({
      ok: true,
      role: 'user',
      variables: { 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'false' },
    });
    expect(await verify(accessToken, editor)).toMatchObject({ ok: true, role: editor });
    expect(await verify(accessToken, 'admin')).toMatchObject({ ok: false });
  });

  it('refuses a token whose signature was tampered with, and one past its exp', async () => {
    const user = await signUp(app);
    const { accessToken, accessTokenExpiresIn } = await obtainTokens(app, user.username);
    const [header, payload, signature = ''] = accessToken.split('.');
    const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expect(await verify(`${header}.${payload}.${flipped}`)).toMatchObject({ ok: false });
    app.clock.advanceSeconds(accessTokenExpiresIn + 1);
    expect(await verify(accessToken)).toMatchObject({ ok: false, reason: expect.stringMatching(/exp/) });
  });
});

describe('Hasura DDN fetches the JWKS on every request', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const fetchJwks = (headers: Record<string, string> = {}) =>
    request(app.http).get('/.well-known/jwks.json').set(headers);

  /** How many times `during` read the signing keys from the database. */
  async function signingKeyReads(during: () => Promise<void>): Promise<number> {
    const queries: string[] = [];
    const count = (query: { sql: string }) => queries.push(query.sql);
    app.database.db.on('query', count);
    try {
      await during();
    } finally {
      app.database.db.off('query', count);
    }
    return queries.filter((sql) => sql.includes('signing_keys')).length;
  }

  it('answers them from memory: a hundred fetches read the keys from the database once at most', async () => {
    await fetchJwks().expect(200);
    const reads = await signingKeyReads(async () => {
      const answers = await Promise.all(Array.from({ length: 100 }, () => fetchJwks()));
      expect(answers.map((res) => res.status)).toEqual(Array(100).fill(200));
      expect(new Set(answers.map((res) => res.text)).size).toBe(1);
    });
    expect(reads).toBeLessThanOrEqual(1);
  });

  it(`reads the keys again once they have been in memory ${PUBLISHED_KEYS_REFRESH_SECONDS} s, not before`, async () => {
    // Read now, so that the key set in memory is as old as this test says.
    app.clock.advanceSeconds(PUBLISHED_KEYS_REFRESH_SECONDS);
    await fetchJwks().expect(200);
    app.clock.advanceSeconds(PUBLISHED_KEYS_REFRESH_SECONDS - 1);
    expect(await signingKeyReads(async () => void (await fetchJwks().expect(200)))).toBe(0);
    app.clock.advanceSeconds(1);
    expect(await signingKeyReads(async () => void (await fetchJwks().expect(200)))).toBe(1);
  });

  it('tags the key set, and answers 304 with no body to a client that holds it', async () => {
    const first = await fetchJwks().expect(200);
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers['cache-control']).toBe(`public, max-age=${app.config.jwt.jwksMaxAgeSeconds}`);

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, `"other",${etag}`, `  ${etag} `, ' * ']) {
      const again = await fetchJwks({ 'If-None-Match': ifNoneMatch });
      expect({ ifNoneMatch, status: again.status, text: again.text }).toEqual({ ifNoneMatch, status: 304, text: '' });
      // A 304 carries what the 200 would have, but the body.
      expect(again.headers).toMatchObject({
        etag,
        'cache-control': first.headers['cache-control'],
        'x-content-type-options': 'nosniff',
      });
    }
    expect((await fetchJwks({ 'If-None-Match': '"other"' })).status).toBe(200);
  });

  it('tags a changed key set anew', async () => {
    const before = (await fetchJwks().expect(200)).headers.etag!;
    await app.services.signingKeys.rotateSigningKey();
    const after = await fetchJwks({ 'If-None-Match': before });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(before);
    expect((after.body as { keys: unknown[] }).keys).toHaveLength(2);
  });

  // Last: the database is gone for good afterwards.
  it('answers 503 DATABASE_UNAVAILABLE, not a stale key set, once the keys are due to be read again and the database is down', async () => {
    await fetchJwks().expect(200);
    await app.database.simulateOutage();
    app.clock.advanceSeconds(PUBLISHED_KEYS_REFRESH_SECONDS);
    const res = await fetchJwks();
    expect(res.status).toBe(503);
    expect(res.headers['cache-control']).toBe('no-store');
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });
});
