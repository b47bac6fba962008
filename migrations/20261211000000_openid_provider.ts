import type { Knex } from 'knex';

/**
 * The OpenID Provider: the clients that send users here to log in, what the provider library
 * stores (its models), and a third kind of session, the provider's login session (SSO), which
 * lives in `sessions` like every other so that every rule that ends sessions ends it. Additive.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table sessions drop constraint sessions_kind_token_hash');
  // An `op` session's secret is the provider's cookie, kept (as a hash) with its model below.
  await knex.raw(
    `alter table sessions add constraint sessions_kind_token_hash check (
       (kind = 'bearer' and token_hash is not null) or (kind in ('refresh', 'op') and token_hash is null))`,
  );

  await knex.schema.createTable('oidc_clients', (table) => {
    table.text('client_id').primary();
    table.text('name').notNullable();
    table.text('type').notNullable();
    // SHA-256 of a 256-bit random secret: only a confidential client has one.
    table.text('secret_hash');
    table.text('token_endpoint_auth_method').notNullable();
    table.specificType('redirect_uris', 'text[]').notNullable();
    table.specificType('post_logout_redirect_uris', 'text[]').notNullable().defaultTo('{}');
    table.boolean('first_party').notNullable().defaultTo(false);
    table.text('backchannel_logout_uri');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
  });
  await knex.raw(
    `alter table oidc_clients add constraint oidc_clients_type_secret check (
       (type = 'confidential' and secret_hash is not null) or (type = 'public' and secret_hash is null))`,
  );

  // One table for every model of oidc-provider (sessions, interactions, codes, tokens, grants):
  // each row is keyed by the SHA-256 of its id, which is a bearer secret for most of them.
  await knex.schema.createTable('oidc_models', (table) => {
    table.text('model').notNullable();
    table.text('id_hash').notNullable();
    table.jsonb('payload').notNullable();
    table.text('grant_id');
    table.text('uid');
    table.timestamp('expires_at', { useTz: true });
    table.timestamp('consumed_at', { useTz: true });
    // A login session's own row in `sessions`: its end (any rule) ends the provider's session.
    table.uuid('session_id').references('id').inTable('sessions').onDelete('CASCADE');
    // A grant's and its tokens' user, and the user's session epoch when the login they come
    // from was made: a new epoch (logout-all, a new password, disable, ...) ends them all.
    table.integer('user_id').references('id').inTable('users').onDelete('CASCADE');
    table.integer('user_epoch');
    // A grant's and its tokens' client: deleting the client deletes them.
    table.text('client_id').references('client_id').inTable('oidc_clients').onDelete('CASCADE');
    table.primary(['model', 'id_hash']);
    table.index(['grant_id']);
    table.index(['uid']);
    table.index(['expires_at']);
    table.index(['session_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_models');
  await knex.schema.dropTable('oidc_clients');
  await knex('sessions').delete().where({ kind: 'op' });
  await knex.raw('alter table sessions drop constraint sessions_kind_token_hash');
  await knex.raw(
    `alter table sessions add constraint sessions_kind_token_hash check (
       (kind = 'bearer' and token_hash is not null) or (kind = 'refresh' and token_hash is null))`,
  );
}
