import fs from 'node:fs';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseConfig } from '../config';
import type { Logger } from '../logger';
import { claimDataDir, releaseDataDir } from './data-dir-lock';
import { withClassifiedFailures } from './database-errors';
import { AUTH_SCHEMA, migrationsConfig } from './migrations';

export { migrateToLatest } from './migrations';

export type Database = Knex;

interface KnexPgliteClient {
  config: { connection?: unknown };
  _driver(): void;
  destroyRawConnection(connection: unknown): Promise<void>;
  processResponse(obj: { method?: string }, runner: unknown): unknown;
}
type KnexClientClass = new (config: Knex.Config) => KnexPgliteClient;

/** The data directory a PGlite connection config names, if it names one (not a live instance). */
function dataDirOf(connection: unknown): string | undefined {
  const filename = (connection as { filename?: unknown } | undefined)?.filename;
  return typeof filename === 'string' ? filename : undefined;
}

class PgliteClient extends (ClientPgLite as unknown as KnexClientClass) {
  // knex-pglite opens PGlite here, when knex is constructed: the data directory is claimed at
  // that moment, by whoever opens it (the service, the CLI, the knex CLI through knexfile.ts).
  override _driver(): void {
    const dataDir = dataDirOf(this.config.connection);
    if (dataDir !== undefined) {
      fs.mkdirSync(dataDir, { recursive: true });
      claimDataDir(dataDir);
    }
    super._driver();
  }

  override async destroyRawConnection(connection: unknown): Promise<void> {
    await super.destroyRawConnection(connection);
    const dataDir = dataDirOf(this.config.connection);
    if (dataDir !== undefined) releaseDataDir(dataDir);
  }

  // knex-pglite derives the command from knex's method name, which for a delete is `del`, so
  // `.delete()` answered PGlite's raw result where pg answers the row count.
  override processResponse(obj: { method?: string }, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}
const pgliteClient = PgliteClient as unknown as typeof ClientPgLite;

/** Where the database lives: the configured target, or (for tests and embedding) a live PGlite. */
export type DatabaseTarget = DatabaseConfig | { kind: 'pglite-instance'; pglite: PGlite };

// Embedded PGlite runs in this process and has no statement timeout; a connection is still
// waited for no longer than this (one query runs at a time).
const PGLITE_ACQUIRE_TIMEOUT_MS = 5_000;

export function knexConfigFor(target: DatabaseTarget): Knex.Config {
  switch (target.kind) {
    case 'postgres':
      return {
        client: 'pg',
        connection: {
          connectionString: target.url,
          ssl: target.ssl === 'disable' ? false : { rejectUnauthorized: target.ssl === 'verify-full' },
          connectionTimeoutMillis: target.acquireTimeoutMs,
          // Sent at connection start-up, so it bounds every statement on every pooled connection,
          // including a wait for a lock that a stuck transaction holds.
          statement_timeout: target.statementTimeoutMs,
        },
        pool: { min: 0, max: target.poolMax },
        // Covers both the wait for a free pooled connection and the connection's start-up.
        acquireConnectionTimeout: target.acquireTimeoutMs,
        searchPath: [AUTH_SCHEMA],
        migrations: migrationsConfig,
      };
    case 'pglite':
      return {
        client: pgliteClient,
        dialect: 'postgres',
        connection: { filename: path.resolve(target.dataDir) },
        acquireConnectionTimeout: PGLITE_ACQUIRE_TIMEOUT_MS,
        searchPath: [AUTH_SCHEMA],
        migrations: migrationsConfig,
      };
    case 'pglite-instance':
      return {
        client: pgliteClient,
        dialect: 'postgres',
        connection: () => ({ pglite: target.pglite }) as object,
        acquireConnectionTimeout: PGLITE_ACQUIRE_TIMEOUT_MS,
        searchPath: [AUTH_SCHEMA],
        migrations: migrationsConfig,
      };
  }
}

/** Opens (lazily: nothing connects until the first query) the database the target names. */
export function openDatabase(target: DatabaseTarget, logger?: Logger): Database {
  const config = knexConfigFor(target);
  // knex otherwise writes its warnings with console.log, outside the structured log.
  if (logger) {
    config.log = {
      warn: (message: unknown) => logger.warn({ knex: String(message) }, 'database warning'),
      error: (message: unknown) => logger.error({ knex: String(message) }, 'database error'),
      deprecate: (method: string, alternative: string) => logger.warn({ method, alternative }, 'knex deprecation'),
      debug: () => undefined,
    };
  }
  return knex(config);
}

/** Answers once the database answers a query; throws DATABASE_UNAVAILABLE when it cannot. */
export function createDatabaseProbe(db: Database) {
  return withClassifiedFailures({
    async ping(): Promise<void> {
      await db.raw('select 1');
    },
  });
}
