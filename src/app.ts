import express, { type Express } from 'express';
import type { Config } from './config';
import { AppError } from './errors';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { Services } from './services';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createPassport } from './http/passport';
import { requestLogging } from './http/request-logging';
import { accountsRouter } from './http/routes/accounts';
import { adminRouter } from './http/routes/admin';
import { healthRouter } from './http/routes/health';
import { metricsRouter } from './http/routes/metrics';
import { sessionsRouter } from './http/routes/sessions';
import { webhookRouter } from './http/routes/webhook';

export interface AppDeps {
  config: Config;
  logger: Logger;
  services: Services;
  metrics: Metrics;
  /** True once the server has begun to shut down; readiness then fails. */
  isDraining?: () => boolean;
}

/** What every answer shares, whether the service is starting or ready. */
function createBaseApp(logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(requestLogging(logger));
  app.use((_req, res, next) => {
    // Answers carry tokens and session state: no cache may keep them.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  return app;
}

/**
 * The app that answers while start-up waits for the database: alive, not ready, metrics, and
 * 503 for everything else (never a 401 or an anonymous 200: no decision can be made yet).
 */
export function createStartingApp({
  config,
  logger,
  metrics,
  isDraining = () => false,
}: Omit<AppDeps, 'services'>): Express {
  const notReady = () =>
    isDraining()
      ? new AppError('SHUTTING_DOWN')
      : new AppError('DATABASE_UNAVAILABLE', {
          message: 'This instance is starting: its database does not answer yet. Try again.',
          headers: { 'Retry-After': '5' },
        });
  const app = createBaseApp(logger);
  app.use(healthRouter(() => Promise.reject(notReady())));
  if (config.metrics) app.use(metricsRouter(metrics, config.metrics.token));
  app.use(() => {
    throw notReady();
  });
  app.use(errorHandler);
  return app;
}

/** Builds the HTTP app. It opens nothing: startServer listens. */
export function createApp({ config, logger, services, metrics, isDraining = () => false }: AppDeps): Express {
  const passport = createPassport(services.accounts, services.sessions);
  const app = createBaseApp(logger);

  app.use(
    healthRouter(async () => {
      if (isDraining()) throw new AppError('SHUTTING_DOWN');
      await services.database.ping();
    }),
  );
  if (config.metrics) app.use(metricsRouter(metrics, config.metrics.token));
  // The webhook parses its own, larger bodies: Hasura's POST mode forwards the whole GraphQL request.
  app.use(webhookRouter(config, services.callers, metrics));
  app.use(express.json({ limit: config.jsonBodyLimitBytes }));
  app.use(accountsRouter(services, passport, metrics));
  app.use(sessionsRouter(services, passport));
  app.use('/admin', adminRouter(services, passport, config.admin.secret));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
