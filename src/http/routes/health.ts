import { Router } from 'express';

/**
 * Liveness and readiness, for load balancers and orchestrators. Liveness answers as long as the
 * process serves HTTP, even while it waits for its database: a supervisor must not restart an
 * instance for an outage that a restart cannot fix. Readiness throws (a 503 from the catalogue)
 * while the instance should get no traffic: before its database answers, and from the moment it
 * starts to drain, so that traffic moves elsewhere while requests in flight finish.
 */
export function healthRouter(checkReadiness: () => Promise<void>): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    await checkReadiness();
    res.json({ status: 'ready' });
  });

  return router;
}
