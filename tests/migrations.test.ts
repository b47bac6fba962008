import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import bcrypt from 'bcrypt';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { migrateToLatest, openDatabase, type Database } from '../src/db/database';
import { silentLogger } from './support/logs';
import { startServer } from '../src/server';
import { up as createFirstRelease } from '../migrations/20261122000000_create_roles_users_sessions';
import { TEST_DATABASE_PREFIX, testDatabaseTarget, testDatabaseUrl, withAdminClient } from './support/postgres';
import { PASSWORD } from './support/test-app';

/** A database with nothing in it, of this project's kind. */
async function emptyDatabase(): Promise<{ db: Database; dispose: () => Promise<void> }> {
  if (globalThis.TEST_DATABASE_KIND === 'pglite') {
    const pglite = new PGlite();
    await pglite.waitReady;
    const db = openDatabase({ kind: 'pglite-instance', pglite });
    return { db, dispose: () => db.destroy() };
  }
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`create database "${name}" template template0`));
  const db = openDatabase(testDatabaseTarget(name, 2));
  return {
    db,
    dispose: async () => {
      await db.destroy();
      await withAdminClient((client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/**
 * An empty database that another process can reach too: a data directory for PGlite, a database
 * of the server for PostgreSQL. `env` is how that process is told; `open` opens it here, once
 * the other process is done (PGlite allows one process at a time).
 */
async function emptySharedDatabase() {
  const opened: Database[] = [];
  const open = (target: Parameters<typeof openDatabase>[0]) => {
    const db = openDatabase(target);
    opened.push(db);
    return db;
  };
  const closeOpened = () => Promise.all(opened.map((db) => db.destroy()));
  if (globalThis.TEST_DATABASE_KIND === 'pglite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'knex-cli-'));
    return {
      env: { DATA_DIR: dataDir },
      open: () => open({ kind: 'pglite', dataDir }),
      dispose: async () => {
        await closeOpened();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`create database "${name}" template template0`));
  return {
    env: { DATABASE_URL: testDatabaseUrl(name) },
    open: () => open(testDatabaseTarget(name, 2)),
    dispose: async () => {
      await closeOpened();
      await withAdminClient((client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

const tablesInOf = async (db: Database, schema: string) =>
  (
    await db.raw<{ rows: { table_name: string }[] }>(
      'select table_name from information_schema.tables where table_schema = ? order by table_name',
      [schema],
    )
  ).rows.map((row) => row.table_name);

/** The layout the first release left: its tables and knex's bookkeeping in `public`, names with extensions. */
async function migrateAsTheFirstRelease(db: Database, recordedName: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('set local search_path to public');
    await createFirstRelease(trx);
    await trx.raw(
      'create table knex_migrations (id serial primary key, name varchar(255), batch integer, migration_time timestamptz)',
    );
    await trx.raw('create table knex_migrations_lock (index serial primary key, is_locked integer)');
    await trx.raw('insert into knex_migrations_lock (is_locked) values (0)');
    await trx.raw('insert into knex_migrations (name, batch, migration_time) values (?, 1, now())', [recordedName]);
    await trx.raw('insert into users (username, username_key, password_hash) values (?, ?, ?)', [
      'early-adopter',
      'early-adopter',
      await bcrypt.hash(PASSWORD, 4),
    ]);
  });
}

describe('migrations', () => {
  let database: { db: Database; dispose: () => Promise<void> };
  beforeEach(async () => {
    database = await emptyDatabase();
  });
  afterEach(() => database.dispose());

  const tablesIn = (schema: string) => tablesInOf(database.db, schema);

  it('creates every table in the auth schema and none in public, which Hasura offers to track', async () => {
    await migrateToLatest(database.db);
    expect(await tablesIn('auth')).toEqual(
      expect.arrayContaining(['bootstrap_runs', 'knex_migrations', 'roles', 'sessions', 'user_roles', 'users']),
    );
    expect(await tablesIn('public')).toEqual([]);
  });

  it('records migration names without their extension, so the compiled service and knexfile.ts agree', async () => {
    await migrateToLatest(database.db);
    const names = (await database.db.raw<{ rows: { name: string }[] }>('select name from auth.knex_migrations')).rows;
    expect(names.length).toBeGreaterThan(0);
    for (const { name } of names) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
    expect(await migrateToLatest(database.db)).toEqual([]);
  });

  it.each(['20261122000000_create_roles_users_sessions.js', '20261122000000_create_roles_users_sessions.ts'])(
    'adopts a database that the first release migrated (recorded as %s), and keeps its users',
    async (recordedName) => {
      await migrateAsTheFirstRelease(database.db, recordedName);
      const applied = await migrateToLatest(database.db);
      expect(applied).not.toContain('20261122000000_create_roles_users_sessions');
      expect(await tablesIn('public')).toEqual([]);

      const config = loadConfig({ BCRYPT_COST: '4', LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0' });
      const server = await startServer({ config, logger: silentLogger(), db: database.db });
      try {
        const login = await request(server.url).post('/login').send({ username: 'early-adopter', password: PASSWORD });
        expect(login.status).toBe(200);
        expect(
          (await request(server.url).get('/webhook').set('Authorization', `Bearer ${login.body.token}`)).status,
        ).toBe(200);
      } finally {
        await server.close();
      }
    },
  );

  it('lets the knex CLI (knexfile.ts) migrate an empty database, after which the service finds nothing to do', async () => {
    const shared = await emptySharedDatabase();
    try {
      const { DATABASE_URL: _url, DATA_DIR: _dir, ...inherited } = process.env;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [require.resolve('knex/bin/cli.js'), 'migrate:latest'],
        { cwd: path.resolve(__dirname, '..'), env: { ...inherited, ...shared.env } },
      );
      expect(stdout).toMatch(/Batch 1 run: \d+ migrations/);
      const db = shared.open();
      expect(await migrateToLatest(db)).toEqual([]);
      expect(await tablesInOf(db, 'auth')).toEqual(expect.arrayContaining(['knex_migrations', 'sessions', 'users']));
    } finally {
      await shared.dispose();
    }
  });
});
