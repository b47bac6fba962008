import type { Server } from 'node:http';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { migrateToLatest, openDatabase } from './db/database';
import { createLogger } from './logger';
import { createServices } from './services';
import { ensureBootstrapAdmin } from './domain/bootstrap';

// Longer than the idle timeouts of common load balancers (Heroku's router, ALB: 60 s), so that
// they, not we, close idle keep-alive connections and no request races a closing socket.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const db = openDatabase(config.database, logger);
  const applied = await migrateToLatest(db);
  logger.info({ database: config.database.kind, migrations: applied }, 'database ready');

  const services = createServices({ config, db });
  if (config.admin.bootstrap) {
    const created = await ensureBootstrapAdmin(services.accounts, config.admin.bootstrap);
    if (created) logger.info({ userId: created.id }, 'created the admin user from ADMIN_USERNAME');
  }

  const purgeTimer = setInterval(() => {
    services.sessions
      .purgeDeadSessions()
      .then((count) => count > 0 && logger.info({ count }, 'purged dead sessions'))
      .catch((error: unknown) => logger.warn({ err: error }, 'could not purge dead sessions'));
  }, config.sessions.purgeIntervalSeconds * 1000);
  purgeTimer.unref();

  const app = createApp({ config, logger, services });
  // Express 5 calls this with the error when listening fails (a port in use, say).
  const onListening = (error?: Error) => {
    if (error) {
      logger.fatal({ err: error }, 'could not listen');
      process.exit(1);
    }
    logger.info({ port: config.port, host: config.host ?? 'all interfaces' }, 'listening');
  };
  // Without HOST, Node picks all interfaces itself (IPv6 and IPv4 where the machine has both).
  const server: Server = config.host ? app.listen(config.port, config.host, onListening) : app.listen(config.port, onListening);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    clearInterval(purgeTimer);
    setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    server.close(() => {
      // Closing the database flushes an embedded PGlite to disk.
      db.destroy().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'could not close the database');
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('fatal:', error);
  process.exit(1);
});
