import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Every event that must end a user's sessions (a password change, disabling, a role change,
  // an admin's order, logout everywhere) increments the user's epoch in the same statement that
  // makes the change. A session lives only while it carries its user's current epoch, so a
  // login that was checking the old password while the change committed yields a dead session,
  // on every instance, without any lock held between the check and the insert.
  await knex.schema.alterTable('users', (table) => {
    table.integer('session_epoch').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable('sessions', (table) => {
    table.integer('user_epoch').notNullable().defaultTo(0);
  });

  // One-time start-up work, such as creating the admin from ADMIN_USERNAME, recorded once it has
  // run, so that a restart (Heroku restarts every dyno daily) never does it again.
  await knex.schema.createTable('bootstrap_runs', (table) => {
    table.text('name').primary();
    table.timestamp('completed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bootstrap_runs');
  await knex.schema.alterTable('sessions', (table) => table.dropColumn('user_epoch'));
  await knex.schema.alterTable('users', (table) => table.dropColumn('session_epoch'));
}
