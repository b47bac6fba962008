import { TEST_DATABASE_PREFIX, dropTestDatabases, withAdminClient } from './postgres';

export default async function dropPostgresTestDatabases(): Promise<void> {
  await withAdminClient((client) => dropTestDatabases(client, TEST_DATABASE_PREFIX));
}
