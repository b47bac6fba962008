import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { OpenIdClient } from '../../domain/openid-clients';
import type { Services } from '../../services';
import { adminActor, recordAuthEvent } from '../auth-events';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';

/**
 * The OpenID Provider's clients, managed by admins: the apps that may send users here to log in.
 * `npm run cli -- create-client` makes one without HTTP, for a deploy's first.
 */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An exact URI the provider may send a user back to: https, or http on this machine's loopback
 * (an app in development). No fragment: the code travels in the query.
 */
export const redirectUri = z
  .string()
  .max(2000)
  .refine((value) => {
    const url = URL.parse(value);
    if (!url || url.hash !== '' || value.includes('#')) return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  }, 'must be an absolute https URL (http only on localhost), without a fragment');

const clientName = z.string().trim().min(1).max(100);

export const createClientBody = z.object({
  name: clientName,
  type: z.enum(['confidential', 'public']),
  redirectUris: z.array(redirectUri).min(1).max(20),
  postLogoutRedirectUris: z.array(redirectUri).max(20).optional(),
  firstParty: z.boolean().optional().describe("The service's own app: its users are never asked to consent."),
  backchannelLogoutUri: redirectUri.nullable().optional(),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post'])
    .optional()
    .describe('How a confidential client sends its secret to the token endpoint; client_secret_basic by default.'),
});

const updateClientBody = z
  .object({
    name: clientName,
    redirectUris: z.array(redirectUri).min(1).max(20),
    postLogoutRedirectUris: z.array(redirectUri).max(20),
    firstParty: z.boolean(),
    backchannelLogoutUri: redirectUri.nullable(),
  })
  .partial();

const clientIdParams = z.object({ id: z.string().max(100) });

const clientResponse = z.object({
  clientId: z.string(),
  name: z.string(),
  type: z.enum(['confidential', 'public']),
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  firstParty: z.boolean(),
  backchannelLogoutUri: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const client = named('OpenIdClient', clientResponse);
const secretField = z.string().describe('Shown this once; only its hash is kept.');

function presentClient(each: OpenIdClient): z.input<typeof clientResponse> {
  return { ...each, createdAt: each.createdAt.toISOString(), updatedAt: each.updatedAt.toISOString() };
}

const notFound = { code: 'NOT_FOUND', message: 'No such client.' } as const;

export const openIdClientRoutes = {
  listClients: defineRoute({
    method: 'get',
    path: '/admin/clients',
    summary: 'List the OpenID Provider’s clients',
    tag: 'administration',
    access: 'admin',
    answers: [
      {
        status: 200,
        description: 'Every client.',
        body: named('OpenIdClientList', z.object({ clients: z.array(clientResponse) })),
      },
    ],
    usesDatabase: true,
  }),
  createClient: defineRoute({
    method: 'post',
    path: '/admin/clients',
    summary: 'Register an app that logs its users in through this service',
    description:
      'A confidential client (a server) gets a `clientSecret`, shown once. A public client (a browser or mobile app) has none. Every client must use PKCE (S256).',
    tag: 'administration',
    access: 'admin',
    body: named('CreateOpenIdClientRequest', createClientBody),
    answers: [
      {
        status: 201,
        description: 'The client, with its secret for a confidential one.',
        body: named('CreatedOpenIdClient', clientResponse.extend({ clientSecret: secretField.optional() })),
      },
    ],
    usesDatabase: true,
  }),
  getClient: defineRoute({
    method: 'get',
    path: '/admin/clients/{id}',
    summary: 'One client',
    tag: 'administration',
    access: 'admin',
    params: clientIdParams,
    malformedParams: notFound,
    answers: [{ status: 200, description: 'The client.', body: client }],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  updateClient: defineRoute({
    method: 'patch',
    path: '/admin/clients/{id}',
    summary: 'Change a client’s name, URIs or first-party flag',
    tag: 'administration',
    access: 'admin',
    params: clientIdParams,
    malformedParams: notFound,
    body: named('UpdateOpenIdClientRequest', updateClientBody),
    answers: [{ status: 200, description: 'The client as changed.', body: client }],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  rotateClientSecret: defineRoute({
    method: 'post',
    path: '/admin/clients/{id}/secret',
    summary: 'Give a confidential client a new secret; the old one stops working at once',
    tag: 'administration',
    access: 'admin',
    params: clientIdParams,
    malformedParams: notFound,
    answers: [
      {
        status: 200,
        description: 'The new secret.',
        body: named('OpenIdClientSecret', z.object({ clientSecret: secretField })),
      },
    ],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  deleteClient: defineRoute({
    method: 'delete',
    path: '/admin/clients/{id}',
    summary: 'Delete a client, with every grant, code and token it was given',
    tag: 'administration',
    access: 'admin',
    params: clientIdParams,
    malformedParams: notFound,
    answers: [noContent('The client is gone.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
};

/**
 * What an admin does to clients, for the API and the admin page alike: each is an auth event.
 * A new client's secret, or a new secret, is answered once, to be shown once.
 */
export function clientAdministration(services: Services) {
  const { openIdClients } = services;
  return {
    async create(req: Request, res: Response, body: z.output<typeof createClientBody>) {
      const created = await openIdClients.create(body);
      recordAuthEvent(req, 'client.created', {
        clientId: created.client.clientId,
        type: created.client.type,
        ...adminActor(res),
      });
      return created;
    },
    async update(req: Request, res: Response, clientId: string, changes: z.output<typeof updateClientBody>) {
      const updated = await openIdClients.update(clientId, changes);
      recordAuthEvent(req, 'client.updated', { clientId, ...adminActor(res) });
      return updated;
    },
    async rotateSecret(req: Request, res: Response, clientId: string) {
      const clientSecret = await openIdClients.rotateSecret(clientId);
      recordAuthEvent(req, 'client.secret_rotated', { clientId, ...adminActor(res) });
      return clientSecret;
    },
    async delete(req: Request, res: Response, clientId: string) {
      await openIdClients.delete(clientId);
      recordAuthEvent(req, 'client.deleted', { clientId, ...adminActor(res) });
    },
  };
}

export function openIdClientsRouter(services: Services, support: RouteSupport): Router {
  const { openIdClients } = services;
  const clients = clientAdministration(services);
  return routerFor(
    openIdClientRoutes,
    {
      listClients: async (_req, res) => {
        res.json({ clients: (await openIdClients.list()).map(presentClient) });
      },

      createClient: async (req, res, { body }) => {
        const { client: created, clientSecret } = await clients.create(req, res, body);
        res.status(201).json({ ...presentClient(created), ...(clientSecret !== null && { clientSecret }) });
      },

      getClient: async (_req, res, { params }) => {
        res.json(presentClient(await openIdClients.get(params.id)));
      },

      updateClient: async (req, res, { params, body }) => {
        res.json(presentClient(await clients.update(req, res, params.id, body)));
      },

      rotateClientSecret: async (req, res, { params }) => {
        res.json({ clientSecret: await clients.rotateSecret(req, res, params.id) });
      },

      deleteClient: async (req, res, { params }) => {
        await clients.delete(req, res, params.id);
        res.status(204).end();
      },
    },
    support,
  );
}
