import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
  type RateLimiterAbstract,
  type RateLimiterStoreAbstract,
} from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { AttemptCount, AttemptCounter, AttemptCounterStore, AttemptLimit } from '../domain/ports';
import { openedDatabase, type Database } from './database';
import { withClassifiedFailures } from './database-errors';
import { AUTH_SCHEMA } from './migrations';

/** Created by the migration 20261201000100_rate_limit_counters. */
const COUNTERS_TABLE = 'rate_limit_counters';

function retryAfterSeconds(refusal: RateLimiterRes): number {
  return Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
}

/**
 * A counter whose store failed does not count, so it must not admit either: every failure
 * leaves as DATABASE_UNAVAILABLE (a 503), whatever the database said, and never as a 500 or
 * as "admitted".
 */
function refusingOnFailure<T>(work: () => Promise<T>): Promise<T> {
  return withClassifiedFailures({ work })
    .work()
    .catch((error: unknown) => {
      throw error instanceof AppError && error.code === 'DATABASE_UNAVAILABLE'
        ? error
        : new AppError('DATABASE_UNAVAILABLE', { cause: error });
    });
}

function attemptCounter(limiter: RateLimiterAbstract, limit: AttemptLimit): AttemptCounter {
  return {
    count: (key) =>
      refusingOnFailure(async (): Promise<AttemptCount> => {
        try {
          await limiter.consume(key);
          return { admitted: true };
        } catch (refusal) {
          // The library rejects with its result when the limit is exceeded, and with an Error
          // when the store failed.
          if (refusal instanceof RateLimiterRes)
            return { admitted: false, retryAfterSeconds: retryAfterSeconds(refusal) };
          throw refusal;
        }
      }),
    isCounted: (key) => refusingOnFailure(async () => (await limiter.get(key)) !== null),
    markSeen: (key) =>
      refusingOnFailure(async () => {
        await limiter.set(key, 1, limit.windowSeconds);
      }),
    reset: (key) =>
      refusingOnFailure(async () => {
        await limiter.delete(key);
      }),
    uncount: (key) =>
      refusingOnFailure(async () => {
        await limiter.reward(key, 1);
      }),
  };
}

/**
 * The counters of the rate limits: in the auth schema's table on PostgreSQL, where every
 * instance shares them; in memory on embedded PGlite, which one process at a time can open.
 */
export function createAttemptCounterStore(db: Database): AttemptCounterStore {
  const shared = openedDatabase(db).sharedByInstances;
  // Stryker disable next-line BooleanLiteral: which limiter purges is unobservable in a test: the library purges every five minutes.
  let purging = true;
  return (limitName, limit) => {
    const options = { keyPrefix: limitName, points: limit.attempts, duration: limit.windowSeconds };
    if (!shared) return attemptCounter(new RateLimiterMemory(options), limit);
    const limiter: RateLimiterStoreAbstract = new RateLimiterPostgres({
      ...options,
      storeClient: db,
      storeType: 'knex',
      schemaName: AUTH_SCHEMA,
      tableName: COUNTERS_TABLE,
      // Stryker disable next-line BooleanLiteral: false would have the library create the table if missing, which the migration did.
      tableCreated: true,
      // The library deletes every expired row of the table every five minutes; one limiter
      // doing it is enough, as they share the table.
      clearExpiredByTimeout: purging,
    });
    // Stryker disable next-line BooleanLiteral: as above.
    purging = false;
    return attemptCounter(limiter, limit);
  };
}
