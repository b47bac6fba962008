// Configuration for the knex CLI (`npx knex migrate:latest`), built by the same loader the
// service uses, so both always talk to the same database with the same migrations. The knex CLI
// awaits a function: the auth schema, where the migrator keeps its own tables, is made first, as
// `npm run migrate` does.
import type { Knex } from 'knex';
import { loadConfig } from './src/config';
import { knexConfigFor, openDatabase } from './src/db/database';
import { adoptEarlierLayout } from './src/db/migrations';

export default async function knexCliConfig(): Promise<Knex.Config> {
  const target = loadConfig(process.env).database;
  const db = openDatabase(target);
  try {
    await adoptEarlierLayout(db);
  } finally {
    await db.destroy();
  }
  return knexConfigFor(target);
}
