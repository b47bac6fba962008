import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli';
import type { Env } from '../../src/config';
import { createTestDatabase } from './database';
import { silentLogger } from './logs';

/** Runs one CLI command in this process, with no stdin, and answers its exit code and output. */
export async function runCliCapturing(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk) => (stdout += String(chunk)));
  err.on('data', (chunk) => (stderr += String(chunk)));
  const code = await runCli(argv, { env, stdin: Readable.from([]), stdout: out, stderr: err });
  return { code, stdout, stderr };
}

/**
 * A database of its own for CLI commands, which open theirs from configuration: a PostgreSQL
 * database in the postgres project, a PGlite data directory otherwise.
 */
export async function cliDatabase(): Promise<{ env: Env; dispose: () => Promise<void> }> {
  if (globalThis.TEST_DATABASE_KIND === 'postgres') {
    const database = await createTestDatabase(silentLogger());
    return { env: { DATABASE_URL: database.env.DATABASE_URL }, dispose: () => database.dispose() };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-cli-'));
  return { env: { DATA_DIR: dataDir }, dispose: () => fs.promises.rm(dataDir, { recursive: true, force: true }) };
}
