import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from './config';
import { AppError } from './errors';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { Services } from './services';
import { createCsrfDefence } from './http/csrf';
import { errorHandler, notFoundHandler, setCommonHeaders } from './http/error-handler';
import { jsonBodies } from './http/json-body';
import { createLogins } from './http/logins';
import { createPassport } from './http/passport';
import { pathOf, requestLogging } from './http/request-logging';
import { accountsRouter } from './http/routes/accounts';
import { adminRouter } from './http/routes/admin';
import { emailRouter } from './http/routes/email';
import { pagesRouter } from './http/routes/pages';
import { accountPagesRouter } from './http/routes/account-pages';
import { adminPagesRouter } from './http/routes/admin-pages';
import { identityRouters } from './http/routes/identities';
import { createIdentityFlows } from './http/identity-flows';
import { createProviderClients } from './identity-providers/provider-clients';
import { healthRouter } from './http/routes/health';
import { metricsRouter } from './http/routes/metrics';
import { openApiRouter } from './http/routes/openapi';
import { secondFactorsRouter } from './http/routes/second-factors';
import { passkeysRouter } from './http/routes/passkeys';
import { sessionsRouter } from './http/routes/sessions';
import { tokensRouter } from './http/routes/tokens';
import { createSessionCookies } from './http/session-cookie';
import { createWebhookHandler, WEBHOOK_PATH } from './http/webhook';
import { createJwksResponder, type JwksResponder } from './http/jwks';
import { createOpenIdProvider, type OpenIdProvider } from './http/openid-provider';
import { interactionsRouter } from './http/routes/interactions';
import { openIdClientsRouter } from './http/routes/openid-clients';
import { buildOpenApiDocument } from './http/openapi';
import type { RouteSupport } from './http/route-definition';
import { requireAdmin, requireSession } from './http/authentication';
import { authenticateSession } from './http/passport';

export interface AppDeps {
  config: Config;
  logger: Logger;
  services: Services;
  metrics: Metrics;
  /** True once the server has begun to shut down; readiness then fails. */
  isDraining?: () => boolean;
}

/** What every answer shares, whether the service is starting or ready. */
function createBaseApp(config: Config, logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // No route but GET /admin/users reads the query string, and that one parses its own
  // (queryParameters): nothing else can be steered by `?a[b]=` shapes.
  app.set('query parser', false);
  // Decides req.ip (which the rate limits count by) and req.secure (and so whether the session
  // cookie is Secure): X-Forwarded-For is believed only from these proxies.
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
    setCommonHeaders(res);
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
  const app = createBaseApp(config, logger);
  app.use(healthRouter(() => Promise.reject(notReady())));
  if (config.metrics) app.use(metricsRouter(metrics, config.metrics.token));
  app.use(() => {
    throw notReady();
  });
  app.use(errorHandler);
  return app;
}

// Built once: it depends on nothing that changes while the service runs.
const openApiDocument = buildOpenApiDocument();

const jwksResponderOf = ({ config, services, logger }: AppDeps) =>
  createJwksResponder(services.signingKeys, config.jwt.jwksMaxAgeSeconds, logger);

/** Every route but the webhook: the API of docs/api.md. */
export function createExpressApp(
  deps: AppDeps,
  jwks: JwksResponder = jwksResponderOf(deps),
  openIdProvider: OpenIdProvider | undefined = createOpenIdProvider(deps),
): Express {
  const { config, logger, services, metrics, isDraining = () => false } = deps;
  const cookies = createSessionCookies(config.cookie);
  const passport = createPassport(services.accounts, services.sessions, cookies);
  const app = createBaseApp(config, logger);

  app.use(
    healthRouter(async () => {
      if (isDraining()) throw new AppError('SHUTTING_DOWN');
      await services.database.ping();
    }),
  );
  if (config.metrics) app.use(metricsRouter(metrics, config.metrics.token));
  app.use(openApiRouter(openApiDocument));
  // Browsers call this service's own endpoints; only Hasura calls the webhook, which gets no CORS.
  // An origin not listed gets no CORS header at all, preflight included: never the request's own
  // Origin reflected back, and no credentials, methods or headers granted to it.
  if (config.corsOrigins.length > 0) {
    const allowedOrigins = new Set(config.corsOrigins);
    app.use(
      cors((req, answer) => {
        const origin = req.headers.origin;
        const allowed = origin !== undefined && allowedOrigins.has(origin) && pathOf(req) !== WEBHOOK_PATH;
        answer(
          null,
          allowed
            ? { origin, credentials: true, allowedHeaders: ['Content-Type', 'Authorization'], maxAge: 600 }
            : { origin: false },
        );
      }),
    );
  }
  const csrf = createCsrfDefence(config.corsOrigins, cookies, services.pageFormKey);
  const support: RouteSupport = {
    csrf,
    jsonBody: jsonBodies(config.jsonBodyLimitBytes),
    requireSession: requireSession(passport),
    requireAdmin: requireAdmin(passport, config.admin.secret, new Set(config.secondFactors.requiredForRoles)),
    rateLimits: services.rateLimits,
    metrics,
  };
  const logins = createLogins(passport, services.rateLimits, services.secondFactors, services.passkeys);
  app.use(accountsRouter(services, { cookies, logins, support, signupOpen: config.accounts.signupOpen }));
  app.use(secondFactorsRouter(services, support));
  app.use(passkeysRouter(services, support));
  app.use(emailRouter(services, support));
  app.use(pagesRouter(config, services, support));
  const pages = { config, services, logins, cookies, csrf, support };
  app.use(accountPagesRouter(pages));
  app.use(adminPagesRouter(pages));
  if (openIdProvider) app.use(interactionsRouter({ config, services, logins, support, openIdProvider }));
  app.use(sessionsRouter(services, { cookies, support }));
  app.use(tokensRouter(services, { logins, jwks, support }));
  app.use(adminRouter(services, support));
  app.use(openIdClientsRouter(services, support));
  const { providers, allowInsecureIssuers } = config.identityProviders;
  // With no provider configured, none of their routes exists: each answers 404 like any unknown path.
  if (providers.length > 0) {
    app.use(
      ...identityRouters({
        config,
        services,
        metrics,
        clients: createProviderClients(providers, {
          allowInsecureIssuers,
          now: () => services.clock.now().getTime(),
        }),
        flows: createIdentityFlows(services.identityFlowKey),
        cookies,
        authenticate: (req) => authenticateSession(passport, req.headers),
        support,
      }),
    );
  }

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

/**
 * Builds the HTTP request listener. It opens nothing: startServer listens. The webhook, which
 * Hasura calls on every GraphQL request, and the JWKS, which Hasura DDN fetches on every one, are
 * answered before Express sees the request, and so are the OpenID Provider's endpoints.
 */
export function createApp(deps: AppDeps, openIdProvider: OpenIdProvider | undefined): RequestListener {
  const webhook = createWebhookHandler({
    config: deps.config,
    logger: deps.logger,
    callers: deps.services.callers,
    metrics: deps.metrics,
  });
  const jwks = jwksResponderOf(deps);
  // The OpenID Provider reads its own request bodies: no Express parser may run before it.
  const api = createExpressApp(deps, jwks, openIdProvider);
  return (req, res) => {
    if (!webhook(req, res) && !jwks.serveFast(req, res) && !openIdProvider?.serve(req, res)) api(req, res);
  };
}
