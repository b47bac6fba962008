import type { Router } from 'express';
import { defineRoute, named, routerFor } from '../route-definition';
import * as schemas from '../schemas';

export const healthRoutes = {
  getLiveness: defineRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: answers while the process lives',
    tag: 'operations',
    access: 'public',
    answers: [{ status: 200, description: 'Alive.', body: named('Liveness', schemas.livenessResponse) }],
    usesDatabase: false,
  }),
  getReadiness: defineRoute({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database answers and the instance is not draining',
    tag: 'operations',
    access: 'public',
    answers: [{ status: 200, description: 'Ready for traffic.', body: named('Readiness', schemas.readinessResponse) }],
    errors: ['SHUTTING_DOWN'],
    usesDatabase: true,
  }),
};

/**
 * Liveness and readiness, for load balancers and orchestrators. Liveness answers as long as the
 * process serves HTTP, even while it waits for its database: a supervisor must not restart an
 * instance for an outage that a restart cannot fix. Readiness throws (a 503 from the catalogue)
 * while the instance should get no traffic: before its database answers, and from the moment it
 * starts to drain, so that traffic moves elsewhere while requests in flight finish.
 */
export function healthRouter(checkReadiness: () => Promise<void>): Router {
  return routerFor(healthRoutes, {
    getLiveness: (_req, res) => {
      res.json({ status: 'ok' });
    },
    getReadiness: async (_req, res) => {
      await checkReadiness();
      res.json({ status: 'ready' });
    },
  });
}
