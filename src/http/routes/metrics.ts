import { Router } from 'express';
import type { Metrics } from '../../metrics';
import { requireBearerSecret } from '../authentication';

/** GET /metrics, the Prometheus exposition text; behind METRICS_TOKEN when one is set. */
export function metricsRouter(metrics: Metrics, token: string | null): Router {
  const router = Router();
  const guards = token === null ? [] : [requireBearerSecret(token)];
  router.get('/metrics', ...guards, async (_req, res) => {
    const text = await metrics.render();
    res.type(metrics.contentType).send(text);
  });
  return router;
}
