import { generateKeyPairSync } from 'node:crypto';
import { migrationsConfig } from '../src/db/migrations';
import { fetchJwks, obtainTokens } from './support/jwt';
import { webhookGet } from './support/requests';
import { signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

const JWT_MIGRATION = '20261201000000_refresh_token_sessions_and_signing_keys';
const ENVIRONMENT_KEYS_MIGRATION = '20261201000300_signing_keys_from_environment';

describe('the JWT mode migration', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('rolls back, keeping webhook sessions and dropping refresh sessions and keys, and applies again', async () => {
    const user = await signUp(app);
    await obtainTokens(app, user.username);
    const { db } = app.database;

    await db.migrate.down({ ...migrationsConfig, name: JWT_MIGRATION });
    expect(await db.schema.hasTable('signing_keys')).toBe(false);
    expect(await db.schema.hasTable('refresh_tokens')).toBe(false);
    expect(await db.schema.hasColumn('sessions', 'kind')).toBe(false);
    const counted = await db('sessions')
      .where({ user_id: user.id })
      .count<{ count: string | number }[]>({ count: '*' });
    expect(Number(counted[0]?.count)).toBe(1);

    await db.migrate.latest(migrationsConfig);
    expect((await webhookGet(app, user.token)).status).toBe(200);
  });
});

describe('the migration for keys from the environment', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('rolls back, keeping the generated keys and dropping the public-only ones, and applies again', async () => {
    const { db } = app.database;
    const generatedKids = (await fetchJwks(app)).keys.map((key: { kid: string }) => key.kid);
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await startPeerInstance(app, { JWT_PRIVATE_KEY: pem as string });
    expect(await db('signing_keys').whereNull('private_jwk').select('kid')).toHaveLength(1);

    await db.migrate.down({ ...migrationsConfig, name: ENVIRONMENT_KEYS_MIGRATION });
    expect(await db.schema.hasColumn('signing_keys', 'retired_at')).toBe(false);
    expect((await db('signing_keys').select('kid')).map((row: { kid: string }) => row.kid)).toEqual(generatedKids);
    await expect(
      db('signing_keys').insert({
        kid: 'no-private-half',
        algorithm: 'ES256',
        public_jwk: '{}',
        private_jwk: null,
        created_at: new Date(),
        signs_from: new Date(),
      }),
    ).rejects.toThrow(/not-null|null value/);

    await db.migrate.latest(migrationsConfig);
    expect(await db.schema.hasColumn('signing_keys', 'retired_at')).toBe(true);
    const user = await signUp(app);
    expect((await obtainTokens(app, user.username)).accessToken).toEqual(expect.any(String));
  });
});
