import { Router } from 'express';
import type { Metrics } from '../../metrics';
import { AppError } from '../../errors';
import { requireBearerSecret } from '../authentication';

/**
 * GET /metrics, the Prometheus exposition text, behind METRICS_TOKEN. Without a token nobody reads
 * it: the figures say how many accounts log in and fail, which a public deploy should not tell
 * everyone, and "open unless configured" is the default that stays open by mistake.
 */
export function metricsRouter(metrics: Metrics, token: string | null): Router {
  const router = Router();
  const guard =
    token === null
      ? () => {
          throw new AppError('UNAUTHORIZED', {
            message: 'No METRICS_TOKEN is configured: set one, and scrape with Authorization: Bearer <METRICS_TOKEN>.',
            headers: { 'WWW-Authenticate': 'Bearer' },
          });
        }
      : requireBearerSecret(token);
  router.get('/metrics', guard, async (_req, res) => {
    const text = await metrics.render();
    res.type(metrics.contentType).send(text);
  });
  return router;
}
