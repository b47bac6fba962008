import { Router } from 'express';
import { AppError } from '../../errors';
import type { Services } from '../../services';

export function healthRouter(services: Services): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    try {
      await services.pingDatabase();
    } catch (error) {
      throw new AppError('DATABASE_UNAVAILABLE', undefined, undefined, { cause: error });
    }
    res.json({ status: 'ready' });
  });

  return router;
}
