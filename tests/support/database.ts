import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { openDatabase, type Database } from '../../src/db/database';
import type { Logger } from '../../src/logger';
import {
  TEMPLATE_DATABASE,
  TEST_DATABASE_PREFIX,
  testDatabaseTarget,
  testDatabaseUrl,
  withAdminClient,
} from './postgres';

declare global {
  // Set per Jest project in jest.config.js.
  var TEST_DATABASE_KIND: 'pglite' | 'postgres';
}

export interface TestDatabase {
  db: Database;
  /** How another process (the CLI) reaches this database, where it can. */
  env: { DATABASE_URL?: string };
  /** Takes the database away under the running app, as an outage would. */
  simulateOutage(): Promise<void>;
  /**
   * A connection of its own for a second service instance. PGlite holds a single connection,
   * so there the peer shares it; PostgreSQL gets a separate pool, as another process would.
   */
  connectPeer(): Database;
  dispose(): Promise<void>;
}

/** A fresh, migrated database of this project's kind, for one suite. */
export async function createTestDatabase(logger: Logger): Promise<TestDatabase> {
  return globalThis.TEST_DATABASE_KIND === 'postgres' ? createPostgresDatabase(logger) : createPgliteDatabase(logger);
}

async function createPgliteDatabase(logger: Logger): Promise<TestDatabase> {
  const dump = new Blob([fs.readFileSync(process.env.PGLITE_TEMPLATE_DUMP!)]);
  const pglite = new PGlite({ loadDataDir: dump });
  // Loaded before the first query, so that a starved CPU does not spend knex's acquire timeout.
  await pglite.waitReady;
  const db = openDatabase({ kind: 'pglite-instance', pglite }, logger);
  return {
    db,
    env: {},
    simulateOutage: () => pglite.close(),
    connectPeer: () => db,
    dispose: async () => {
      await db.destroy().catch(() => undefined);
      if (!pglite.closed) await pglite.close();
    },
  };
}

async function createPostgresDatabase(logger: Logger): Promise<TestDatabase> {
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`create database "${name}" template "${TEMPLATE_DATABASE}"`));
  const connect = () => openDatabase(testDatabaseTarget(name, 10), logger);
  const db = connect();
  const peers: Database[] = [];
  return {
    db,
    env: { DATABASE_URL: testDatabaseUrl(name) },
    connectPeer: () => {
      const peer = connect();
      peers.push(peer);
      return peer;
    },
    simulateOutage: () =>
      withAdminClient(async (client) => {
        await client.query(`alter database "${name}" allow_connections false`);
        await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
      }),
    dispose: async () => {
      await Promise.all([db, ...peers].map((each) => each.destroy().catch(() => undefined)));
      await withAdminClient((client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/**
 * The kind of every statement `db` runs while `action` runs (`select`, `update`, …), in order.
 * The mail outbox worker's polls are left out: they run on a timer of their own, whatever the
 * action, and would make any count of an action's statements flaky.
 */
export async function statementsDuring(db: Database, action: () => Promise<unknown>): Promise<string[]> {
  const statements: string[] = [];
  const record = ({ sql }: { sql: string }) => {
    if (!sql.includes('mail_outbox')) statements.push(sql.trimStart().split(' ')[0]!.toLowerCase());
  };
  db.on('query', record);
  try {
    await action();
  } finally {
    db.off('query', record);
  }
  return statements;
}
