import type { Knex } from 'knex';

/**
 * Back-channel logout when a rule ends a login session, not only when the app itself logs out.
 * The database decides, whichever instance, CLI or operator's SQL ends it: when a provider login
 * session's row in `sessions` is deleted (a logout, the admin's order for one session, the purge
 * of one that timed out, the user's deletion) or its user gets a new epoch or is disabled
 * (logout-all, a new password, a role change), its provider session is marked ended and one
 * logout per app that registered a back-channel URI is queued here, in the same transaction.
 * Instances take them with SKIP LOCKED and send them (src/http/openid-provider.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_backchannel_logouts', (table) => {
    table.bigIncrements('id');
    table.text('client_id').notNullable().references('client_id').inTable('oidc_clients').onDelete('CASCADE');
    // The logout token's `sub` and `sid`.
    table.text('account_id').notNullable();
    table.text('sid').notNullable();
    table.timestamp('queued_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // A provider session already marked ended (the app's own logout, which the library announces
  // itself; a session replaced by a new cookie) queues nothing.
  await knex.raw(`
    create function oidc_end_login_sessions(ended uuid[]) returns void language plpgsql as $$
    begin
      with ended_sessions as (
        update oidc_models m set consumed_at = now()
        where m.model = 'Session' and m.consumed_at is null and m.session_id = any(ended)
        returning m.payload
      )
      insert into oidc_backchannel_logouts (client_id, account_id, sid)
      select authorization_.key, e.payload->>'accountId', authorization_.value->>'sid'
      from ended_sessions e
      cross join lateral jsonb_each(coalesce(e.payload->'authorizations', '{}'::jsonb)) authorization_
      join oidc_clients c on c.client_id = authorization_.key
      where c.backchannel_logout_uri is not null
        and e.payload->>'accountId' is not null
        and authorization_.value->>'sid' is not null;
    end $$`);
  await knex.raw(`
    create function oidc_login_session_deleted() returns trigger language plpgsql as $$
    begin
      if old.kind = 'op' then
        perform oidc_end_login_sessions(array[old.id]);
      end if;
      return old;
    end $$`);
  await knex.raw(`
    create function oidc_user_sessions_ended() returns trigger language plpgsql as $$
    begin
      perform oidc_end_login_sessions(array(select id from sessions where user_id = new.id and kind = 'op'));
      return null;
    end $$`);
  // Before the delete: the provider session's row goes with it, by cascade. (The kind is read in
  // the function: a WHEN clause would tie the column to the trigger, and an earlier migration's
  // rollback drops that column.)
  await knex.raw(`create trigger sessions_end_provider_session before delete on sessions
    for each row execute function oidc_login_session_deleted()`);
  await knex.raw(`create trigger users_end_provider_sessions after update of session_epoch, disabled on users
    for each row when (new.session_epoch <> old.session_epoch or (new.disabled and not old.disabled))
    execute function oidc_user_sessions_ended()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger users_end_provider_sessions on users');
  await knex.raw('drop trigger sessions_end_provider_session on sessions');
  await knex.raw('drop function oidc_user_sessions_ended()');
  await knex.raw('drop function oidc_login_session_deleted()');
  await knex.raw('drop function oidc_end_login_sessions(uuid[])');
  await knex.schema.dropTable('oidc_backchannel_logouts');
}
