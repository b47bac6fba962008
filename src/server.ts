import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createStartingApp } from './app';
import { createOpenIdProvider } from './http/openid-provider';
import type { Config } from './config';
import { describeDatabase, migrateToLatest, openDatabase, waitForDatabase, type Database } from './db/database';
import { forget } from './domain/cache-invalidation';
import { listenForInvalidations, type InvalidationListener } from './db/invalidation-listener';
import { systemClock, type Clock } from './domain/model';
import type { Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { createServices, type Services } from './services';
import { createOutboxWorker, loggingTransport, smtpTransport, type OutboxWorker } from './mail/outbox-worker';

// Longer than the idle timeouts of common load balancers (Heroku's router, ALB: 60 s), so that
// they, not we, close idle keep-alive connections and no request races a closing socket.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Requests still running this long after close() are cut off: a supervisor's patience is finite
// (Heroku sends SIGKILL 30 s after SIGTERM).
const SHUTDOWN_GRACE_MS = 10_000;
// Back-channel logouts are sent when this instance hears that sessions ended; this poll sends
// those it did not hear of (no listener with the webhook cache off, or a notice lost).
const BACKCHANNEL_POLL_MS = 10_000;

export interface ServerDeps {
  config: Config;
  logger: Logger;
  /**
   * A database that the caller opened and will close itself. Without one, the server opens
   * the database that config.database names, and closes it on close().
   */
  db?: Database;
  clock?: Clock;
  /** How the webhook cache hears of changes made anywhere; tests pass one whose notices come late. */
  listenForInvalidations?: typeof listenForInvalidations;
}

export interface RunningServer {
  /** Where clients reach it, such as http://127.0.0.1:3000. */
  url: string;
  port: number;
  services: Services;
  /**
   * Drains: /readyz answers 503 at once, no new connection is accepted, requests in flight
   * finish (for up to SHUTDOWN_GRACE_MS), and then the database closes.
   */
  close(): Promise<void>;
}

/** A server that listens, and answers health checks, while it waits for its database. */
export interface StartingServer {
  url: string;
  port: number;
  /**
   * Settles once start-up is over: with the running server once the database answered and is
   * migrated, or with the reason it gave up (after which everything is closed already).
   */
  ready: Promise<RunningServer>;
  /** As RunningServer.close(); during the wait, it also stops waiting. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Without a host, Node listens on every interface (IPv6 and IPv4 where the machine has both).
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The URL a local client uses; an address that means "every interface" is reached on loopback. */
function urlOf({ address, family, port }: AddressInfo): string {
  if (address === '::' || address === '0.0.0.0') return `http://127.0.0.1:${port}`;
  return family === 'IPv6' ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

/** Stops accepting connections, and resolves once requests in flight finished or were cut off. */
function drain(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const forceClose = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    server.close(() => {
      clearTimeout(forceClose);
      resolve();
    });
  });
}

/**
 * Listens at once, answering /healthz (200) and /readyz (503) while it waits for the database,
 * so that a supervisor sees a live process instead of a crash loop. Then it migrates the
 * database, creates the bootstrap admin, starts the purge of dead sessions, and serves the API.
 * Everything it starts, close() stops.
 */
export async function launchServer({
  config,
  logger,
  db: givenDb,
  clock,
  listenForInvalidations: listenForChanges = listenForInvalidations,
}: ServerDeps): Promise<StartingServer> {
  const db = givenDb ?? openDatabase(config.database, logger);
  const closeDatabase = () => (givenDb ? Promise.resolve() : db.destroy());
  const metrics = createMetrics();
  let draining = false;
  const isDraining = () => draining;

  let handleRequest: RequestListener = createStartingApp({ config, logger, metrics, isDraining });
  const server = createServer((req, res) => handleRequest(req, res));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // While draining, a keep-alive connection is closed as soon as its last answer is written,
  // instead of lingering until the keep-alive timeout.
  server.on('request', (_req, res) => {
    res.once('finish', () => {
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  let address: AddressInfo;
  try {
    address = await listen(server, config.port, config.host);
  } catch (error) {
    await closeDatabase().catch(() => undefined);
    throw error;
  }
  const url = urlOf(address);

  let startedServices: Services | undefined;
  let listener: InvalidationListener | undefined;
  // Told when the database says sessions ended, once the OpenID Provider is there to tell apps.
  let sessionsEnded: () => void = () => undefined;
  // What it is sending: logouts taken from the queue are sent before the database closes.
  let backchannelDelivery: Promise<void> | undefined;
  const stopWaiting = new AbortController();
  const preparing = (async () => {
    await waitForDatabase(db, {
      database: givenDb ? 'the database given to startServer' : describeDatabase(config.database),
      timeoutSeconds: config.databaseWaitTimeoutSeconds,
      logger,
      signal: stopWaiting.signal,
    });
    stopWaiting.signal.throwIfAborted();
    const applied = await migrateToLatest(db);
    logger.info({ database: config.database.kind, migrations: applied }, 'database ready');

    const services = await createServices({ config, db, clock, logger });
    startedServices = services;
    const { generated, signsBeforeFetched } = await services.signingKeys.ensureSigningKey();
    if (generated) {
      logger.info(
        { kid: generated.kid, algorithm: generated.algorithm, signsFrom: generated.signsFrom.toISOString() },
        'generated a JWT signing key',
      );
    }
    if (signsBeforeFetched) {
      logger.warn(
        { kid: signsBeforeFetched.kid, fetchedBy: signsBeforeFetched.fetchedBy.toISOString() },
        'JWT_PRIVATE_KEY signs although it was published less than JWKS_MAX_AGE_SECONDS + 30 s ago: a Hasura ' +
          'that has not fetched the JWKS since may refuse its tokens until fetchedBy. ' +
          'JWT_NEXT_PRIVATE_KEY is the safe way to rotate: it signs only once every Hasura has fetched it',
      );
    }
    const cache = services.sessionCache;
    if (cache) {
      // The cache is trusted only while this instance hears of every change, from any instance.
      listener = listenForChanges(
        db,
        {
          sessionChanged: (sessionId) => {
            forget(cache, { session: sessionId });
            sessionsEnded();
          },
          userChanged: (userId) => {
            forget(cache, { user: userId });
            sessionsEnded();
          },
          listening: (lossless) => cache.enable({ lossless }),
          deaf: () => cache.disable(),
        },
        logger,
      );
    }
    if (config.admin.bootstrap) {
      const created = await services.bootstrapAdmin(config.admin.bootstrap);
      if (created) logger.info({ userId: created.id }, 'created the admin user from ADMIN_USERNAME');
    }
    return services;
  })();

  let purgeTimer: NodeJS.Timeout | undefined;
  let backchannelTimer: NodeJS.Timeout | undefined;
  let mailWorker: OutboxWorker | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      stopWaiting.abort(new Error('The server was closed while it waited for the database.'));
      clearInterval(purgeTimer);
      clearInterval(backchannelTimer);
      sessionsEnded = () => undefined;
      // A migration in flight finishes before the database closes under it.
      await Promise.all([drain(server), preparing.catch(() => undefined)]);
      await listener?.close();
      await backchannelDelivery;
      await mailWorker?.stop();
      await startedServices?.close();
      // Closing the database flushes an embedded PGlite to disk.
      await closeDatabase();
    })();
    return closing;
  };

  const ready = preparing
    .then((services): RunningServer => {
      if (draining) throw new Error('The server was closed during start-up.');
      const appDeps = { config, logger, services, metrics, isDraining };
      const openIdProvider = createOpenIdProvider(appDeps);
      handleRequest = createApp(appDeps, openIdProvider);
      if (openIdProvider) {
        sessionsEnded = () => {
          backchannelDelivery = openIdProvider.deliverBackchannelLogouts();
        };
        backchannelTimer = setInterval(sessionsEnded, BACKCHANNEL_POLL_MS);
        backchannelTimer.unref();
      }
      metrics.watchDatabase(db, {
        countLiveSessions: () => services.sessions.countLiveSessions(),
        pendingMail: () => services.mailOutbox.pending((clock ?? systemClock).now()),
        logger,
      });
      purgeTimer = setInterval(() => {
        services
          .purgeDeadSessions()
          .then((count) => count > 0 && logger.info({ count }, 'purged dead sessions'))
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge dead sessions'));
        services
          .purgeMailRecords()
          .then(({ tokens, mails }) => tokens + mails > 0 && logger.info({ tokens, mails }, 'purged mail records'))
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge mail records'));
      }, config.sessions.purgeIntervalSeconds * 1000);
      purgeTimer.unref();
      mailWorker = startMailWorker(config, services, { logger, clock, metrics });
      return { url, port: address.port, services, close };
    })
    .catch(async (error: unknown) => {
      await close();
      throw error;
    });
  return { url, port: address.port, ready, close };
}

/**
 * Starts sending the outbox, through SMTP_URL, or into the log in development. Without SMTP_URL
 * or PUBLIC_URL in production, mail waits in the outbox, and one warning says so.
 */
function startMailWorker(
  config: Config,
  services: Services,
  { logger, clock = systemClock, metrics }: { logger: Logger; clock?: Clock; metrics: Metrics },
): OutboxWorker | undefined {
  services.whenMailQueued(() => metrics.countMailQueued());
  const { mail } = config;
  const transport = mail.smtpUrl
    ? smtpTransport(mail.smtpUrl, mail.from)
    : mail.logInsteadOfSending
      ? loggingTransport(logger)
      : undefined;
  if (!transport || mail.publicUrl === null) {
    logger.warn(
      { missing: [...(transport ? [] : ['SMTP_URL']), ...(mail.publicUrl === null ? ['PUBLIC_URL'] : [])] },
      'mail is not sent: verification, password reset and notice mails wait in the outbox until SMTP_URL and PUBLIC_URL are set',
    );
    return undefined;
  }
  const worker = createOutboxWorker({
    store: services.mailOutbox,
    transport,
    context: { publicUrl: mail.publicUrl, productName: mail.productName },
    clock,
    logger,
    giveUpAfterSeconds: mail.giveUpAfterSeconds,
    onSent: () => metrics.countMailSent(),
    onGivenUp: () => metrics.countMailGivenUp(),
  });
  services.whenMailQueued(() => worker.wake());
  worker.start();
  return worker;
}

/** Launches the server and resolves once it is ready, for callers that have nothing to do meanwhile. */
export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const starting = await launchServer(deps);
  return starting.ready;
}
