import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('roles', (table) => {
    table.text('name').primary();
    table.boolean('built_in').notNullable().defaultTo(false);
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex('roles').insert([
    { name: 'anonymous', built_in: true },
    { name: 'user', built_in: true },
    { name: 'admin', built_in: true },
  ]);

  await knex.schema.createTable('users', (table) => {
    // The integer id is the Hasura identity (X-Hasura-User-Id).
    table.increments('id');
    table.text('username').notNullable();
    // NFKC-normalised and lower-cased: uniqueness without regard to case.
    table.text('username_key').notNullable().unique();
    table.text('password_hash').notNullable();
    table.text('default_role').notNullable().defaultTo('user').references('name').inTable('roles').onUpdate('CASCADE');
    table.boolean('disabled').notNullable().defaultTo(false);
    table.jsonb('session_variables').notNullable().defaultTo('{}');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // Roles granted explicitly. Every user holds `user` implicitly, so it is never stored here.
  await knex.schema.createTable('user_roles', (table) => {
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.text('role').notNullable().references('name').inTable('roles').onDelete('CASCADE').onUpdate('CASCADE');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['user_id', 'role']);
    table.index(['role']);
  });

  await knex.schema.createTable('sessions', (table) => {
    table.uuid('id').primary();
    // SHA-256 of the bearer token, hex. The token itself is never stored.
    table.text('token_hash').notNullable().unique();
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('last_used_at', { useTz: true }).notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.text('user_agent');
    table.index(['user_id']);
    table.index(['expires_at']);
    table.index(['last_used_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sessions');
  await knex.schema.dropTable('user_roles');
  await knex.schema.dropTable('users');
  await knex.schema.dropTable('roles');
}
