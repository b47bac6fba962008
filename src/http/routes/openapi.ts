import type { Router } from 'express';
import { defineRoute, named, routerFor } from '../route-definition';
import * as schemas from '../schemas';

export const openApiRoutes = {
  getOpenApiDocument: defineRoute({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'operations',
    access: 'public',
    answers: [
      {
        status: 200,
        description: 'The OpenAPI 3.1 document.',
        body: named('OpenApiDocument', schemas.openApiDocumentResponse),
      },
    ],
    usesDatabase: false,
  }),
};

/** GET /openapi.json: the machine-readable description of this API, built once by the app. */
export function openApiRouter(document: object): Router {
  return routerFor(openApiRoutes, {
    getOpenApiDocument: (_req, res) => {
      res.json(document);
    },
  });
}
