import { WEBHOOK_PATH } from './webhook';

/**
 * Routes that node:http answers in front of Express, without it. Express's router cannot list
 * them, so they are listed here, beside it: the check that the OpenAPI document names every
 * route that is served, and nothing else, counts these with the routes Express serves.
 * Paths are in OpenAPI form (`/sessions/{id}`).
 */
export interface ServedRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
}

export const frameworkFreeRoutes: readonly ServedRoute[] = [
  { method: 'get', path: WEBHOOK_PATH },
  { method: 'post', path: WEBHOOK_PATH },
];
