import { z } from 'zod';
import { integer } from './settings';

/** Where the data lives: a PostgreSQL server, or embedded PGlite in a data directory. */

export const databaseSettings = {
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_SSL: z.enum(['disable', 'no-verify', 'verify-full']).default('disable'),
  DATABASE_POOL_MAX: integer(1, 1000).default(10),
  // How long start-up keeps retrying a database that does not answer yet before it gives up.
  DATABASE_WAIT_TIMEOUT_SECONDS: integer(0, 86400).default(60),
  // Short, so that a stuck database fails a request within seconds (a 503) instead of holding it
  // until Hasura's own 30 s webhook timeout.
  DATABASE_STATEMENT_TIMEOUT_MS: integer(10, 10 * 60_000).default(10_000),
  DATABASE_ACQUIRE_TIMEOUT_MS: integer(10, 10 * 60_000).default(5_000),
  DATA_DIR: z.string().default('./data'),
};

export type DatabaseConfig =
  | {
      kind: 'postgres';
      url: string;
      ssl: 'disable' | 'no-verify' | 'verify-full';
      poolMax: number;
      /** Longest a statement may run (PostgreSQL's statement_timeout), and wait for a pooled connection. */
      statementTimeoutMs: number;
      acquireTimeoutMs: number;
    }
  | { kind: 'pglite'; dataDir: string };

export function databaseConfig(env: z.output<z.ZodObject<typeof databaseSettings>>) {
  const database: DatabaseConfig = env.DATABASE_URL
    ? {
        kind: 'postgres',
        url: env.DATABASE_URL,
        ssl: env.DATABASE_SSL,
        poolMax: env.DATABASE_POOL_MAX,
        statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
        acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
      }
    : { kind: 'pglite', dataDir: env.DATA_DIR };
  return { database, databaseWaitTimeoutSeconds: env.DATABASE_WAIT_TIMEOUT_SECONDS };
}
