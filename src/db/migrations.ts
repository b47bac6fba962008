import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/** The service's own schema. Hasura must never track it: it holds password and token hashes. */
export const AUTH_SCHEMA = 'auth';

const MIGRATIONS_DIRECTORY = path.resolve(__dirname, '../../migrations');
// Migrations are TypeScript under ts-jest and the knex CLI, and compiled JavaScript in
// production: load the files of the kind this module itself was loaded as (the build also
// writes a .js.map beside each).
const MIGRATION_EXTENSION = path.extname(__filename);

/**
 * Lists the migrations in migrations/ and records each under its name without the extension,
 * so that the compiled service (.js) and the knex CLI through knexfile.ts (.ts) agree on what
 * has run and either may migrate a database that the other migrated before.
 */
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: () =>
    Promise.resolve(
      fs
        .readdirSync(MIGRATIONS_DIRECTORY)
        .filter((file) => file.endsWith(MIGRATION_EXTENSION))
        .sort(),
    ),
  getMigrationName: (file) => path.basename(file, MIGRATION_EXTENSION),
  getMigration: (file) =>
    // Loaded by path at run time, as knex's own source does; the build emits CommonJS.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Promise.resolve(require(path.join(MIGRATIONS_DIRECTORY, file)) as Knex.Migration),
};

export const migrationsConfig: Knex.MigratorConfig = {
  migrationSource,
  schemaName: AUTH_SCHEMA,
  tableName: 'knex_migrations',
};

/**
 * Makes the auth schema, where the migrator keeps its own tables, and brings a database migrated
 * by an earlier release to the layout the migrator expects now: the bookkeeping tables in that
 * schema, and migration names without extensions. Each step is a no-op where it has already
 * happened. The knex CLI runs it too (knexfile.ts), so both migrate an empty database alike.
 */
export async function adoptEarlierLayout(db: Knex): Promise<void> {
  await db.raw(`create schema if not exists ${AUTH_SCHEMA}`);
  for (const table of ['knex_migrations', 'knex_migrations_lock']) {
    const [earlier, current] = await Promise.all([
      db.schema.withSchema('public').hasTable(table),
      db.schema.withSchema(AUTH_SCHEMA).hasTable(table),
    ]);
    if (earlier && !current) await db.raw(`alter table public.?? set schema ${AUTH_SCHEMA}`, [table]);
  }
  if (await db.schema.withSchema(AUTH_SCHEMA).hasTable('knex_migrations')) {
    await db.raw(`update ${AUTH_SCHEMA}.knex_migrations set name = regexp_replace(name, '\\.(js|ts)$', '')`);
  }
}

/** Applies every pending migration; answers their names. */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  await adoptEarlierLayout(db);
  const [, applied] = (await db.migrate.latest(migrationsConfig)) as [number, string[]];
  return applied;
}
