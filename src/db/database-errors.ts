import { AppError } from '../errors';

/**
 * The database layer's own reading of its failures. Driver and SQLSTATE codes stay in this
 * folder: what leaves a repository is either a result or an AppError that says what went wrong
 * in the service's words.
 *
 * An infrastructure failure (the database cannot be reached or has gone away) becomes
 * DATABASE_UNAVAILABLE, a 503, and never a 401: a client told "unauthorized" during an outage
 * would throw away a perfectly good token.
 */
const unavailableNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

// SQLSTATE: 08 connection exception, 53 insufficient resources, 57P admin/crash shutdown,
// 3D000 database missing, 28 authentication failure, 55000 database not accepting connections,
// 57014 a statement cancelled by statement_timeout (the database is stuck, as far as the client
// can tell), 55P03 a lock not obtained within lock_timeout.
const unavailableSqlState = /^(08|53|57P|57014|55P03|3D000|28|55000)/;

const unavailableMessages = [
  'Unable to acquire a connection',
  'Connection terminated',
  'Client has encountered a connection error',
  'PGlite is closed',
  'timeout exceeded when trying to connect',
];

function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'KnexTimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (unavailableNodeCodes.has(code) || unavailableSqlState.test(code))) {
    return true;
  }
  if (unavailableMessages.some((message) => error.message.includes(message))) return true;
  return error.cause !== undefined && isDatabaseUnavailable(error.cause);
}

const sqlStateOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/** A unique index refused a row: any index, or the one named. */
export const isUniqueViolation = (error: unknown, index?: string) =>
  sqlStateOf(error) === '23505' &&
  (index === undefined || (error as { constraint?: unknown } | null)?.constraint === index);

export const isForeignKeyViolation = (error: unknown) => sqlStateOf(error) === '23503';

// SQLSTATE 22021 (a byte sequence the encoding cannot hold: NUL in text) and 22P05 (a character
// jsonb cannot hold: \u0000). Both are values a client sent.
const unstorableTextSqlStates = new Set(['22021', '22P05']);

/**
 * A driver error reduced to what a log may carry: the statement with its placeholders, the
 * SQLSTATE, the names of the schema objects involved, and where it was thrown. The rest can hold
 * the statement's values, which are usernames and token hashes: PGlite attaches `params`, pg's
 * `detail` quotes a conflicting key, and PostgreSQL's own message quotes a value it could not read
 * (`invalid input syntax for type integer: "…"`).
 */
class DatabaseError extends Error {
  readonly code: string | undefined;

  constructor(error: unknown) {
    const original = error instanceof Error ? error : new Error(String(error));
    const fields = original as { code?: unknown; table?: unknown; column?: unknown; constraint?: unknown };
    const code = typeof fields.code === 'string' ? fields.code : undefined;
    // knex prefixes the driver's message with the statement: `<sql> - <message>`.
    const statement = original.message.includes(' - ') ? original.message.split(' - ')[0] : undefined;
    const names = (['table', 'column', 'constraint'] as const)
      .filter((name) => typeof fields[name] === 'string')
      .map((name) => `${name} ${String(fields[name])}`);
    super([statement, `SQLSTATE ${code ?? 'unknown'}`, ...names].filter(Boolean).join(' - '));
    this.name = 'DatabaseError';
    this.code = code;
    const frames = (original.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
    this.stack = [`${this.name}: ${this.message}`, ...frames].join('\n');
  }
}

/**
 * The error a repository lets out: an outage as DATABASE_UNAVAILABLE, a value the database cannot
 * store as VALIDATION_FAILED, anything else as a DatabaseError without the statement's values.
 */
function classifyDatabaseFailure(error: unknown): Error {
  if (error instanceof AppError) return error;
  const cause = new DatabaseError(error);
  if (isDatabaseUnavailable(error)) return new AppError('DATABASE_UNAVAILABLE', { cause });
  if (typeof cause.code === 'string' && unstorableTextSqlStates.has(cause.code)) {
    return new AppError('VALIDATION_FAILED', {
      message: 'The request holds a character that cannot be stored.',
      cause,
    });
  }
  return cause;
}

type AsyncMethods<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? T[K] : never };

/** Wraps every method of a repository so that its failures leave it classified. */
export function withClassifiedFailures<T extends AsyncMethods<T>>(repository: T): T {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, method] of Object.entries(repository) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = (...args: unknown[]) =>
      method(...args).catch((error: unknown) => {
        throw classifyDatabaseFailure(error);
      });
  }
  return wrapped as T;
}
