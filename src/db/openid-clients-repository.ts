import type { Knex } from 'knex';
import type {
  ClientAuthMethod,
  ClientChanges,
  ClientType,
  OpenIdClient,
  OpenIdClientStore,
  StoredClient,
} from '../domain/openid-clients';
import { withClassifiedFailures } from './database-errors';
import { textArray } from './rows';

interface ClientRow {
  client_id: string;
  name: string;
  type: ClientType;
  secret_hash: string | null;
  token_endpoint_auth_method: ClientAuthMethod;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  first_party: boolean;
  backchannel_logout_uri: string | null;
  created_at: Date;
  updated_at: Date;
}

const toClient = (row: ClientRow): OpenIdClient => ({
  clientId: row.client_id,
  name: row.name,
  type: row.type,
  tokenEndpointAuthMethod: row.token_endpoint_auth_method,
  redirectUris: row.redirect_uris,
  postLogoutRedirectUris: row.post_logout_redirect_uris,
  firstParty: row.first_party,
  backchannelLogoutUri: row.backchannel_logout_uri,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createOpenIdClientsRepository(db: Knex): OpenIdClientStore {
  const columnsOf = (changes: ClientChanges) => ({
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.redirectUris !== undefined && { redirect_uris: textArray(db, changes.redirectUris) }),
    ...(changes.postLogoutRedirectUris !== undefined && {
      post_logout_redirect_uris: textArray(db, changes.postLogoutRedirectUris),
    }),
    ...(changes.firstParty !== undefined && { first_party: changes.firstParty }),
    ...(changes.backchannelLogoutUri !== undefined && { backchannel_logout_uri: changes.backchannelLogoutUri }),
  });

  return withClassifiedFailures<OpenIdClientStore>({
    async insertClient(client: StoredClient) {
      await db('oidc_clients').insert({
        client_id: client.clientId,
        type: client.type,
        secret_hash: client.secretHash,
        token_endpoint_auth_method: client.tokenEndpointAuthMethod,
        created_at: client.createdAt,
        updated_at: client.updatedAt,
        ...columnsOf(client),
      });
    },

    async listClients() {
      return (await db<ClientRow>('oidc_clients').select('*').orderBy('created_at')).map(toClient);
    },

    async findClient(clientId) {
      const row = await db<ClientRow>('oidc_clients').select('*').where({ client_id: clientId }).first();
      return row && { ...toClient(row), secretHash: row.secret_hash };
    },

    async updateClient(clientId, changes, now) {
      const [row] = await db<ClientRow>('oidc_clients')
        .update({ ...columnsOf(changes), updated_at: now })
        .where({ client_id: clientId })
        .returning('*');
      return row && toClient(row);
    },

    async replaceSecret(clientId, secretHash, now) {
      const updated = await db('oidc_clients')
        .update({ secret_hash: secretHash, updated_at: now })
        .where({ client_id: clientId, type: 'confidential' });
      return updated > 0;
    },

    async deleteClient(clientId) {
      return (await db('oidc_clients').delete().where({ client_id: clientId })) > 0;
    },
  });
}
