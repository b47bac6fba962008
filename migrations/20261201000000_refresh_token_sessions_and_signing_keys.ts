import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A session is either a bearer session (its token is sent to the webhook and the API) or a
  // refresh session of JWT mode (its tokens are only ever sent to /token/refresh). A refresh
  // session keeps no hash in sessions.token_hash, so the bearer lookup can never find it.
  await knex.schema.alterTable('sessions', (table) => {
    table.text('kind').notNullable().defaultTo('bearer');
  });
  await knex.raw('alter table sessions alter column token_hash drop not null');
  await knex.raw(
    `alter table sessions add constraint sessions_kind_token_hash check (
       (kind = 'bearer' and token_hash is not null) or (kind = 'refresh' and token_hash is null))`,
  );

  // Every refresh token a refresh session was ever given, as SHA-256 hashes. The one not yet
  // rotated is current; a rotated one is still recognised, which is what reuse detection needs:
  // a bare lookup of the current hash could not tell a replayed token from a forged one.
  await knex.schema.createTable('refresh_tokens', (table) => {
    table.text('token_hash').primary();
    table.uuid('session_id').notNullable().references('id').inTable('sessions').onDelete('CASCADE');
    table.timestamp('issued_at', { useTz: true }).notNullable();
    table.timestamp('rotated_at', { useTz: true });
    table.index(['session_id']);
  });

  // The key pairs that sign access tokens. A key is published in the JWKS from its creation and
  // signs from `signs_from`, so that Hasura has fetched it before it sees a token signed with it.
  await knex.schema.createTable('signing_keys', (table) => {
    table.text('kid').primary();
    table.text('algorithm').notNullable();
    table.jsonb('public_jwk').notNullable();
    table.jsonb('private_jwk').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('signs_from', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('signing_keys');
  await knex.schema.dropTable('refresh_tokens');
  await knex('sessions').delete().where({ kind: 'refresh' });
  await knex.raw('alter table sessions drop constraint sessions_kind_token_hash');
  await knex.raw('alter table sessions alter column token_hash set not null');
  await knex.schema.alterTable('sessions', (table) => table.dropColumn('kind'));
}
