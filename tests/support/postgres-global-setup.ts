import { migrateToLatest, openDatabase } from '../../src/db/database';
import { provideOpenIdProvider } from './openid-provider.mjs';
import {
  TEMPLATE_DATABASE,
  TEST_DATABASE_PREFIX,
  dropTestDatabases,
  testDatabaseTarget,
  withAdminClient,
} from './postgres';

/** Builds one migrated template database; each suite gets a fresh copy of it. */
export default async function setUpPostgresTemplate(): Promise<void> {
  await provideOpenIdProvider();
  await withAdminClient(async (client) => {
    await dropTestDatabases(client, TEST_DATABASE_PREFIX);
    await client.query(`create database "${TEMPLATE_DATABASE}"`);
  });
  const db = openDatabase(testDatabaseTarget(TEMPLATE_DATABASE, 1));
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
