import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Env } from '../src/config';
import { KEY_ROTATION_MARGIN_SECONDS, PUBLISHED_KEYS_REFRESH_SECONDS } from '../src/domain/signing-keys';
import { fetchJwks, headerOf, obtainTokens, verifyIssued } from './support/jwt';
import { signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
const privateJwkText = (key: KeyObject) => JSON.stringify(key.export({ format: 'jwk' }));
const newEcKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** RFC 7638, computed here rather than by the service: the required members, sorted, no spaces, SHA-256. */
function thumbprintOf(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** Every piece of a private key's text worth finding: its PEM lines, and its JWK's private values. */
function materialOf(key: KeyObject): string[] {
  const pemLines = pkcs8(key)
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('-----'));
  const { d, p, q, dp, dq, qi } = key.export({ format: 'jwk' });
  return [...pemLines, ...[d, p, q, dp, dq, qi].filter((value): value is string => value !== undefined)];
}

function expectNoMaterialOf(text: string, key: KeyObject) {
  for (const piece of materialOf(key)) expect(text).not.toContain(piece);
}

const kidsOf = (jwks: { keys: { kid?: string }[] }) => jwks.keys.map((key) => key.kid);
const rowsOf = (app: TestApp) =>
  app.database.db('signing_keys').select<{ kid: string; private_jwk: unknown; public_jwk: unknown }[]>('*');
const warningsIn = (app: TestApp) =>
  app.logLines
    .map((line) => JSON.parse(line) as { level: number; msg: string; kid?: string })
    .filter((line) => line.level === 40);

async function tokenKid(target: { http: string }, username: string): Promise<unknown> {
  return headerOf((await obtainTokens(target, username)).accessToken).kid;
}

describe('JWT signing keys from the environment', () => {
  describe('JWT_PRIVATE_KEY, ES256, as a PKCS#8 PEM', () => {
    const key = newEcKey();
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ JWT_PRIVATE_KEY: pkcs8(key) });
    });
    afterAll(() => app.close());

    it('signs the access tokens, which a Hasura holding the JWKS accepts', async () => {
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      expect(headerOf(accessToken)).toEqual({ alg: 'ES256', typ: 'JWT', kid: thumbprintOf(key) });
      expect(await verifyIssued(app, accessToken)).toMatchObject({ ok: true, role: 'user' });
    });

    it('publishes exactly its public JWK, named by its RFC 7638 thumbprint', async () => {
      const { x, y } = createPublicKey(key).export({ format: 'jwk' });
      expect((await fetchJwks(app)).keys).toEqual([
        { kty: 'EC', crv: 'P-256', x, y, kid: thumbprintOf(key), use: 'sig', alg: 'ES256' },
      ]);
    });

    it('records only its public half in the database, and writes no key material to the log', async () => {
      const rows = await rowsOf(app);
      expect(rows).toEqual([expect.objectContaining({ kid: thumbprintOf(key), private_jwk: null })]);
      // SQL NULL, not a JSON null: the column itself says that no private half is kept.
      expect(await app.database.db('signing_keys').whereNotNull('private_jwk').select('kid')).toEqual([]);
      expect(rows[0]!.public_jwk).toEqual((await fetchJwks(app)).keys[0]);
      expectNoMaterialOf(JSON.stringify(rows), key);
      expectNoMaterialOf(app.logLines.join('\n'), key);
    });

    it('warns of nothing at the first start: no Hasura holds an earlier key', () => {
      expect(warningsIn(app)).toEqual([]);
    });

    it('refuses to rotate in the database, and says how to rotate with JWT_NEXT_PRIVATE_KEY', async () => {
      await expect(app.services.signingKeys.rotateSigningKey()).rejects.toThrow(
        /JWT_NEXT_PRIVATE_KEY to a new key.*move it to JWT_PRIVATE_KEY/,
      );
      expect((await rowsOf(app)).map((row) => row.kid)).toEqual([thumbprintOf(key)]);
    });
  });

  describe('JWT_PRIVATE_KEY, RS256, as a private JWK', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: privateJwkText(key) });
    });
    afterAll(() => app.close());

    it('publishes n and e only, and signs tokens that Hasura accepts', async () => {
      const { n, e } = createPublicKey(key).export({ format: 'jwk' });
      const jwks = await fetchJwks(app);
      expect(jwks.keys).toEqual([{ kty: 'RSA', n, e, kid: thumbprintOf(key), use: 'sig', alg: 'RS256' }]);
      const user = await signUp(app);
      const { accessToken } = await obtainTokens(app, user.username);
      expect(headerOf(accessToken)).toMatchObject({ alg: 'RS256', kid: thumbprintOf(key) });
      expect(await verifyIssued(app, accessToken, { jwks })).toMatchObject({ ok: true });
      expectNoMaterialOf(JSON.stringify(await rowsOf(app)), key);
    });
  });

  describe('rotation with JWT_NEXT_PRIVATE_KEY', () => {
    const current = newEcKey();
    const next = newEcKey();
    let app: TestApp;
    beforeEach(async () => {
      app = await startTestApp({ JWT_PRIVATE_KEY: pkcs8(current) });
    });
    afterEach(() => app.close());

    it('publishes the next key at once, and every instance switches to it when every Hasura has fetched it', async () => {
      const { jwksMaxAgeSeconds } = app.config.jwt;
      const user = await signUp(app);
      const cachedByHasura = await fetchJwks(app);
      const withNext: Env = { JWT_PRIVATE_KEY: pkcs8(current), JWT_NEXT_PRIVATE_KEY: pkcs8(next) };
      // The restart with the next key added: two instances, each on its own connection, starting
      // together; the first to record the next key sets its publication time for both.
      const instances = (await Promise.all([startPeerInstance(app, withNext), startPeerInstance(app, withNext)])).map(
        (http) => ({ http }),
      );
      const bothKids = [thumbprintOf(current), thumbprintOf(next)];
      for (const instance of instances) expect(kidsOf(await fetchJwks(instance))).toEqual(bothKids);
      // Also the instance that has not restarted yet, as in a rolling restart, once its key set
      // in memory is due to be read again: well within the margin before the next key signs.
      app.clock.advanceSeconds(PUBLISHED_KEYS_REFRESH_SECONDS);
      expect(kidsOf(await fetchJwks(app))).toEqual(bothKids);

      app.clock.advanceSeconds(jwksMaxAgeSeconds);
      for (const instance of instances) {
        const { accessToken } = await obtainTokens(instance, user.username);
        expect(headerOf(accessToken).kid).toBe(thumbprintOf(current));
        expect(await verifyIssued(app, accessToken, { jwks: cachedByHasura })).toMatchObject({ ok: true });
      }
      const refetchedByHasura = await fetchJwks(instances[0]!);

      app.clock.advanceSeconds(KEY_ROTATION_MARGIN_SECONDS);
      for (const instance of instances) {
        const { accessToken } = await obtainTokens(instance, user.username);
        expect(headerOf(accessToken).kid).toBe(thumbprintOf(next));
        expect(await verifyIssued(app, accessToken, { jwks: refetchedByHasura })).toMatchObject({ ok: true });
      }
      expect(warningsIn(app)).toEqual([]);
    });

    it('after the next key is promoted and the old one unset, the old key stays published until its last token has expired', async () => {
      const { jwksMaxAgeSeconds, accessTokenLifetimeSeconds } = app.config.jwt;
      const user = await signUp(app);
      const rotating = {
        http: await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(current), JWT_NEXT_PRIVATE_KEY: pkcs8(next) }),
      };
      app.clock.advanceSeconds(jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      const lastOldToken = (await obtainTokens(rotating, user.username)).accessToken;
      expect(headerOf(lastOldToken).kid).toBe(thumbprintOf(current));
      app.clock.advanceSeconds(1);
      expect(await tokenKid(rotating, user.username)).toBe(thumbprintOf(next));

      const promoted = { http: await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(next) }) };
      expect(await tokenKid(promoted, user.username)).toBe(thumbprintOf(next));
      // Another instance restarts the same way, as in a rolling restart: it keeps the old key too.
      await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(next) });
      const jwks = await fetchJwks(promoted);
      expect(kidsOf(jwks)).toEqual([thumbprintOf(current), thumbprintOf(next)]);
      expect(await verifyIssued(app, lastOldToken, { jwks })).toMatchObject({ ok: true });
      expect(warningsIn(app)).toEqual([]);

      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      expect(kidsOf(await fetchJwks(promoted))).toEqual([thumbprintOf(current), thumbprintOf(next)]);
      app.clock.advanceSeconds(1);
      expect(kidsOf(await fetchJwks(promoted))).toEqual([thumbprintOf(next)]);
      expectNoMaterialOf(JSON.stringify(await rowsOf(app)), current);
      expectNoMaterialOf(JSON.stringify(await rowsOf(app)), next);
    });

    it('a key configured again before its retention ended (a rollback) stays published by every instance', async () => {
      const { accessTokenLifetimeSeconds } = app.config.jwt;
      const promoted = { http: await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(next) }) };
      app.clock.advanceSeconds(10);
      await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(current) });
      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS);
      expect(kidsOf(await fetchJwks(promoted))).toContain(thumbprintOf(current));
    });

    it('a key that comes back after its retention ended is published anew, and waits to be fetched before it signs', async () => {
      const { jwksMaxAgeSeconds, accessTokenLifetimeSeconds } = app.config.jwt;
      const user = await signUp(app);
      await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(next) });
      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS);

      const back = {
        http: await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(next), JWT_NEXT_PRIVATE_KEY: pkcs8(current) }),
      };
      expect(kidsOf(await fetchJwks(back))).toEqual([thumbprintOf(next), thumbprintOf(current)]);
      app.clock.advanceSeconds(jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      expect(await tokenKid(back, user.username)).toBe(thumbprintOf(next));
      app.clock.advanceSeconds(1);
      expect(await tokenKid(back, user.username)).toBe(thumbprintOf(current));
    });
  });

  describe('JWT_PRIVATE_KEY and JWT_NEXT_PRIVATE_KEY both at the very first start', () => {
    const current = newEcKey();
    const next = newEcKey();
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ JWT_PRIVATE_KEY: pkcs8(current), JWT_NEXT_PRIVATE_KEY: pkcs8(next) });
    });
    afterAll(() => app.close());

    it('signs with JWT_PRIVATE_KEY at once, and with the next key only once every Hasura has fetched it', async () => {
      const { jwksMaxAgeSeconds } = app.config.jwt;
      const user = await signUp(app);
      expect(kidsOf(await fetchJwks(app))).toEqual([thumbprintOf(current), thumbprintOf(next)]);
      expect(await tokenKid(app, user.username)).toBe(thumbprintOf(current));
      app.clock.advanceSeconds(jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      expect(await tokenKid(app, user.username)).toBe(thumbprintOf(current));
      app.clock.advanceSeconds(1);
      expect(await tokenKid(app, user.username)).toBe(thumbprintOf(next));
      expect(warningsIn(app)).toEqual([]);
    });
  });

  describe('switching between generated keys and keys from the environment', () => {
    let app: TestApp;
    afterEach(() => app.close());

    it('generated → environment: JWT_PRIVATE_KEY signs at once, with one warning, and the generated key stays published until its tokens expire', async () => {
      app = await startTestApp();
      const { accessTokenLifetimeSeconds, jwksMaxAgeSeconds } = app.config.jwt;
      const user = await signUp(app);
      const generatedToken = (await obtainTokens(app, user.username)).accessToken;
      const [generatedKid] = kidsOf(await fetchJwks(app));
      const key = newEcKey();

      const switched = { http: await startPeerInstance(app, { JWT_PRIVATE_KEY: pkcs8(key) }) };
      expect(await tokenKid(switched, user.username)).toBe(thumbprintOf(key));
      const jwks = await fetchJwks(switched);
      expect(kidsOf(jwks)).toEqual([generatedKid, thumbprintOf(key)]);
      expect(await verifyIssued(app, generatedToken, { jwks })).toMatchObject({ ok: true });
      const fetchedBy = new Date(app.clock.now().getTime() + (jwksMaxAgeSeconds + KEY_ROTATION_MARGIN_SECONDS) * 1000);
      expect(warningsIn(app)).toEqual([
        expect.objectContaining({
          kid: thumbprintOf(key),
          fetchedBy: fetchedBy.toISOString(),
          msg: expect.stringMatching(/may refuse its tokens.*JWT_NEXT_PRIVATE_KEY is the safe way to rotate/),
        }),
      ]);
      expectNoMaterialOf(app.logLines.join('\n'), key);

      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      expect(kidsOf(await fetchJwks(switched))).toEqual([generatedKid, thumbprintOf(key)]);
      app.clock.advanceSeconds(1);
      expect(kidsOf(await fetchJwks(switched))).toEqual([thumbprintOf(key)]);
    });

    it('generated → environment → generated → environment: the generated key is retired afresh at each switch', async () => {
      app = await startTestApp();
      const { accessTokenLifetimeSeconds } = app.config.jwt;
      const [generatedKid] = kidsOf(await fetchJwks(app));
      const fromEnvironment: Env = { JWT_PRIVATE_KEY: pkcs8(newEcKey()) };
      await startPeerInstance(app, fromEnvironment);
      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS + 60);
      const generatedAgain = { http: await startPeerInstance(app, {}) };
      const user = await signUp(app);
      expect(await tokenKid(generatedAgain, user.username)).toBe(generatedKid);

      app.clock.advanceSeconds(60);
      const environmentAgain = { http: await startPeerInstance(app, fromEnvironment) };
      expect(kidsOf(await fetchJwks(environmentAgain))).toContain(generatedKid);
    });

    it('environment → generated: a generated key signs, and the key from the environment stays published until its tokens expire', async () => {
      const key = newEcKey();
      app = await startTestApp({ JWT_PRIVATE_KEY: pkcs8(key) });
      const { accessTokenLifetimeSeconds } = app.config.jwt;
      const user = await signUp(app);
      const envToken = (await obtainTokens(app, user.username)).accessToken;

      // A second later, so that the two keys' times, and so their order in the JWKS, differ.
      app.clock.advanceSeconds(1);
      const generated = { http: await startPeerInstance(app, {}) };
      const generatedKid = await tokenKid(generated, user.username);
      expect(generatedKid).not.toBe(thumbprintOf(key));
      const jwks = await fetchJwks(generated);
      expect(kidsOf(jwks)).toEqual([thumbprintOf(key), generatedKid]);
      expect(await verifyIssued(app, envToken, { jwks })).toMatchObject({ ok: true });

      app.clock.advanceSeconds(accessTokenLifetimeSeconds + KEY_ROTATION_MARGIN_SECONDS - 1);
      expect(kidsOf(await fetchJwks(generated))).toEqual([thumbprintOf(key), generatedKid]);
      app.clock.advanceSeconds(1);
      expect(kidsOf(await fetchJwks(generated))).toEqual([generatedKid]);
    });
  });
});
