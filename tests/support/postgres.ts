import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig, type DatabaseConfig } from '../../src/config';

/**
 * Every database the suites create starts with this, so stale ones are easy to find and drop.
 * It is derived from the database TEST_DATABASE_URL names, so that two runs against one server (CI's
 * throwaway database and a developer's `test`) never drop each other's databases.
 */
const targetDatabase = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://localhost/').pathname;
export const TEST_DATABASE_PREFIX = `hasura_auth_test_${createHash('sha256').update(targetDatabase).digest('hex').slice(0, 8)}_`;
export const TEMPLATE_DATABASE = `${TEST_DATABASE_PREFIX}template`;

export function testDatabaseUrl(database?: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL!);
  if (database) url.pathname = `/${database}`;
  return url.toString();
}

/** The database settings the service would read for this database, with its defaults for the rest. */
export function testDatabaseTarget(database: string, poolMax: number): DatabaseConfig {
  return loadConfig({ DATABASE_URL: testDatabaseUrl(database), DATABASE_POOL_MAX: String(poolMax) }).database;
}

/** Runs statements on the server that TEST_DATABASE_URL names, as its maintenance connection. */
export async function withAdminClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function dropTestDatabases(client: Client, prefix: string): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(
    'select datname from pg_database where starts_with(datname, $1)',
    [prefix],
  );
  for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
}
