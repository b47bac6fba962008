import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A key given through JWT_PRIVATE_KEY or JWT_NEXT_PRIVATE_KEY is recorded by its public half
  // only (private_jwk null): its private half never leaves the environment. It is recorded so that
  // every instance reads the same publication time, and so that a key dropped from the environment
  // stays published until its last token has expired, counted from `retired_at`: when an instance
  // first started without it.
  await knex.raw('alter table signing_keys alter column private_jwk drop not null');
  await knex.schema.alterTable('signing_keys', (table) => {
    table.timestamp('retired_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  // Keys without a private half cannot be kept under NOT NULL, and the release before this one
  // could not sign with them anyway (it would pick one and fail); generated keys are all kept.
  await knex('signing_keys').delete().whereNull('private_jwk');
  await knex.schema.alterTable('signing_keys', (table) => table.dropColumn('retired_at'));
  await knex.raw('alter table signing_keys alter column private_jwk set not null');
}
