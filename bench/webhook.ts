/**
 * Webhook throughput, as ratios against a bare Express app that answers the same JSON in the
 * same run, so that the figures compare across machines. Runs on embedded PGlite, or on
 * PostgreSQL when BENCH_DATABASE_URL is set.
 *
 *   npm run bench
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startServer } from '../src/server';

const DURATION_SECONDS = Number(process.env.BENCH_DURATION_SECONDS ?? 5);
const CONNECTIONS = 10;
// The load comes from a worker thread, so it does not share the event loop it measures.

function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

async function measure(url: string, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET', body?: string) {
  const result = await autocannon({
    url,
    method,
    headers,
    body,
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    workers: 1,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

async function main(): Promise<void> {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-bench-'));
  const config = loadConfig({
    BCRYPT_COST: '4',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
  });
  // Logging stays on, as in production, but goes nowhere.
  const logger = createLogger('info', pino.destination('/dev/null'));
  const service = await startServer({ config, logger });
  const { services } = service;
  const user = await services.accounts.registerUser({ username: `bench-${Date.now()}`, password: 'bench password' });
  const { token } = await services.sessions.createSession(user, 'bench');

  const bare = express();
  bare.disable('x-powered-by');
  const staticAnswer = { 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': String(user.id), 'Cache-Control': 'max-age=60' };
  bare.get('/webhook', (_req, res) => void res.json(staticAnswer));

  const baseline = await listen(bare);
  const auth = { Authorization: `Bearer ${token}` };
  const postBody = JSON.stringify({ headers: auth, request: { query: '{ me { id } }' } });

  const rows: { scenario: string; requestsPerSecond: number; p50Ms: number; p99Ms: number; ratio?: string }[] = [];
  const base = await measure(`${baseline.url}/webhook`, {});
  rows.push({ scenario: 'bare Express, static JSON (baseline)', ...base, ratio: '1.00' });
  for (const [scenario, run] of [
    ['GET /webhook, bearer token', () => measure(`${service.url}/webhook`, auth)],
    [
      'POST /webhook, bearer token',
      () => measure(`${service.url}/webhook`, { 'Content-Type': 'application/json' }, 'POST', postBody),
    ],
    ['GET /webhook, anonymous', () => measure(`${service.url}/webhook`, {})],
  ] as const) {
    const result = await run();
    rows.push({ scenario, ...result, ratio: (result.requestsPerSecond / base.requestsPerSecond).toFixed(2) });
  }

  console.log(
    `database: ${databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}; ${CONNECTIONS} connections, ${DURATION_SECONDS} s each`,
  );
  console.table(rows);
  baseline.server.close();
  await service.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
