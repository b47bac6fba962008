import type { Router } from 'express';
import { z } from 'zod';
import type { Metrics } from '../../metrics';
import { AppError } from '../../errors';
import { requireBearerSecret } from '../authentication';
import { defineRoute, named, routerFor } from '../route-definition';

export const metricsRoutes = {
  getMetrics: defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics: webhook latency by outcome, account outcomes, sessions, the pool, the process',
    description:
      'It needs `Authorization: Bearer <METRICS_TOKEN>`; with no METRICS_TOKEN configured it answers 401 to ' +
      'everyone, and with METRICS_ENABLED=false it is 404.',
    tag: 'operations',
    access: 'metrics-token',
    answers: [
      {
        status: 200,
        description: 'The Prometheus text exposition format.',
        body: named('PrometheusText', z.string()),
        mediaType: 'text/plain',
      },
    ],
    usesDatabase: false,
  }),
};

/**
 * GET /metrics, the Prometheus exposition text, behind METRICS_TOKEN. Without a token nobody reads
 * it: the figures say how many accounts log in and fail, which a public deploy should not tell
 * everyone, and "open unless configured" is the default that stays open by mistake.
 */
export function metricsRouter(metrics: Metrics, token: string | null): Router {
  const requireMetricsToken =
    token === null
      ? () => {
          throw new AppError('UNAUTHORIZED', {
            message: 'No METRICS_TOKEN is configured: set one, and scrape with Authorization: Bearer <METRICS_TOKEN>.',
            headers: { 'WWW-Authenticate': 'Bearer' },
          });
        }
      : requireBearerSecret(token);
  return routerFor(
    metricsRoutes,
    {
      getMetrics: async (_req, res) => {
        const text = await metrics.render();
        res.type(metrics.contentType).send(text);
      },
    },
    { requireMetricsToken },
  );
}
