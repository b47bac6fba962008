import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import { loadConfig, type Env } from '../../src/config';
import { describeDatabase, knexConfigFor, openDatabase, type Database } from '../../src/db/database';
import { capturingLogger, type CapturedLog } from '../support/logs';

// What the operator's settings become for the driver. Each line here is a promise the README
// makes about the connection (TLS, time limits, pool size, the auth schema), which no suite that
// runs on this machine's plain-text PostgreSQL could tell apart.

const DATABASE_URL = 'postgres://auth:s3cret@db.example:5432/auth';
const postgresConfig = (env: Env = {}) => {
  const { database } = loadConfig({ DATABASE_URL, ...env });
  if (database.kind !== 'postgres') throw new Error('expected a PostgreSQL target');
  return knexConfigFor(database);
};
const connectionOf = (env: Env = {}) => postgresConfig(env).connection as Record<string, unknown>;

describe('the PostgreSQL connection settings', () => {
  it.each([
    ['disable', false],
    ['no-verify', { rejectUnauthorized: false }],
    ['verify-full', { rejectUnauthorized: true }],
  ])('DATABASE_SSL=%s connects with ssl %j', (mode, ssl) => {
    expect(connectionOf({ DATABASE_SSL: mode }).ssl).toEqual(ssl);
  });

  it('sends no TLS by default, as the compose stack and a local server expect', () => {
    expect(connectionOf().ssl).toBe(false);
  });

  it('bounds every statement and every connection wait by the configured times, and the pool by its size', () => {
    const config = postgresConfig({
      DATABASE_STATEMENT_TIMEOUT_MS: '1234',
      DATABASE_ACQUIRE_TIMEOUT_MS: '2345',
      DATABASE_POOL_MAX: '7',
    });
    expect(config.client).toBe('pg');
    expect(config.connection).toEqual(
      expect.objectContaining({
        connectionString: DATABASE_URL,
        statement_timeout: 1234,
        connectionTimeoutMillis: 2345,
      }),
    );
    expect(config.acquireConnectionTimeout).toBe(2345);
    // No idle connections held open: an instance at rest costs the server nothing.
    expect(config.pool).toEqual({ min: 0, max: 7 });
  });

  it.each([
    ['PostgreSQL', () => postgresConfig()],
    ['PGlite in a data directory', () => knexConfigFor({ kind: 'pglite', dataDir: 'data' })],
    ['a live PGlite', () => knexConfigFor({ kind: 'pglite-instance', pglite: {} as PGlite })],
  ])('on %s, searches only the auth schema and records migrations there', (_kind, config) => {
    expect(config().searchPath).toEqual(['auth']);
    expect(config().migrations).toMatchObject({ schemaName: 'auth', tableName: 'knex_migrations' });
  });

  it('opens PGlite in the data directory as an absolute path, waiting no longer than 5 s for its one connection', () => {
    const config = knexConfigFor({ kind: 'pglite', dataDir: 'data' });
    expect(config.connection).toEqual({ filename: path.resolve('data') });
    expect(config.acquireConnectionTimeout).toBe(5_000);
  });

  it('hands a live PGlite to knex as it is, under the same wait', () => {
    const pglite = {} as PGlite;
    const config = knexConfigFor({ kind: 'pglite-instance', pglite });
    expect((config.connection as () => unknown)()).toEqual({ pglite });
    expect(config.acquireConnectionTimeout).toBe(5_000);
  });
});

describe('the database as a log line names it', () => {
  it('shows a PostgreSQL URL with its password redacted', () => {
    expect(describeDatabase(loadConfig({ DATABASE_URL }).database)).toBe(
      'postgres://auth:redacted@db.example:5432/auth',
    );
  });

  it('shows a URL without a password as it is', () => {
    const url = 'postgres://auth@db.example:5432/auth';
    expect(describeDatabase(loadConfig({ DATABASE_URL: url }).database)).toBe(url);
  });

  it('shows embedded PGlite with its absolute data directory', () => {
    expect(describeDatabase(loadConfig({ DATA_DIR: 'some/dir' }).database)).toBe(
      `embedded PGlite in ${path.resolve('some/dir')}`,
    );
  });
});

describe('knex’s own messages', () => {
  // Building a query connects to nothing, so these need no server at the address.
  let log: CapturedLog;
  let db: Database;
  beforeEach(() => {
    log = capturingLogger('debug');
    db = openDatabase(loadConfig({ DATABASE_URL }).database, log.logger);
  });
  afterEach(() => db.destroy());

  it.each<[string, (database: Database) => void, { level: number; msg: string; knex: string }]>([
    [
      'a warning at warn level',
      (database) => void database('users').limit(Number.NaN),
      { level: 40, msg: 'database warning', knex: 'A valid integer must be provided to limit' },
    ],
    [
      'an error at error level',
      (database) => expect(() => database('users').transacting(undefined as unknown as Knex.Transaction)).toThrow(),
      { level: 50, msg: 'database error', knex: 'Invalid value on transacting call, potential bug' },
    ],
    [
      'a deprecation at warn level, in knex’s own words',
      (database) =>
        void database.schema
          .createTable('things', (table) => {
            // @ts-expect-error knex still takes json(true), which its types no longer declare
            table.json('c', true);
          })
          .toString(),
      { level: 40, msg: 'knex deprecation', knex: 'json(true) is deprecated, please use jsonb()' },
    ],
  ])('go to the structured log: %s', (_label, provoke, line) => {
    provoke(db);
    expect(log.records()).toEqual([expect.objectContaining(line)]);
  });
});
