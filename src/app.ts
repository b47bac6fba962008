import express, { type Express } from 'express';
import type { Config } from './config';
import type { Logger } from './logger';
import type { Services } from './services';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createPassport } from './http/passport';
import { requestLogging } from './http/request-logging';
import { accountsRouter } from './http/routes/accounts';
import { adminRouter } from './http/routes/admin';
import { healthRouter } from './http/routes/health';
import { sessionsRouter } from './http/routes/sessions';
import { tokensRouter } from './http/routes/tokens';
import { webhookRouter } from './http/routes/webhook';

export interface AppDeps {
  config: Config;
  logger: Logger;
  services: Services;
  /** True once the server has begun to shut down; readiness then fails. */
  isDraining?: () => boolean;
}

/** Builds the HTTP app. It opens nothing: startServer listens. */
export function createApp({ config, logger, services, isDraining = () => false }: AppDeps): Express {
  const passport = createPassport(services.accounts, services.sessions);
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

  app.use(healthRouter(services, isDraining));
  // The webhook parses its own, larger bodies: Hasura's POST mode forwards the whole GraphQL request.
  app.use(webhookRouter(config, services.callers));
  app.use(express.json({ limit: config.jsonBodyLimitBytes }));
  app.use(accountsRouter(services, passport));
  app.use(sessionsRouter(services, passport));
  app.use(tokensRouter(config, services, passport));
  app.use('/admin', adminRouter(services, passport, config.admin.secret));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
