import type { Knex } from 'knex';

/** The channel every instance LISTENs on to drop what it has cached about a session or a user. */
const CHANNEL = 'auth_cache_invalidation';

export async function up(knex: Knex): Promise<void> {
  // Secrets the instances share, made by the first instance that needs them. The session-token
  // key signs every token this service issues, so that a token it never issued is refused
  // without a query.
  await knex.schema.createTable('server_secrets', (table) => {
    table.text('name').primary();
    table.binary('secret').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // Sessions issued before tokens carried a MAC. Their tokens stay valid until they end, and are
  // looked up while any such session is left: the partial index makes that question free.
  await knex.schema.alterTable('sessions', (table) => {
    table.boolean('token_mac').notNullable().defaultTo(false);
  });
  await knex.raw('create index sessions_without_token_mac on sessions (id) where not token_mac');

  // Every change that alters a webhook answer tells the other instances, from the database itself:
  // whichever instance, CLI or operator's SQL made it. A session's purge is not one (a dead session
  // is refused from the cache by its own end), so the purge says so for its transaction.
  await knex.raw(`
    create function notify_session_deleted() returns trigger language plpgsql as $$
    begin
      if coalesce(current_setting('auth.purging', true), '') <> 'on' then
        perform pg_notify('${CHANNEL}', 's:' || old.id);
      end if;
      return null;
    end $$`);
  await knex.raw(`
    create function notify_user_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('${CHANNEL}', 'u:' || (case when tg_op = 'INSERT' then new.user_id else old.user_id end));
      return null;
    end $$`);
  await knex.raw(`
    create function notify_user_row_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('${CHANNEL}', 'u:' || old.id);
      return null;
    end $$`);
  await knex.raw(`create trigger sessions_notify_delete after delete on sessions
    for each row execute function notify_session_deleted()`);
  await knex.raw(`create trigger users_notify_change
    after update of session_epoch, disabled, default_role, session_variables or delete on users
    for each row execute function notify_user_row_changed()`);
  await knex.raw(`create trigger user_roles_notify_change after insert or delete on user_roles
    for each row execute function notify_user_changed()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger user_roles_notify_change on user_roles');
  await knex.raw('drop trigger users_notify_change on users');
  await knex.raw('drop trigger sessions_notify_delete on sessions');
  await knex.raw('drop function notify_user_row_changed()');
  await knex.raw('drop function notify_user_changed()');
  await knex.raw('drop function notify_session_deleted()');
  await knex.schema.alterTable('sessions', (table) => table.dropColumn('token_mac'));
  await knex.schema.dropTable('server_secrets');
}
