import { ConfigError, loadConfig } from './config';
import { DatabaseWaitTimeoutError } from './db/database';
import { createLogger, wantsReadableLogs } from './logger';
import { launchServer, type StartingServer } from './server';
import { missingServiceNodeFlags } from './v8-settings';

/**
 * The process: reads the environment, starts the server, and stops it on a signal or a fault.
 * Every line it writes is a log line, from the first (a bad setting) to the last: JSON, or
 * readable at a developer's terminal (LOG_FORMAT).
 */

// Until the configuration names a level: a start that fails this early is logged all the same.
let logger = createLogger('info');
let server: StartingServer | undefined;
let stopping = false;

// A shutdown that hangs (a database that never answers the close) still ends the process.
const EXIT_DEADLINE_MS = 20_000;

/** Drains whatever runs, then exits with the code: 0 for a signal, 1 for a fault. */
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code === 0 ? 1 : code), EXIT_DEADLINE_MS).unref();
  (server?.close() ?? Promise.resolve()).then(
    () => process.exit(code),
    (error: unknown) => {
      logger.error({ err: error }, 'could not shut down cleanly');
      process.exit(1);
    },
  );
}

// Express hands a rejection inside a request to its error handler, which answers 500; one that
// arrives here came from outside any request, and leaves the process in a state nobody checked.
// Exiting non-zero lets the supervisor (Heroku, Docker, Kubernetes) start a clean one.
process.on('unhandledRejection', (reason: unknown) => {
  logger.fatal({ err: reason }, 'unhandled promise rejection outside a request; exiting');
  stop(1);
});
process.on('uncaughtException', (error: Error) => {
  logger.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(1);
});

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal({ problems: error.problems }, 'invalid configuration');
      process.exit(1);
    }
    throw error;
  }
  logger = createLogger(config.logLevel, undefined, {
    readable: wantsReadableLogs(config.logFormat, {
      production: config.production,
      terminal: process.stdout.isTTY === true,
    }),
  });
  const missingFlags = missingServiceNodeFlags();
  if (missingFlags.length > 0) {
    logger.warn(
      { missing: missingFlags },
      'started without the node flags of `npm start`: memory use may be higher (with embedded PGlite, ' +
        'much higher); start it with `npm start`, or `node <the flags> dist/src/main.js`',
    );
  }
  server = await launchServer({ config, logger });
  const where = { url: server.url, host: config.host ?? 'all interfaces', port: server.port };
  logger.info(where, 'listening');

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    stop(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  await server.ready;
  logger.info(where, 'ready');
}

main().catch((error: unknown) => {
  // A shutdown during start-up ends the wait; stop() exits.
  if (stopping) return;
  if (error instanceof DatabaseWaitTimeoutError) logger.fatal(error.details, error.message);
  else logger.fatal({ err: error }, 'could not start');
  process.exit(1);
});
