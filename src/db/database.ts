import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { PGlite } from '@electric-sql/pglite';
import type { ClientConfig } from 'pg';
import type { DatabaseConfig } from '../config';
import type { Logger } from '../logger';
import { claimDataDir, releaseDataDir } from './data-dir-lock';
import { withClassifiedFailures } from './database-errors';
import { AUTH_SCHEMA, migrationsConfig } from './migrations';

export { migrateToLatest } from './migrations';

export type Database = Knex;

interface KnexPgliteClient {
  config: { connection?: unknown };
  pglite: PGlite;
  _driver(): void;
  destroyRawConnection(connection: unknown): Promise<void>;
  processResponse(obj: { method?: string }, runner: unknown): unknown;
  acquireConnection(): Promise<unknown>;
}
type KnexClientClass = new (config: Knex.Config) => KnexPgliteClient;

/** The data directory a PGlite connection config names, if it names one (not a live instance). */
function dataDirOf(connection: unknown): string | undefined {
  const filename = (connection as { filename?: unknown } | undefined)?.filename;
  return typeof filename === 'string' ? filename : undefined;
}

// PGlite's memory is mostly Postgres's shared buffers, 128 MB by default. Its files are real files,
// cached by the operating system, and the webhook answers most calls from its own cache, so a
// small buffer pool costs little and saves about 100 MB of resident memory.
const PGLITE_SETTINGS = ['shared_buffers = 16MB'];

/**
 * Runs initdb for a new data directory in a short-lived process of its own. initdb inside this
 * process would leave its peak in the resident memory for good (about 760 MB measured here,
 * where a server opening an existing directory holds about 180 MB): WebAssembly memory only grows.
 */
function initialiseDataDir(dataDir: string): Promise<void> {
  const script = `
    const [modulePath, dataDir, settings] = process.argv.slice(1);
    const { PGlite } = require(modulePath);
    const db = new PGlite(dataDir, { postgresqlconf: JSON.parse(settings) });
    db.waitReady.then(() => db.close()).catch((error) => {
      // PGlite's file system fails with objects such as { name: 'ErrnoError', errno: 54 }.
      console.error(error instanceof Error ? error.message : JSON.stringify(error));
      process.exitCode = 1;
    });`;
  const args = ['-e', script, require.resolve('@electric-sql/pglite'), dataDir, JSON.stringify(PGLITE_SETTINGS)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: {} }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`initdb of ${dataDir} failed: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

class PgliteClient extends (ClientPgLite as unknown as KnexClientClass) {
  // Settles once this.pglite is open: after initdb for a new data directory, and absent when it
  // opened at once. `declare`, because knex calls _driver() from its constructor, before an
  // initialised field would be set, and the initialiser would then overwrite it.
  declare private opened: Promise<void> | undefined;
  // Runs initdb again, for a data directory whose first initdb failed.
  declare private initialise: (() => Promise<void>) | undefined;

  // knex-pglite opens PGlite here, when knex is constructed: the data directory is claimed at
  // that moment, by whoever opens it (the service, the CLI, the knex CLI through knexfile.ts).
  override _driver(): void {
    const dataDir = dataDirOf(this.config.connection);
    if (dataDir === undefined) {
      super._driver();
      return;
    }
    fs.mkdirSync(dataDir, { recursive: true });
    claimDataDir(dataDir);
    const open = () => {
      this.pglite = new PGlite(dataDir, { postgresqlconf: PGLITE_SETTINGS });
    };
    if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) open();
    else {
      this.initialise = () => initialiseDataDir(dataDir).then(open);
      this.opened = this.initialise();
      // Reported to the queries that await it; not an unhandled rejection meanwhile.
      this.opened.catch(() => undefined);
    }
  }

  /** The embedded database, once it is open. */
  async embedded(): Promise<PGlite> {
    const attempt = this.opened;
    try {
      await attempt;
    } catch (error) {
      if (!this.initialise) throw error;
      // The last initdb failed (killed, out of memory, a full disk): this query runs it again,
      // once for all the queries waiting, rather than every query answering that failure until
      // the process restarts.
      if (this.opened === attempt) {
        this.opened = this.initialise();
        this.opened.catch(() => undefined);
      }
      await this.opened;
    }
    return this.pglite;
  }

  override async destroyRawConnection(connection: unknown): Promise<void> {
    await super.destroyRawConnection(connection);
    const dataDir = dataDirOf(this.config.connection);
    if (dataDir !== undefined) releaseDataDir(dataDir);
  }

  // PGlite starts (and, on a new data directory, runs initdb) inside the process, which can take
  // seconds on a loaded machine: that wait is no database that failed to answer, so it does not
  // count against the acquire timeout, which is for the one connection's queue.
  override async acquireConnection(): Promise<unknown> {
    const pglite = await this.embedded();
    await pglite.waitReady;
    return super.acquireConnection();
  }

  // knex-pglite derives the command from knex's method name, which for a delete is `del`, so
  // `.delete()` answered PGlite's raw result where pg answers the row count.
  override processResponse(obj: { method?: string }, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}
const pgliteClient = PgliteClient as unknown as typeof ClientPgLite;

/** knex's pool (tarn) as the metrics read it. */
export interface ConnectionPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  max: number;
}

/**
 * What openDatabase opened, as the rest of the service asks it: this is the one place that
 * looks at knex's client to tell. A PostgreSQL server is shared by every instance and LISTENs
 * on a connection of its own; embedded PGlite belongs to this process alone and notifies in it.
 */
export type OpenedDatabase =
  | {
      kind: 'pglite';
      sharedByInstances: false;
      embedded: () => Promise<PGlite>;
      pool: () => ConnectionPool | undefined;
    }
  | {
      kind: 'postgres';
      sharedByInstances: true;
      /** The connection settings, for a connection of its own outside the pool (LISTEN). */
      connection: ClientConfig;
      pool: () => ConnectionPool | undefined;
    };

export function openedDatabase(db: Database): OpenedDatabase {
  const client = db.client as { pool?: ConnectionPool; config: { connection?: unknown } };
  const pool = () => client.pool;
  return db.client instanceof PgliteClient
    ? { kind: 'pglite', sharedByInstances: false, embedded: () => (db.client as PgliteClient).embedded(), pool }
    : { kind: 'postgres', sharedByInstances: true, connection: client.config.connection as ClientConfig, pool };
}

/** Where the database lives: the configured target, or (for tests and embedding) a live PGlite. */
export type DatabaseTarget = DatabaseConfig | { kind: 'pglite-instance'; pglite: PGlite };

// Embedded PGlite runs in this process and has no statement timeout; a connection is still
// waited for no longer than this (one query runs at a time).
const PGLITE_ACQUIRE_TIMEOUT_MS = 5_000;

export function knexConfigFor(target: DatabaseTarget): Knex.Config {
  switch (target.kind) {
    case 'postgres':
      return {
        client: 'pg',
        connection: {
          connectionString: target.url,
          ssl: target.ssl === 'disable' ? false : { rejectUnauthorized: target.ssl === 'verify-full' },
          connectionTimeoutMillis: target.acquireTimeoutMs,
          // Sent at connection start-up, so it bounds every statement on every pooled connection,
          // including a wait for a lock that a stuck transaction holds.
          statement_timeout: target.statementTimeoutMs,
        },
        pool: { min: 0, max: target.poolMax },
        // Covers both the wait for a free pooled connection and the connection's start-up.
        acquireConnectionTimeout: target.acquireTimeoutMs,
        searchPath: [AUTH_SCHEMA],
        migrations: migrationsConfig,
      };
    case 'pglite':
      return {
        client: pgliteClient,
        connection: { filename: path.resolve(target.dataDir) },
        acquireConnectionTimeout: PGLITE_ACQUIRE_TIMEOUT_MS,
        searchPath: [AUTH_SCHEMA],
        migrations: migrationsConfig,
      };
    case 'pglite-instance':
      return {
        client: pgliteClient,
        connection: () => ({ pglite: target.pglite }) as object,
        acquireConnectionTimeout: PGLITE_ACQUIRE_TIMEOUT_MS,
        searchPath: [AUTH_SCHEMA],
        migrations: migrationsConfig,
      };
  }
}

/** Opens (lazily: nothing connects until the first query) the database the target names. */
export function openDatabase(target: DatabaseTarget, logger?: Logger): Database {
  // Claimed here, before knex constructs its client: knex would wrap a refusal from inside its
  // driver in "run npm install pg", hiding the reason. The driver's own claim is then a no-op.
  if (target.kind === 'pglite') {
    fs.mkdirSync(target.dataDir, { recursive: true });
    claimDataDir(target.dataDir);
  }
  const config = knexConfigFor(target);
  // knex otherwise writes its warnings with console.log, outside the structured log.
  if (logger) {
    config.log = {
      warn: (message: unknown) => {
        const text = String(message);
        // The failure that follows reaches its caller, which logs it once (a retry at start-up,
        // a 503 in a request); knex's own line about it would only repeat it.
        if (text.startsWith('Acquire connection error')) logger.debug({ knex: text }, 'database warning');
        else logger.warn({ knex: text }, 'database warning');
      },
      error: (message: unknown) => logger.error({ knex: String(message) }, 'database error'),
      // knex hands this its own sentence ("x is deprecated, please use y"), not the two names its
      // type declares.
      deprecate: (message: unknown) => logger.warn({ knex: String(message) }, 'knex deprecation'),
      debug: () => undefined,
    };
  }
  return knex(config);
}

/** Answers once the database answers a query; throws DATABASE_UNAVAILABLE when it cannot. */
export function createDatabaseProbe(db: Database) {
  return withClassifiedFailures({
    async ping(): Promise<void> {
      await db.raw('select 1');
    },
  });
}

// The first retry comes quickly (a database container often needs a second or two more than
// its health check says); later ones back off, so that many instances waiting on one server do
// not hammer it, but never so far that a database which came back waits long to be noticed.
const FIRST_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5_000;

/** Where the database is, for a log line: a PostgreSQL URL without its password. */
export function describeDatabase(target: DatabaseConfig): string {
  if (target.kind === 'pglite') return `embedded PGlite in ${path.resolve(target.dataDir)}`;
  const url = new URL(target.url);
  if (url.password) url.password = 'redacted';
  return url.toString();
}

/** Start-up gave up: the database did not answer within DATABASE_WAIT_TIMEOUT_SECONDS. */
export class DatabaseWaitTimeoutError extends Error {
  constructor(
    readonly details: { database: string; attempts: number; waitedSeconds: number; lastError: FailureSummary },
  ) {
    super(
      `Gave up waiting for the database after ${details.waitedSeconds} s and ${details.attempts} attempts ` +
        `(DATABASE_WAIT_TIMEOUT_SECONDS); last error: ${details.lastError.message}`,
    );
    this.name = 'DatabaseWaitTimeoutError';
  }
}

interface FailureSummary {
  code?: string;
  message: string;
}

/**
 * What a failed connection attempt says, for the log. The statement is `select 1`, so the
 * driver's message holds no value from a request; connection strings never appear in it.
 */
function summarize(error: unknown): FailureSummary {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  // An AggregateError (every address of a host refused) has an empty message of its own.
  const message = error.message || (error instanceof AggregateError ? String(error.errors[0]) : error.name);
  return typeof code === 'string' ? { code, message } : { message };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface DatabaseWait {
  /** Where the database is, for the log lines: never with a password (describeDatabase). */
  database: string;
  timeoutSeconds: number;
  logger: Logger;
  /** Stops the wait early, as a shutdown during start-up does; the wait rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Resolves once the database answers a query, retrying with capped exponential backoff and one
 * log line per failed attempt. Every failure is retried: a server that is still starting refuses
 * connections, and one whose init scripts have not run yet lacks the database or the role.
 * Rejects with a DatabaseWaitTimeoutError once the time is up.
 */
export async function waitForDatabase(db: Database, { database, timeoutSeconds, logger, signal }: DatabaseWait) {
  const startedAt = Date.now();
  const deadline = startedAt + timeoutSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.raw('select 1');
      if (attempt > 1) logger.info({ database, attempts: attempt }, 'the database answers');
      return;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const lastError = summarize(error);
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        const waitedSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
        throw new DatabaseWaitTimeoutError({ database, attempts: attempt, waitedSeconds, lastError });
      }
      const backoffMs = Math.min(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      // Up to half of it at random, so that instances started together do not retry in step.
      const retryInMs = Math.min(Math.round(backoffMs * (0.5 + Math.random() / 2)), remainingMs);
      logger.warn(
        { database, attempt, retryInMs, remainingMs, error: lastError },
        'the database does not answer yet; retrying',
      );
      await sleep(retryInMs, signal);
    }
  }
}
