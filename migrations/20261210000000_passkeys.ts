import type { Knex } from 'knex';

/**
 * Passkeys (WebAuthn credentials), and the single-use challenges of their ceremonies. Additive.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('passkeys', (table) => {
    // The credential id, base64url, as the authenticator made it: globally unique, so a passkey
    // registered twice is refused by this key.
    table.text('id').primary();
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.binary('public_key').notNullable();
    // The authenticator's signature counter: a use must move it on (or both stay 0), or the
    // passkey may have been cloned.
    table.bigInteger('counter').notNullable();
    table.specificType('transports', 'text[]').notNullable().defaultTo('{}');
    table.text('name').notNullable();
    // singleDevice or multiDevice (synced), and whether it is backed up now.
    table.text('device_type').notNullable();
    table.boolean('backed_up').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('last_used_at', { useTz: true });
    table.index(['user_id']);
  });

  // Only the SHA-256 of a challenge is stored. A registration's is bound to its user and epoch;
  // a login's to nobody (the passkey says who). Used once, within 5 minutes.
  await knex.schema.createTable('passkey_challenges', (table) => {
    table.text('challenge_hash').primary();
    table.text('purpose').notNullable();
    table.integer('user_id').references('id').inTable('users').onDelete('CASCADE');
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('passkey_challenges');
  await knex.schema.dropTable('passkeys');
}
