import type { Knex } from 'knex';

/**
 * Accounts grow an email address, a display name, identities at other providers, single-use
 * tokens and a mail outbox. Every change is additive: existing rows keep what they had, with no
 * address and no display name.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    // Trimmed, NFKC-normalised and lower-cased by the service before it is stored.
    table.text('email');
    table.timestamp('email_verified_at', { useTz: true });
    table.text('display_name');
  });
  // A user who only ever logs in through an identity provider has no password.
  await knex.raw('alter table users alter column password_hash drop not null');
  // An address belongs to the account that verified it. Unverified claims never block anyone:
  // several accounts may claim one address until one of them verifies it.
  await knex.raw('create unique index users_verified_email on users (email) where email_verified_at is not null');
  await knex.raw('create index users_email on users (email)');
  await knex.raw(
    'alter table users add constraint users_verified_email_present check (email is not null or email_verified_at is null)',
  );

  // Every instance forgets a cached user whose public fields changed, as it does for its roles.
  await knex.raw('drop trigger users_notify_change on users');
  await knex.raw(`create trigger users_notify_change
    after update of session_epoch, disabled, default_role, session_variables, email, email_verified_at, display_name
      or delete on users
    for each row execute function notify_user_row_changed()`);

  // Who the user is at another identity provider: the provider's issuer and its subject.
  await knex.schema.createTable('user_identities', (table) => {
    table.bigIncrements('id');
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.text('issuer').notNullable();
    table.text('subject').notNullable();
    table.text('email');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.unique(['issuer', 'subject']);
    table.index(['user_id']);
  });

  // Tokens that a mail carries: only their SHA-256 is stored, and each is used once.
  await knex.schema.createTable('one_time_tokens', (table) => {
    table.bigIncrements('id');
    table.text('purpose').notNullable();
    table.text('token_hash').notNullable().unique();
    table.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    // The address the token was sent to: a verification proves this address, and no other.
    table.text('email').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.timestamp('used_at', { useTz: true });
    table.index(['user_id', 'purpose']);
    table.index(['expires_at']);
  });
  await knex.raw(`alter table one_time_tokens add constraint one_time_tokens_purpose
    check (purpose in ('email-verification', 'password-reset'))`);

  // Mail written in the transaction that made it necessary, and sent by a worker in any instance.
  // A mail is kept as its template and parameters, and rendered when it is sent: mail that waited
  // for SMTP_URL or PUBLIC_URL to be configured goes out with the links and wording of then.
  await knex.schema.createTable('mail_outbox', (table) => {
    table.bigIncrements('id');
    table.text('recipient').notNullable();
    table.text('template').notNullable();
    // Emptied once the mail is sent or given up on: it may hold a token.
    table.jsonb('params');
    table.timestamp('created_at', { useTz: true }).notNullable();
    // When a worker may next try it: moved forward when a worker claims it (a lease, so that a
    // worker that dies mid-send leaves it to another) and after each failure (the backoff).
    table.timestamp('next_attempt_at', { useTz: true }).notNullable();
    table.integer('attempts').notNullable().defaultTo(0);
    table.text('last_error');
    table.timestamp('sent_at', { useTz: true });
    table.timestamp('given_up_at', { useTz: true });
  });
  await knex.raw(
    'create index mail_outbox_pending on mail_outbox (next_attempt_at) where sent_at is null and given_up_at is null',
  );

  // What apps may join to: the public fields of users, read-only, in a schema Hasura may track
  // (the auth schema, which holds password and token hashes, must never be).
  // A simple view is writable in PostgreSQL, by its owner and by a superuser too: a trigger
  // that refuses every write keeps it read-only whoever connects.
  await knex.raw('create schema if not exists auth_public');
  await knex.raw(`create view auth_public.users as
    select id, username, display_name, created_at from auth.users`);
  await knex.raw(`create function auth.refuse_public_user_writes() returns trigger language plpgsql as $$
    begin
      raise exception 'auth_public.users is read-only: change users through the auth service';
    end $$`);
  await knex.raw(`create trigger refuse_writes instead of insert or update or delete on auth_public.users
    for each row execute function auth.refuse_public_user_writes()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop view auth_public.users');
  await knex.raw('drop function auth.refuse_public_user_writes()');
  await knex.raw('drop schema auth_public');
  await knex.schema.dropTable('mail_outbox');
  await knex.schema.dropTable('one_time_tokens');
  await knex.schema.dropTable('user_identities');
  await knex.raw('drop trigger users_notify_change on users');
  await knex.raw(`create trigger users_notify_change
    after update of session_epoch, disabled, default_role, session_variables or delete on users
    for each row execute function notify_user_row_changed()`);
  await knex.raw('alter table users drop constraint users_verified_email_present');
  await knex.raw('drop index users_email');
  await knex.raw('drop index users_verified_email');
  await knex.raw('delete from users where password_hash is null');
  await knex.raw('alter table users alter column password_hash set not null');
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('display_name');
    table.dropColumn('email_verified_at');
    table.dropColumn('email');
  });
}
