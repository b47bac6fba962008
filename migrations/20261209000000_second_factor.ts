import type { Knex } from 'knex';

/**
 * A second factor: TOTP secrets (encrypted), recovery codes (hashed), the challenges that carry a
 * login from its password to its second factor, and the factors each session was proved with.
 * Additive: existing sessions get no factors recorded (`amr` empty), which reads as no second factor.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (table) => {
    // RFC 8176 method references: `pwd`, `otp`. Empty for a session from before they were kept,
    // or from an identity provider's login, whose factors this service cannot see.
    table.specificType('amr', 'text[]').notNullable().defaultTo('{}');
  });

  // One authenticator app per user. Until `confirmed_at` the secret is an enrolment in progress
  // and logins do not ask for it. `last_used_step` is the last 30-second step a code was accepted
  // for: a code is accepted only for a later step, so each is good once.
  await knex.schema.createTable('totp_factors', (table) => {
    table.integer('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    table.text('secret_ciphertext').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('confirmed_at', { useTz: true });
    table.bigInteger('last_used_step');
  });

  // Each code's SHA-256 in a row of its own, deleted when it is used.
  await knex.schema.createTable('recovery_codes', (table) => {
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.text('code_hash').notNullable();
    table.primary(['user_id', 'code_hash']);
  });

  // A login whose password was right and whose second factor is awaited. Only the SHA-256 of its
  // token is stored; it is bound to the user's session epoch when the password was checked, so a
  // logout-all, password change or disable in between voids it.
  await knex.schema.createTable('login_challenges', (table) => {
    table.text('challenge_hash').primary();
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.integer('session_epoch').notNullable();
    // What the login gives once finished: a session (/login) or a token pair (/token).
    table.text('issues').notNullable();
    // How the first step was proved (`pwd`; empty for an identity provider's login).
    table.specificType('amr', 'text[]').notNullable();
    table.smallint('attempts_left').notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_challenges');
  await knex.schema.dropTable('recovery_codes');
  await knex.schema.dropTable('totp_factors');
  await knex.schema.alterTable('sessions', (table) => table.dropColumn('amr'));
}
