import { SignJWT, generateKeyPair } from 'jose';
import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { logInToken, webhookGet } from './support/requests';
import { expectCleanErrorBody, expectTokenRefused, statusAndCode } from './support/responses';
import { verifyAsHasura } from './support/hasura-jwt-verifier';
import {
  hasuraSecretOf,
  obtainTokens,
  payloadOf,
  headerOf,
  refreshTokens,
  requestTokens,
  verifyIssued,
  nowSecondsOf,
  fetchJwks,
} from './support/jwt';
import { PASSWORD, bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

describe('JWT mode: POST /token and the access token', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  it('answers a token pair for a username and password', async () => {
    const user = await signUp(app);
    const res = await requestTokens(app, user.username);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      accessTokenExpiresIn: 900,
      refreshToken: expect.any(String),
      refreshTokenExpiresAt: new Date(
        app.clock.now().getTime() + app.config.sessions.absoluteTimeoutSeconds * 1000,
      ).toISOString(),
      user: {
        id: user.id,
        username: user.username,
        displayName: null,
        email: null,
        emailVerified: false,
        roles: ['user'],
        defaultRole: 'user',
      },
    });
  });

  it('issues an access token that Hasura accepts, as the user, with the role user', async () => {
    const user = await signUp(app);
    const { accessToken } = await obtainTokens(app, user.username);
    expect(await verifyIssued(app, accessToken)).toEqual({
      ok: true,
      role: 'user',
      sessionVariables: { 'x-hasura-role': 'user', 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'false' },
    });
  });

  it('carries sub, sid, iss, aud, an iat 5 s in the past and an exp 15 minutes ahead', async () => {
    const user = await signUp(app);
    const { accessToken } = await obtainTokens(app, user.username);
    const now = nowSecondsOf(app);
    const payload = payloadOf(accessToken);
    expect(payload).toEqual({
      sub: String(user.id),
      sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iss: 'hasura-auth-webhook',
      aud: 'hasura',
      iat: now - 5,
      exp: now + 900,
      'https://hasura.io/jwt/claims': {
        'x-hasura-allowed-roles': ['user'],
        'x-hasura-default-role': 'user',
        'x-hasura-user-id': String(user.id),
        'x-hasura-mfa': 'false',
      },
    });
    expect(headerOf(accessToken)).toEqual({ alg: 'ES256', typ: 'JWT', kid: expect.any(String) });
  });

  it('renders the user’s roles, default role and session variables as claims, every value but the roles a string', async () => {
    const role = uniqueRoleName();
    await createRole(app, role);
    const user = await createUserAsAdmin(app, { roles: [role], defaultRole: role });
    const patch = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'X-Hasura-Org-Id': '42' } });
    expect(patch.status).toBe(200);
    const { accessToken } = await obtainTokens(app, user.username);
    expect(payloadOf(accessToken)['https://hasura.io/jwt/claims']).toEqual({
      'x-hasura-allowed-roles': ['user', role],
      'x-hasura-default-role': role,
      'x-hasura-user-id': String(user.id),
      'x-hasura-mfa': 'false',
      'x-hasura-org-id': '42',
    });
    expect(await verifyIssued(app, accessToken)).toEqual({
      ok: true,
      role,
      sessionVariables: {
        'x-hasura-role': role,
        'x-hasura-user-id': String(user.id),
        'x-hasura-mfa': 'false',
        'x-hasura-org-id': '42',
      },
    });
  });

  it.each([
    ['at the default role', undefined],
    ['at a requested role', 'requested'],
  ])('gives Hasura the same identity as the webhook does, %s', async (_label, ask) => {
    const [defaultRole, other] = [uniqueRoleName(), uniqueRoleName()];
    await createRole(app, defaultRole);
    await createRole(app, other);
    const user = await createUserAsAdmin(app, { roles: [defaultRole, other], defaultRole });
    await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ sessionVariables: { 'x-hasura-org-id': '42', 'x-hasura-team': 'blue' } });
    const role = ask === undefined ? undefined : other;
    const webhook = await webhookGet(app, await logInToken(app, user.username), { role });
    expect(webhook.status).toBe(200);
    const { 'Cache-Control': _maxAge, ...webhookVariables } = webhook.body as Record<string, string>;
    const lowerCased = Object.fromEntries(
      Object.entries(webhookVariables).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const { accessToken } = await obtainTokens(app, user.username);
    expect(await verifyIssued(app, accessToken, { role })).toEqual({
      ok: true,
      role: role ?? defaultRole,
      sessionVariables: lowerCased,
    });
  });

  it('lets Hasura run as another held role on request, and refuses one the user does not hold', async () => {
    const role = uniqueRoleName();
    await createRole(app, role);
    const user = await createUserAsAdmin(app, { roles: [role] });
    const { accessToken } = await obtainTokens(app, user.username);
    expect(await verifyIssued(app, accessToken, { role })).toMatchObject({ ok: true, role });
    expect(await verifyIssued(app, accessToken, { role: 'admin' })).toEqual({
      ok: false,
      code: 'access-denied',
      message: 'Your requested role is not in allowed roles',
    });
  });

  it.each(['x-hasura-allowed-roles', 'x-hasura-default-role'])(
    'refuses %s as a session variable with 400 VALIDATION_FAILED: it is a claim the service writes',
    async (name) => {
      const user = await signUp(app);
      const res = await request(app.http)
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ sessionVariables: { [name]: 'admin' } });
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    },
  );

  it.each([
    ['a wrong password', '', 'not the password'],
    ['an unknown username', '-unknown', PASSWORD],
  ])('refuses %s with 401 INVALID_CREDENTIALS', async (_label, usernameSuffix, password) => {
    const user = await signUp(app);
    const res = await requestTokens(app, `${user.username}${usernameSuffix}`, password);
    expect(statusAndCode(res)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expectCleanErrorBody(res, 'INVALID_CREDENTIALS');
  });

  it('refuses a body without a password with 400 VALIDATION_FAILED', async () => {
    const res = await request(app.http).post('/token').send({ username: 'someone' });
    expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('refuses a disabled user with 401 INVALID_CREDENTIALS', async () => {
    const user = await signUp(app);
    await request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ disabled: true });
    expect(statusAndCode(await requestTokens(app, user.username))).toEqual({
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });
  });

  it('accepts neither the access token nor the refresh token as a bearer token, at the API or the webhook', async () => {
    const user = await signUp(app);
    const { accessToken, refreshToken } = await obtainTokens(app, user.username);
    await expectTokenRefused(app, accessToken);
    await expectTokenRefused(app, refreshToken);
  });

  it('refuses a webhook session token as a refresh token with 401 INVALID_REFRESH_TOKEN', async () => {
    const user = await signUp(app);
    const res = await refreshTokens(app, user.token);
    expect(statusAndCode(res)).toEqual({ status: 401, code: 'INVALID_REFRESH_TOKEN' });
    expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
  });

  it('lists the refresh session in GET /sessions, marked as such', async () => {
    const user = await signUp(app);
    await obtainTokens(app, user.username);
    const res = await request(app.http).get('/sessions').set(bearer(user.token));
    expect(res.status).toBe(200);
    expect(
      res.body.sessions.map((each: { kind: string; current: boolean }) => [each.kind, each.current]).sort(),
    ).toEqual([
      ['bearer', true],
      ['refresh', false],
    ]);
  });

  // A role granted before ANONYMOUS_ROLE came to name it: the webhook refuses such a user's calls
  // without a role (role-not-held), and no access token can carry the anonymous role with a user id.
  it('refuses a token pair with 403 FORBIDDEN to a user whose default role became the anonymous one', async () => {
    const role = uniqueRoleName('guest');
    await createRole(app, role);
    const user = await createUserAsAdmin(app, { roles: [role], defaultRole: role });
    const renamed = { http: await startPeerInstance(app, { ADMIN_SECRET, ANONYMOUS_ROLE: role }) };
    const res = await requestTokens(renamed, user.username);
    expect(res.status).toBe(403);
    expectCleanErrorBody(res, 'FORBIDDEN');
    expect(res.body.error.message).toBe('This account has no usable role.');
    // Refused before a session was stored: the user's only session is the one they logged in with.
    const sessions = await request(renamed.http).get('/sessions').set(bearer(user.token));
    expect(sessions.body.sessions.map((each: { kind: string }) => each.kind)).toEqual(['bearer']);
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the public key with kid, use and alg, for max-age 300 s', async () => {
      const res = await request(app.http).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.body).toEqual({
        keys: [
          {
            kty: 'EC',
            crv: 'P-256',
            x: expect.any(String),
            y: expect.any(String),
            kid: expect.any(String),
            use: 'sig',
            alg: 'ES256',
          },
        ],
      });
    });

    it('names the key that signs the access tokens', async () => {
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      const { keys } = await fetchJwks(app);
      expect(keys.map((key: { kid: string }) => key.kid)).toEqual([headerOf(accessToken).kid]);
    });

    it('never shows the private key, in an answer or a log line', async () => {
      const user = await signUp(app);
      const pair = await obtainTokens(app, user.username);
      await refreshTokens(app, pair.refreshToken);
      const [{ private_jwk: privateJwk }] = await app.database.db('signing_keys').select('private_jwk');
      const privateScalar = (privateJwk as { d: string }).d;
      expect(privateScalar).toEqual(expect.any(String));
      expect(JSON.stringify(await fetchJwks(app))).not.toContain(privateScalar);
      expect(app.logLines.join('\n')).not.toContain(privateScalar);
    });
  });

  describe('what Hasura refuses (the verifier is Hasura’s rules)', () => {
    let accessToken: string;
    beforeAll(async () => {
      const user = await signUp(app);
      ({ accessToken } = await obtainTokens(app, user.username));
    });

    it('refuses the token once it has expired: JWTExpired', async () => {
      const exp = payloadOf(accessToken).exp as number;
      expect(await verifyIssued(app, accessToken, { nowSeconds: exp - 1 })).toMatchObject({ ok: true });
      expect(await verifyIssued(app, accessToken, { nowSeconds: exp })).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWTExpired',
      });
    });

    it('is accepted by a Hasura whose clock is 4 s behind, and refused as issued in the future by one 6 s behind', async () => {
      const now = nowSecondsOf(app);
      expect(await verifyIssued(app, accessToken, { nowSeconds: now - 4 })).toMatchObject({ ok: true });
      expect(await verifyIssued(app, accessToken, { nowSeconds: now - 6 })).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWTIssuedAtFuture',
      });
    });

    it('refuses a Hasura configured for another audience: JWTNotInAudience', async () => {
      expect(await verifyIssued(app, accessToken, { secret: { audience: 'another-api' } })).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWTNotInAudience',
      });
      expect(await verifyIssued(app, accessToken, { secret: { audience: ['another-api', 'hasura'] } })).toMatchObject({
        ok: true,
      });
    });

    it('refuses a Hasura configured for another issuer: JWTNotInIssuer', async () => {
      expect(await verifyIssued(app, accessToken, { secret: { issuer: 'someone-else' } })).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWTNotInIssuer',
      });
    });

    it('refuses a token whose claims were changed after signing: JWSInvalidSignature', async () => {
      const [header, payload, signature] = accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
        string,
        Record<string, unknown>
      >;
      claims['https://hasura.io/jwt/claims']!['x-hasura-allowed-roles'] = ['user', 'admin'];
      const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
      expect(await verifyIssued(app, forged, { role: 'admin' })).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWSError JWSInvalidSignature',
      });
    });

    it('refuses the same claims signed with another key: JWSInvalidSignature', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(payloadOf(accessToken))
        .setProtectedHeader(headerOf(accessToken) as { alg: string })
        .sign(privateKey);
      expect(await verifyIssued(app, forged)).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWSError JWSInvalidSignature',
      });
    });

    it('refuses the same claims unsigned (alg none): JWSNoSignatures', async () => {
      const unsigned = [
        Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
        accessToken.split('.')[1],
        '',
      ].join('.');
      expect(await verifyIssued(app, unsigned)).toEqual({
        ok: false,
        code: 'invalid-jwt',
        message: 'Could not verify JWT: JWSError JWSNoSignatures',
      });
    });

    it.each(['bearer', 'Token'])(
      'refuses the header form "%s <token>": Malformed Authorization header',
      async (scheme) => {
        expect(
          await verifyAsHasura(hasuraSecretOf(app), {
            headers: { authorization: `${scheme} ${accessToken}` },
            nowSeconds: nowSecondsOf(app),
            jwks: await fetchJwks(app),
          }),
        ).toEqual({ ok: false, code: 'invalid-headers', message: 'Malformed Authorization header' });
      },
    );
  });

  it('keeps the user’s webhook session working when they also log in for tokens', async () => {
    const user = await signUp(app);
    const token = await logInToken(app, user.username);
    await obtainTokens(app, user.username);
    expect((await request(app.http).get('/me').set(bearer(token))).status).toBe(200);
  });
});
