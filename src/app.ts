import cors from 'cors';
import express, { type Express } from 'express';
import type { Config } from './config';
import type { Logger } from './logger';
import type { Services } from './services';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createCsrfDefence } from './http/csrf';
import { createPassport } from './http/passport';
import { requestLogging } from './http/request-logging';
import { accountsRouter } from './http/routes/accounts';
import { adminRouter } from './http/routes/admin';
import { healthRouter } from './http/routes/health';
import { sessionsRouter } from './http/routes/sessions';
import { webhookRouter } from './http/routes/webhook';
import { createSessionCookies } from './http/session-cookie';

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
  const cookies = createSessionCookies(config.cookie);
  const csrf = createCsrfDefence(config.corsOrigins);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Decides req.ip and req.secure (and so whether the session cookie is Secure).
  app.set('trust proxy', config.trustProxy);

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
  // Only below the webhook: browsers call this service's own endpoints, while only Hasura calls
  // the webhook. An explicit list, never the request's own Origin reflected back.
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: [...config.corsOrigins],
        credentials: true,
        allowedHeaders: ['Content-Type', 'Authorization'],
        maxAge: 600,
      }),
    );
  }
  app.use(csrf.forCookieSessions);
  app.use(express.json({ limit: config.jsonBodyLimitBytes }));
  app.use(accountsRouter(services, passport, { cookies, csrf }));
  app.use(sessionsRouter(services, passport, cookies));
  app.use('/admin', adminRouter(services, passport, config.admin.secret));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
