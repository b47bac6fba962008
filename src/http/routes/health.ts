import { Router } from 'express';
import { AppError } from '../../errors';
import type { Services } from '../../services';

/**
 * Liveness and readiness, for load balancers and orchestrators. Readiness fails at once when
 * the instance starts to drain, so that traffic moves elsewhere while requests in flight finish.
 */
export function healthRouter(services: Services, isDraining: () => boolean): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    if (isDraining()) throw new AppError('SHUTTING_DOWN');
    await services.database.ping();
    res.json({ status: 'ready' });
  });

  return router;
}
