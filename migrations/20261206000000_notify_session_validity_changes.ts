import type { Knex } from 'knex';

/**
 * Until now only a session's deletion told the other instances; an operator's SQL that shortened
 * a session (`update auth.sessions set expires_at = now()`) was heard only when the cached answer
 * timed out. Every column that decides whether a session is valid now notifies, when it changes
 * in a way that can end the session sooner: not when the service records a use (last_used_at
 * moving forward), which happens on every touch and would empty every instance's cache.
 * A role renamed in user_roles is heard too, as an insert and a delete already were.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create trigger sessions_notify_shortened
    after update of expires_at, last_used_at, user_id, user_epoch, token_hash on sessions
    for each row
    when (new.expires_at < old.expires_at
      or new.last_used_at < old.last_used_at
      or new.user_id <> old.user_id
      or new.user_epoch is distinct from old.user_epoch
      or new.token_hash is distinct from old.token_hash)
    execute function notify_session_deleted()`);
  await knex.raw(`create trigger user_roles_notify_update after update on user_roles
    for each row execute function notify_user_changed()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger user_roles_notify_update on user_roles');
  await knex.raw('drop trigger sessions_notify_shortened on sessions');
}
