import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { Clock } from './model';

/**
 * The apps that send users here to log in (the OpenID Provider's clients), as admins register
 * them. A confidential client (a server) authenticates with a secret, shown once when made and
 * stored only as a hash; a public client (a browser or mobile app) has none and must use PKCE,
 * as every client must here.
 */

export type ClientType = 'confidential' | 'public';
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface OpenIdClient {
  clientId: string;
  name: string;
  type: ClientType;
  tokenEndpointAuthMethod: ClientAuthMethod;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** An app of the same owner: its users are not asked to consent. */
  firstParty: boolean;
  backchannelLogoutUri: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A client as stored: with its secret's hash, which the provider compares a presented secret's hash to. */
export type StoredClient = OpenIdClient & { secretHash: string | null };

export interface NewClient {
  name: string;
  type: ClientType;
  /** For a confidential client; client_secret_basic unless it says otherwise. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  firstParty?: boolean;
  backchannelLogoutUri?: string | null;
}

export type ClientChanges = Partial<
  Pick<OpenIdClient, 'name' | 'redirectUris' | 'postLogoutRedirectUris' | 'firstParty' | 'backchannelLogoutUri'>
>;

export interface OpenIdClientStore {
  insertClient(client: StoredClient): Promise<void>;
  listClients(): Promise<OpenIdClient[]>;
  findClient(clientId: string): Promise<StoredClient | undefined>;
  /** Answers the client as changed, or undefined when there is none. */
  updateClient(clientId: string, changes: ClientChanges, now: Date): Promise<OpenIdClient | undefined>;
  /** Replaces a confidential client's secret hash; false when there is no such client. */
  replaceSecret(clientId: string, secretHash: string, now: Date): Promise<boolean>;
  /** Deletes the client, and with it (by cascade) its grants, codes and tokens. */
  deleteClient(clientId: string): Promise<boolean>;
}

/** How a client secret is kept: it has 256 random bits, so a fast hash is as safe as a slow one. */
export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

const newSecret = () => randomBytes(32).toString('base64url');

export function createOpenIdClients({ store, clock }: { store: OpenIdClientStore; clock: Clock }) {
  const existing = async (clientId: string): Promise<OpenIdClient> => {
    const client = await store.findClient(clientId);
    if (!client) throw new AppError('NOT_FOUND', { message: 'No such client.' });
    const { secretHash: _hash, ...shown } = client;
    return shown;
  };

  return {
    /** Registers a client; answers it with its secret, which is never shown again. */
    async create(details: NewClient): Promise<{ client: OpenIdClient; clientSecret: string | null }> {
      const now = clock.now();
      const clientSecret = details.type === 'confidential' ? newSecret() : null;
      const client: OpenIdClient = {
        clientId: randomBytes(16).toString('base64url'),
        name: details.name,
        type: details.type,
        tokenEndpointAuthMethod:
          details.type === 'public' ? 'none' : (details.tokenEndpointAuthMethod ?? 'client_secret_basic'),
        redirectUris: details.redirectUris,
        postLogoutRedirectUris: details.postLogoutRedirectUris ?? [],
        firstParty: details.firstParty ?? false,
        backchannelLogoutUri: details.backchannelLogoutUri ?? null,
        createdAt: now,
        updatedAt: now,
      };
      await store.insertClient({ ...client, secretHash: clientSecret && hashClientSecret(clientSecret) });
      return { client, clientSecret };
    },

    list: () => store.listClients(),

    get: existing,

    async update(clientId: string, changes: ClientChanges): Promise<OpenIdClient> {
      const updated = await store.updateClient(clientId, changes, clock.now());
      if (!updated) throw new AppError('NOT_FOUND', { message: 'No such client.' });
      return updated;
    },

    /** A new secret for a confidential client; the old one stops working at once. */
    async rotateSecret(clientId: string): Promise<string> {
      const client = await existing(clientId);
      if (client.type !== 'confidential') {
        throw new AppError('VALIDATION_FAILED', { message: 'A public client has no secret.' });
      }
      const clientSecret = newSecret();
      if (!(await store.replaceSecret(clientId, hashClientSecret(clientSecret), clock.now()))) {
        throw new AppError('NOT_FOUND', { message: 'No such client.' });
      }
      return clientSecret;
    },

    async delete(clientId: string): Promise<void> {
      if (!(await store.deleteClient(clientId))) throw new AppError('NOT_FOUND', { message: 'No such client.' });
    },

    /** The client as the provider needs it, secret hash included; undefined for none. */
    find: (clientId: string) => store.findClient(clientId),
  };
}

export type OpenIdClients = ReturnType<typeof createOpenIdClients>;
