import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The counters of the rate limits (rate-limiter-flexible's PostgreSQL store), shared by every
  // instance. The library could create this table itself at run time; created here, it belongs
  // to the schema's history like every other table, and the service needs no CREATE right.
  // Keys are a limit's name with a client address or a username's hash, never a username.
  await knex.schema.createTable('rate_limit_counters', (table) => {
    table.text('key').primary();
    table.integer('points').notNullable().defaultTo(0);
    // Milliseconds since the epoch, as the library writes them; null would mean "never expires".
    table.bigInteger('expire');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limit_counters');
}
