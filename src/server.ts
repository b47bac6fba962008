import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import type { Config } from './config';
import { migrateToLatest, openDatabase, type Database } from './db/database';
import type { Clock } from './domain/model';
import type { Logger } from './logger';
import { createServices, type Services } from './services';

// Longer than the idle timeouts of common load balancers (Heroku's router, ALB: 60 s), so that
// they, not we, close idle keep-alive connections and no request races a closing socket.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Requests still running this long after close() are cut off: a supervisor's patience is finite
// (Heroku sends SIGKILL 30 s after SIGTERM).
const SHUTDOWN_GRACE_MS = 10_000;

export interface ServerDeps {
  config: Config;
  logger: Logger;
  /**
   * A database that the caller opened and will close itself. Without one, the server opens
   * the database that config.database names, and closes it on close().
   */
  db?: Database;
  clock?: Clock;
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

/**
 * Brings the service up: migrates the database, creates the bootstrap admin, starts the purge
 * of dead sessions, and listens. Everything it starts, close() stops.
 */
export async function startServer({ config, logger, db: givenDb, clock }: ServerDeps): Promise<RunningServer> {
  const db = givenDb ?? openDatabase(config.database, logger);
  const closeDatabase = () => (givenDb ? Promise.resolve() : db.destroy());
  let purgeTimer: NodeJS.Timeout | undefined;
  try {
    const applied = await migrateToLatest(db);
    logger.info({ database: config.database.kind, migrations: applied }, 'database ready');

    const services = createServices({ config, db, clock });
    const generatedKey = await services.signingKeys.ensureSigningKey();
    if (generatedKey) {
      logger.info(
        { kid: generatedKey.kid, algorithm: generatedKey.algorithm, signsFrom: generatedKey.signsFrom.toISOString() },
        'generated a JWT signing key',
      );
    }
    if (config.admin.bootstrap) {
      const created = await services.bootstrapAdmin(config.admin.bootstrap);
      if (created) logger.info({ userId: created.id }, 'created the admin user from ADMIN_USERNAME');
    }

    let draining = false;
    const server = createServer(createApp({ config, logger, services, isDraining: () => draining }));
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // While draining, a keep-alive connection is closed as soon as its last answer is written,
    // instead of lingering until the keep-alive timeout.
    server.on('request', (_req, res) => {
      res.once('finish', () => {
        if (draining) setImmediate(() => server.closeIdleConnections());
      });
    });
    const address = await listen(server, config.port, config.host);

    purgeTimer = setInterval(() => {
      services.sessions
        .purgeDeadSessions()
        .then((count) => count > 0 && logger.info({ count }, 'purged dead sessions'))
        .catch((error: unknown) => logger.warn({ err: error }, 'could not purge dead sessions'));
    }, config.sessions.purgeIntervalSeconds * 1000);
    purgeTimer.unref();

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        draining = true;
        clearInterval(purgeTimer);
        await new Promise<void>((resolve) => {
          const forceClose = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
          server.close(() => {
            clearTimeout(forceClose);
            resolve();
          });
        });
        // Closing the database flushes an embedded PGlite to disk.
        await closeDatabase();
      })();
      return closing;
    };
    return { url: urlOf(address), port: address.port, services, close };
  } catch (error) {
    clearInterval(purgeTimer);
    await closeDatabase().catch(() => undefined);
    throw error;
  }
}
