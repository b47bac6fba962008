import type { Knex } from 'knex';

// The first release created its tables in `public`, which Hasura's console offers to track,
// password and token hashes included. They move, data and all, into `auth`, which the
// migrator creates before any migration runs. On a database created since, there is nothing
// left in `public` and this does nothing.
const TABLES = ['roles', 'users', 'user_roles', 'sessions'];

export async function up(knex: Knex): Promise<void> {
  for (const table of TABLES) await knex.raw('alter table if exists public.?? set schema auth', [table]);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of TABLES) await knex.raw('alter table if exists auth.?? set schema public', [table]);
}
