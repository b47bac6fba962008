import fs from 'node:fs';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseConfig } from '../config';
import type { Logger } from '../logger';
import { claimDataDir } from './data-dir-lock';

export type Database = Knex;

/**
 * knex-pglite derives the command from knex's method name, which for a delete is `del`, so
 * `.delete()` answered PGlite's raw result where pg answers the row count. This corrects it.
 */
type KnexClientClass = new (config: Knex.Config) => { processResponse(obj: { method?: string }, runner: unknown): unknown };
class PgliteClient extends (ClientPgLite as unknown as KnexClientClass) {
  override processResponse(obj: { method?: string }, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}
const pgliteClient = PgliteClient as unknown as typeof ClientPgLite;

/** Where the database lives: the configured target, or (for tests and embedding) a live PGlite. */
export type DatabaseTarget = DatabaseConfig | { kind: 'pglite-instance'; pglite: PGlite };

// Short limits so that an unreachable database fails a request within seconds (as a 503)
// instead of holding it until Hasura's own 30 s webhook timeout.
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 10_000;

// Migrations are TypeScript under ts-jest and the knex CLI, and compiled JavaScript in
// production; load only files of the kind this module itself was loaded as, which also keeps
// compiled `.d.ts` or `.map` files from being taken for migrations.
export const migrationsConfig: Knex.MigratorConfig = {
  directory: path.resolve(__dirname, '../../migrations'),
  loadExtensions: [path.extname(__filename)],
  tableName: 'knex_migrations',
};

export function knexConfigFor(target: DatabaseTarget): Knex.Config {
  switch (target.kind) {
    case 'postgres':
      return {
        client: 'pg',
        connection: {
          connectionString: target.url,
          ssl: target.ssl === 'disable' ? false : { rejectUnauthorized: target.ssl === 'verify-full' },
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          statement_timeout: STATEMENT_TIMEOUT_MS,
        },
        pool: { min: 0, max: target.poolMax },
        acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
        migrations: migrationsConfig,
      };
    case 'pglite':
      fs.mkdirSync(target.dataDir, { recursive: true });
      claimDataDir(target.dataDir);
      return {
        client: pgliteClient,
        dialect: 'postgres',
        connection: { filename: path.resolve(target.dataDir) },
        acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
        migrations: migrationsConfig,
      };
    case 'pglite-instance':
      return {
        client: pgliteClient,
        dialect: 'postgres',
        connection: () => ({ pglite: target.pglite }) as object,
        acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
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

export async function migrateToLatest(db: Database): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migrationsConfig)) as [number, string[]];
  return applied;
}

export async function pingDatabase(db: Database): Promise<void> {
  await db.raw('select 1');
}
