import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import request from 'supertest';
import { loadConfig, type Env } from '../src/config';
import { cliDatabase, runCliCapturing } from './support/cli';
import { openDatabase } from '../src/db/database';
import { KEY_ROTATION_MARGIN_SECONDS } from '../src/domain/signing-keys';
import { verifyAsHasura } from './support/hasura-jwt-verifier';
import {
  fetchJwks,
  hasuraSecretOf,
  headerOf,
  nowSecondsOf,
  obtainTokens,
  payloadOf,
  verifyIssued,
} from './support/jwt';
import { signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

const kidsOf = (jwks: { keys: { kid?: string }[] }) => jwks.keys.map((key) => key.kid);

describe('JWT signing keys', () => {
  describe('generated ES256 keys, kept in the database', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('are shared by every instance on the database: one key, generated once', async () => {
      const peer = { http: await startPeerInstance(app) };
      const jwks = await fetchJwks(app);
      expect(jwks.keys).toHaveLength(1);
      expect(await fetchJwks(peer)).toEqual(jwks);
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(peer, user.username);
      expect(await verifyIssued(app, accessToken, { jwks })).toMatchObject({ ok: true });
    });

    it('rotate: the new key is published a max-age and a margin before it signs, and the old one stays until its tokens expire', async () => {
      const { jwksMaxAgeSeconds, accessTokenLifetimeSeconds } = app.config.jwt;
      const user = await signUp(app);
      // What a Hasura holds: its last fetch, taken just before the rotation.
      const cachedByHasura = await fetchJwks(app);
      const [oldKid] = kidsOf(cachedByHasura);
      const rotation = await app.services.signingKeys.rotateSigningKey();
      expect(rotation.signsFrom.getTime() - app.clock.now().getTime()).toBe(
        (jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS) * 1000,
      );
      expect(kidsOf(await fetchJwks(app))).toEqual([oldKid, rotation.kid]);

      // Until Hasura's copy expires, tokens are still signed with the key it holds.
      app.clock.advanceSeconds(jwksMaxAgeSeconds);
      const beforeSwitch = await obtainTokens(app, user.username);
      expect(headerOf(beforeSwitch.accessToken).kid).toBe(oldKid);
      expect(await verifyIssued(app, beforeSwitch.accessToken, { jwks: cachedByHasura })).toMatchObject({ ok: true });
      const refetchedByHasura = await fetchJwks(app);

      app.clock.advanceSeconds(KEY_ROTATION_MARGIN_SECONDS);
      const afterSwitch = await obtainTokens(app, user.username);
      expect(headerOf(afterSwitch.accessToken).kid).toBe(rotation.kid);
      expect(await verifyIssued(app, afterSwitch.accessToken, { jwks: refetchedByHasura })).toMatchObject({ ok: true });

      // The old key's last token is still valid, and so still verifiable, until it expires.
      const lastOldToken = payloadOf(beforeSwitch.accessToken).exp as number;
      expect(kidsOf(await fetchJwks(app))).toEqual([oldKid, rotation.kid]);
      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS);
      expect(nowSecondsOf(app)).toBeGreaterThan(lastOldToken);
      expect(kidsOf(await fetchJwks(app))).toEqual([rotation.kid]);
    });

    it('refuses a second rotation while one is waiting to sign', async () => {
      await app.services.signingKeys.rotateSigningKey();
      await expect(app.services.signingKeys.rotateSigningKey()).rejects.toThrow(/already waiting to sign/);
    });

    it('switching to RS256 publishes an RS256 key first, and ES256 signs until Hasura has fetched it', async () => {
      // Later than every key so far began signing, so that no tie decides which key signs.
      app.clock.advanceSeconds(1);
      const switched = { http: await startPeerInstance(app, { JWT_ALGORITHM: 'RS256' }) };
      const user = await signUp(app);
      const jwks = await fetchJwks(switched);
      const rsaKey = jwks.keys.find((key: { alg: string }) => key.alg === 'RS256') as { kid: string } | undefined;
      expect(rsaKey).toBeDefined();
      const { accessToken } = await obtainTokens(switched, user.username);
      expect(headerOf(accessToken).alg).toBe('ES256');
      // The operator learns when the new key will sign.
      const generated = app.logLines
        .map((line) => JSON.parse(line) as { msg: string })
        .filter((line) => line.msg === 'generated a JWT signing key');
      const { jwksMaxAgeSeconds } = app.config.jwt;
      const signsFrom = new Date(app.clock.now().getTime() + (jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS) * 1000);
      expect(generated.at(-1)).toMatchObject({
        kid: rsaKey!.kid,
        algorithm: 'RS256',
        signsFrom: signsFrom.toISOString(),
      });
    });
  });

  describe('instances starting together on a database without a key', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('generate one key between them, which both publish and sign with', async () => {
      // As on a new database: each finds no key and generates one, and only one may be stored,
      // or a Hasura that fetched the JWKS between the two would refuse the other's tokens.
      await app.database.db('signing_keys').delete();
      const logged = app.logLines.length;
      const peers = (await Promise.all([startPeerInstance(app), startPeerInstance(app)])).map((http) => ({ http }));
      const generated = app.logLines
        .slice(logged)
        .map((line) => JSON.parse(line) as { msg: string; kid?: string })
        .filter((line) => line.msg === 'generated a JWT signing key');
      expect(generated).toHaveLength(1);
      const jwks = await fetchJwks(peers[0]!);
      expect(kidsOf(jwks)).toEqual([generated[0]!.kid]);
      expect(await fetchJwks(peers[1]!)).toEqual(jwks);
      const user = await signUp(app);
      for (const peer of peers) {
        const { accessToken } = await obtainTokens(peer, user.username);
        expect(await verifyIssued(app, accessToken, { jwks })).toMatchObject({ ok: true });
      }
    });
  });

  describe('generated keys, rotated twice', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('retires the first key a token lifetime after the second began signing, whenever the third does; the next rotation deletes it', async () => {
      const { jwksMaxAgeSeconds, accessTokenLifetimeSeconds } = app.config.jwt;
      const [first] = kidsOf(await fetchJwks(app));
      const second = await app.services.signingKeys.rotateSigningKey();
      app.clock.advanceSeconds(jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS);
      const third = await app.services.signingKeys.rotateSigningKey();
      // The second key signs from now on; the first key's last token expires within the retention.
      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      expect(kidsOf(await fetchJwks(app))).toEqual([first, second.kid, third.kid]);
      app.clock.advanceSeconds(1);
      expect(kidsOf(await fetchJwks(app))).toEqual([second.kid, third.kid]);
      // Once the third key signs, a rotation may run again, and it deletes what is not published.
      app.clock.advanceSeconds(jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS);
      const fourth = await app.services.signingKeys.rotateSigningKey();
      expect(fourth.removedKids).toContain(first);
      const stored = await app.database.db('signing_keys').pluck<string[]>('kid');
      expect(stored.sort()).toEqual(kidsOf(await fetchJwks(app)).sort());
    });
  });

  describe('RS256, claims as stringified JSON', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ JWT_ALGORITHM: 'RS256', JWT_CLAIMS_FORMAT: 'stringified_json' });
    });
    afterAll(() => app.close());

    it('publishes an RSA key with kty, n, e, kid, use and alg only', async () => {
      const jwks = await fetchJwks(app);
      expect(jwks.keys).toEqual([
        { kty: 'RSA', n: expect.any(String), e: 'AQAB', kid: expect.any(String), use: 'sig', alg: 'RS256' },
      ]);
    });

    it('issues tokens that a Hasura configured the same way accepts, with the claims as a string', async () => {
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      expect(headerOf(accessToken).alg).toBe('RS256');
      expect(typeof payloadOf(accessToken)['https://hasura.io/jwt/claims']).toBe('string');
      expect(await verifyIssued(app, accessToken)).toEqual({
        ok: true,
        role: 'user',
        sessionVariables: { 'x-hasura-role': 'user', 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'false' },
      });
    });

    it('is refused by a Hasura that expects the claims as an object', async () => {
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      expect(await verifyIssued(app, accessToken, { secret: { claims_format: 'json' } })).toMatchObject({
        ok: false,
        code: 'jwt-invalid-claims',
      });
    });
  });

  describe('HS256 with a shared secret', () => {
    const JWT_SECRET = 'a shared secret of 32 bytes, or more';
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ JWT_ALGORITHM: 'HS256', JWT_SECRET });
    });
    afterAll(() => app.close());

    it('publishes no key', async () => {
      const res = await request(app.http).get('/.well-known/jwks.json');
      expect(res.body).toEqual({ keys: [] });
    });

    it('issues tokens that Hasura accepts with the key hasura-jwt-config prints', async () => {
      expect(hasuraSecretOf(app)).toMatchObject({ type: 'HS256', key: JWT_SECRET });
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      expect(headerOf(accessToken)).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(await verifyIssued(app, accessToken)).toMatchObject({ ok: true, role: 'user' });
    });

    it('a token signed with another secret is refused: JWSInvalidSignature', async () => {
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      const forged = await new SignJWT(payloadOf(accessToken))
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('another secret of at least 32 bytes'));
      expect(
        await verifyAsHasura(hasuraSecretOf(app), {
          headers: { authorization: `Bearer ${forged}` },
          nowSeconds: nowSecondsOf(app),
        }),
      ).toEqual({ ok: false, code: 'invalid-jwt', message: 'Could not verify JWT: JWSError JWSInvalidSignature' });
    });

    it('refuses to rotate: the secret is changed in the environment and in Hasura together', async () => {
      await expect(app.services.signingKeys.rotateSigningKey()).rejects.toThrow(/JWT_SECRET/);
    });
  });
});

describe('npm run cli -- rotate-jwt-key', () => {
  let env: Env;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ env, dispose } = await cliDatabase());
  });
  afterAll(() => dispose());

  const cli = (argv: string[], extraEnv: Env = {}) => runCliCapturing(argv, { ...env, ...extraEnv });

  it('publishes a new key, says when it signs, and refuses a second rotation while it waits', async () => {
    const first = await cli(['rotate-jwt-key']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Published key [\w-]+ \(ES256\); it signs from \d{4}-\d\d-\d\dT[\d:.]+Z\.\n/);
    const second = await cli(['rotate-jwt-key']);
    expect(second).toMatchObject({ code: 1, stdout: '' });
    expect(second.stderr).toMatch(/already waiting to sign/);
    expect(`${first.stdout}${second.stderr}`).not.toMatch(/"d"|privateJwk|PRIVATE KEY/);
  });

  it('refuses with a key from JWT_PRIVATE_KEY, and says how to rotate it through JWT_NEXT_PRIVATE_KEY', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const refused = await cli(['rotate-jwt-key'], { JWT_PRIVATE_KEY: pem });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(
      /^The signing key comes from JWT_PRIVATE_KEY.*set JWT_NEXT_PRIVATE_KEY to a new key/,
    );
    for (const line of pem.split('\n').filter((each) => each.length > 0 && !each.startsWith('-----'))) {
      expect(refused.stderr).not.toContain(line);
    }
    // Refused before anything was recorded: which keys are in use is for the servers' starts to say.
    const db = openDatabase(loadConfig(env).database);
    try {
      expect(await db('signing_keys').select('kid').whereNull('private_jwk').orWhereNotNull('retired_at')).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});
