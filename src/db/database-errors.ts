/**
 * Tells infrastructure failures (the database cannot be reached or has gone away) from every
 * other error, so that they become 503 and never 401: a client told "unauthorized" during an
 * outage would throw away a perfectly good token.
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
// 3D000 database missing, 28 authentication failure, 55000 database not accepting connections.
const unavailableSqlState = /^(08|53|57P|3D000|28|55000)/;

const unavailableMessages = [
  'Unable to acquire a connection',
  'Connection terminated',
  'Client has encountered a connection error',
  'PGlite is closed',
  'timeout exceeded when trying to connect',
];

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'KnexTimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (unavailableNodeCodes.has(code) || unavailableSqlState.test(code))) {
    return true;
  }
  if (unavailableMessages.some((message) => error.message.includes(message))) return true;
  return error.cause !== undefined && isDatabaseUnavailable(error.cause);
}

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23503';
}
