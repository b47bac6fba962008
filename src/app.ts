import express, { type Express } from 'express';
import helmet from 'helmet';
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
import { webhookRouter } from './http/routes/webhook';
import { refuseBodiesThatAreNotJson } from './http/validation';

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
  // No route but GET /admin/users reads the query string, and that one parses its own
  // (queryParameters): nothing else can be steered by `?a[b]=` shapes.
  app.set('query parser', false);
  // req.ip, which the rate limits count by, believes X-Forwarded-For only from these proxies.
  app.set('trust proxy', config.trustProxy);

  app.use(requestLogging(logger));
  app.use(
    helmet({
      // A JSON API loads nothing and is framed by nobody: a browser that renders one of its
      // answers as a page runs no script, loads no resource and shows it in no frame.
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: { maxAge: 365 * 86400, includeSubDomains: true },
      xFrameOptions: { action: 'deny' },
    }),
  );
  app.use((_req, res, next) => {
    // Answers carry tokens and session state: no cache may keep them.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  app.use(healthRouter(services, isDraining));
  // The webhook parses its own, larger bodies: Hasura's POST mode forwards the whole GraphQL request.
  app.use(webhookRouter(config, services.callers));
  app.use(express.json({ limit: config.jsonBodyLimitBytes }));
  app.use(refuseBodiesThatAreNotJson);
  app.use(accountsRouter(services, passport));
  app.use(sessionsRouter(services, passport));
  app.use('/admin', adminRouter(services, passport, config.admin.secret));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
