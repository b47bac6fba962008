/**
 * One server under test, in a process of its own, started by bench/webhook.ts:
 *
 *   node -r sucrase/register/ts bench/server.ts <node|express|service> [options as JSON]
 *
 * It reports over IPC: `{url, tokens}` once listening, and its CPU time and peak RSS on request,
 * so that the figures are this process's alone, apart from the load generator's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcrypt';
import express from 'express';
import pino from 'pino';

interface ServiceOptions {
  databaseUrl?: string;
  dataDir: string;
  sessions: number;
  tokenCount: number;
  bcryptCost: number;
}

// The same answer the service gives a signed-in user.
const ANSWER = { 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': '1', 'Cache-Control': 'max-age=60' };

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

async function startBareNode(): Promise<{ url: string }> {
  const body = JSON.stringify(ANSWER);
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  return { url: await listen(server) };
}

async function startBareExpress(): Promise<{ url: string }> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/webhook', (_req, res) => void res.json(ANSWER));
  return { url: await listen(createServer(app)) };
}

/** The compiled service, through startServer, with sessions seeded by SQL rather than by bcrypt. */
async function startService(options: ServiceOptions): Promise<{ url: string; tokens: string[]; hashMs: number }> {
  /* eslint-disable @typescript-eslint/no-require-imports -- the compiled service, as production runs it */
  const { loadConfig } = require('../dist/src/config') as typeof import('../src/config');
  const { createLogger } = require('../dist/src/logger') as typeof import('../src/logger');
  const { startServer } = require('../dist/src/server') as typeof import('../src/server');
  const { openDatabase } = require('../dist/src/db/database') as typeof import('../src/db/database');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const config = loadConfig({
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    BCRYPT_COST: String(options.bcryptCost),
    // The load comes from one address and hits few accounts: the limits would answer 429 at once,
    // and the login scenarios measure bcrypt, not the limiter.
    LOGIN_LIMIT_PER_IP: 'off',
    LOGIN_FAILURE_LIMIT_PER_USER_IP: 'off',
    LOGIN_FAILURE_LIMIT_PER_USERNAME: 'off',
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: options.dataDir,
  });
  const db = openDatabase(config.database);
  // Logging stays on at the production level, but goes nowhere.
  const service = await startServer({ config, logger: createLogger('info', pino.destination('/dev/null')), db });
  const tokens = await seedSessions(db, options);
  const started = process.hrtime.bigint();
  await service.services.accounts.registerUser({ username: `bench-${Date.now()}`, password: 'bench password 1' });
  const hashMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { url: service.url, tokens, hashMs };
}

/**
 * `sessions` live sessions in all, of which `tokenCount` have tokens the load uses (one user
 * each); the rest fill the table. Tokens are made with the key the service made.
 */
async function seedSessions(db: import('../src/db/database').Database, options: ServiceOptions): Promise<string[]> {
  const { createSessionTokens, hashSessionToken } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled service's own
    require('../dist/src/domain/tokens') as typeof import('../src/domain/tokens');
  const row = await db('server_secrets')
    .select('secret')
    .where({ name: 'session-token-mac' })
    .first<{ secret: Uint8Array }>();
  const tokens = createSessionTokens({ key: Buffer.from(row.secret), legacyTokensMayExist: () => false });
  const expires = new Date(Date.now() + 86400_000);
  // A real hash at the real cost, so that a login against these users costs what it costs.
  const passwordHash = bcrypt.hashSync('bench password 1', options.bcryptCost);
  await db.raw(
    `insert into users (username, username_key, password_hash)
     select 'load-' || n, 'load-' || n, ? from generate_series(1, ?) as n`,
    [passwordHash, options.tokenCount],
  );
  const users = await db('users').select('id').where('username', 'like', 'load-%').orderBy('id');
  const issued = users.map(() => tokens.generate());
  for (let start = 0; start < issued.length; start += 500) {
    await db('sessions').insert(
      issued.slice(start, start + 500).map((token, index) => ({
        id: db.raw('gen_random_uuid()'),
        token_hash: hashSessionToken(token),
        user_id: (users[start + index] as { id: number }).id,
        created_at: new Date(),
        last_used_at: new Date(),
        expires_at: expires,
        token_mac: true,
      })),
    );
  }
  const filler = options.sessions - issued.length;
  if (filler > 0) {
    await db.raw(
      `insert into sessions (id, token_hash, user_id, created_at, last_used_at, expires_at, token_mac)
       select gen_random_uuid(), md5(n::text || random()::text) || md5(random()::text), ?, now(), now(), ?, true
       from generate_series(1, ?) as n`,
      [(users[0] as { id: number }).id, expires, filler],
    );
  }
  await db.raw('analyze sessions');
  return issued;
}

let peakRss = 0;
const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
sample.unref();

async function main(): Promise<void> {
  const [kind, optionsJson] = process.argv.slice(2);
  const started =
    kind === 'node'
      ? await startBareNode()
      : kind === 'express'
        ? await startBareExpress()
        : await startService(JSON.parse(optionsJson) as ServiceOptions);
  process.on('message', (message: { type: string }) => {
    if (message.type === 'reset') peakRss = process.memoryUsage.rss();
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      process.send!({ type: 'stats', cpuMicros: cpu.user + cpu.system, peakRss });
    }
  });
  process.send!({ type: 'ready', ...started });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
