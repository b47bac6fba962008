import type { Knex } from 'knex';

/**
 * Logging in through identity providers: which provider each identity came through and when it
 * was last used, and the one-time codes that a login's redirect carries to an app that trades
 * them for a bearer session. Additive: existing rows are untouched.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_identities', (table) => {
    // The configured provider it was linked through (IDENTITY_PROVIDERS' id), for people to read;
    // the identity itself is (issuer, subject).
    table.text('provider');
    table.timestamp('last_used_at', { useTz: true });
  });

  // Only a code's SHA-256 is stored, and it is used once, within a minute. It is bound to the
  // user's session epoch when it was made: a logout-all or a disable in that minute voids it.
  await knex.schema.createTable('login_codes', (table) => {
    table.bigIncrements('id');
    table.text('code_hash').notNullable().unique();
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.integer('session_epoch').notNullable();
    table.text('provider').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.timestamp('used_at', { useTz: true });
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_codes');
  await knex.schema.alterTable('user_identities', (table) => {
    table.dropColumn('last_used_at');
    table.dropColumn('provider');
  });
}
