import { Router } from 'express';
import { buildOpenApiDocument } from '../openapi';

/** GET /openapi.json: the machine-readable description of this API. */
export function openApiRouter(): Router {
  const router = Router();
  // Built once per app: it depends on nothing that changes while the app runs.
  const document = buildOpenApiDocument();

  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  return router;
}
