import { migrationsConfig } from '../src/db/migrations';
import { obtainTokens } from './support/jwt';
import { webhookGet } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

const JWT_MIGRATION = '20261201000000_refresh_token_sessions_and_signing_keys';

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
    const [{ count }] = await db('sessions')
      .where({ user_id: user.id })
      .count<{ count: string | number }[]>({ count: '*' });
    expect(Number(count)).toBe(1);

    await db.migrate.latest(migrationsConfig);
    expect((await webhookGet(app, user.token)).status).toBe(200);
  });
});
