import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migrateToLatest, openDatabase } from '../../src/db/database';
import { provideOpenIdProvider } from './openid-provider.mjs';

/**
 * Migrates one PGlite once and dumps its data directory. Every suite then loads a copy of the
 * dump, which is several times faster than starting and migrating a fresh instance.
 */
export default async function setUpPgliteTemplate(): Promise<void> {
  await provideOpenIdProvider();
  // A process that runs Jest again and again (Stryker's runner, once per mutant) keeps the dump
  // it made the first time: a fresh PGlite per run would cost more than most mutants' tests.
  const made = process.env.PGLITE_TEMPLATE_DUMP;
  if (made !== undefined && fs.existsSync(made)) return;
  const pglite = new PGlite();
  // Started before knex asks for a connection: on a starved CPU, starting PGlite can take longer
  // than the service's 5 s acquire timeout, which is meant for a database that does not answer.
  await pglite.waitReady;
  const db = openDatabase({ kind: 'pglite-instance', pglite });
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  const file = path.join(os.tmpdir(), `hasura-auth-pglite-template-${process.pid}.tar`);
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await db.destroy();
  process.env.PGLITE_TEMPLATE_DUMP = file;
}
