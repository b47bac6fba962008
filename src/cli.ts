import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ConfigError, loadConfig } from './config';
import {
  DatabaseWaitTimeoutError,
  describeDatabase,
  migrateToLatest,
  openDatabase,
  waitForDatabase,
} from './db/database';
import { ADMIN_ROLE } from './domain/model';
import { AppError } from './errors';
import { createLogger } from './logger';
import { createServices } from './services';

/**
 * Operator commands. Passwords come from ADMIN_PASSWORD or stdin, never from arguments (they show
 * in `ps`). What a command reports goes to stdout as text; log lines (a bad setting, waiting for
 * the database, a failure) go to stderr as JSON, as the server writes them.
 */
const usage = `Usage:
  cli migrate                            apply pending migrations
  cli create-admin --username <name>     create a user holding the admin role;
                                         the password is read from ADMIN_PASSWORD, or else stdin
`;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

async function readPassword(io: CliIo): Promise<string> {
  if (io.env.ADMIN_PASSWORD) return io.env.ADMIN_PASSWORD;
  if (io.stdin.isTTY) io.stderr.write('Password (input is not hidden; pipe it in to keep it off screen): ');
  const lines = createInterface({ input: io.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

/** Runs one command and answers the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'migrate' && command !== 'create-admin') {
    io.stderr.write(usage);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }

  let logger = createLogger('info', io.stderr);
  let config;
  try {
    // ADMIN_USERNAME and ADMIN_PASSWORD configure the server's start-up admin; here the
    // password is this command's input, so it is not checked as configuration.
    const { ADMIN_USERNAME: _username, ADMIN_PASSWORD: _password, ...configEnv } = io.env;
    config = loadConfig(configEnv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.fatal({ problems: error.problems }, 'invalid configuration');
    return 2;
  }
  logger = createLogger(config.logLevel, io.stderr);

  const db = openDatabase(config.database, logger);
  try {
    // A release step (Heroku's, a compose job) may run while the database is still starting.
    await waitForDatabase(db, {
      database: describeDatabase(config.database),
      timeoutSeconds: config.databaseWaitTimeoutSeconds,
      logger,
    });
    const applied = await migrateToLatest(db);
    if (command === 'migrate') {
      io.stdout.write(applied.length > 0 ? `Applied: ${applied.join(', ')}\n` : 'Already up to date.\n');
      return 0;
    }

    const { values } = parseArgs({ args: rest, options: { username: { type: 'string' } } });
    if (!values.username) {
      io.stderr.write(usage);
      return 2;
    }
    const password = await readPassword(io);
    const services = await createServices({ config, db });
    try {
      const admin = await services.accounts.registerUser({
        username: values.username,
        password,
        grantedRoles: [ADMIN_ROLE],
      });
      io.stdout.write(`Created admin ${admin.username} with id ${admin.id}.\n`);
      return 0;
    } finally {
      await services.close();
    }
  } catch (error) {
    if (error instanceof AppError && error.status < 500) {
      io.stderr.write(`${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof DatabaseWaitTimeoutError) {
      logger.fatal(error.details, error.message);
      return 1;
    }
    throw error;
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      createLogger('info', process.stderr).fatal({ err: error }, 'the command failed');
      process.exit(1);
    },
  );
}
