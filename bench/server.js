// @ts-check
/**
 * One server under test, in a process of its own, started by bench/webhook.ts:
 *
 *   node bench/server.js <node|express|service> [options as JSON]
 *
 * It reports over IPC: `{url, tokens}` once listening, and its CPU time and peak RSS on request,
 * so that the figures are this process's alone, apart from the load generator's.
 *
 * Plain JavaScript (type-checked through JSDoc), so that the process holds only what production
 * holds: a TypeScript loader here would add its own 10 MB to the service's measured RSS.
 */
const { createServer } = require('node:http');
const path = require('node:path');

/**
 * A module of the compiled service. The path is computed so that the type checker does not take
 * its types from the emitted JavaScript: each caller names the TypeScript source in a type annotation.
 * @param {string} name
 * @returns {any}
 */
const compiled = (name) => require(path.join(__dirname, '..', 'dist', 'src', name));

/**
 * @typedef {object} ServiceOptions
 * @property {string} [databaseUrl]
 * @property {string} dataDir
 * @property {number} sessions
 * @property {number} tokenCount
 * @property {number} bcryptCost
 */

// The same answer the service gives a signed-in user.
const ANSWER = { 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': '1', 'Cache-Control': 'max-age=60' };

/**
 * @param {import('node:http').Server} server
 * @returns {Promise<string>}
 */
function listen(server) {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

/** @returns {Promise<{url: string}>} */
async function startBareNode() {
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

/** @returns {Promise<{url: string}>} */
async function startBareExpress() {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  app.get('/webhook', (_req, res) => void res.json(ANSWER));
  return { url: await listen(createServer(app)) };
}

/**
 * The compiled service, through startServer, with sessions seeded by SQL rather than by bcrypt.
 * @param {ServiceOptions} options
 * @returns {Promise<{url: string, tokens: string[], hashMs: number}>}
 */
async function startService(options) {
  // The compiled service, as production runs it.
  /** @type {typeof import('../src/config')} */
  const { loadConfig } = compiled('config');
  /** @type {typeof import('../src/logger')} */
  const { createLogger } = compiled('logger');
  /** @type {typeof import('../src/server')} */
  const { startServer } = compiled('server');
  /** @type {typeof import('../src/db/database')} */
  const { openDatabase } = compiled('db/database');
  const pino = require('pino');
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
  const tokens = await seedSessions(db, options, config.sessions.touchIntervalSeconds);
  const started = process.hrtime.bigint();
  await service.services.accounts.registerUser({ username: `bench-${Date.now()}`, password: 'bench password 1' });
  const hashMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { url: service.url, tokens, hashMs };
}

/**
 * `sessions` live sessions in all, of which `tokenCount` have tokens the load uses (one user
 * each); the rest fill the table. Tokens are made with the key the service made.
 *
 * Each was last used at a random moment of the past touch interval, as under steady traffic, so
 * that their uses come due for recording evenly over time. Seeded all at one instant, they would
 * come due together once a minute, and that wave of updates would land in whichever scenario
 * happened to be running (on PGlite it blocks the event loop).
 * @param {import('../src/db/database').Database} db
 * @param {ServiceOptions} options
 * @param {number} touchIntervalSeconds
 * @returns {Promise<string[]>}
 */
async function seedSessions(db, options, touchIntervalSeconds) {
  /** @type {typeof import('../src/domain/session-tokens')} */
  const { createSessionTokens, hashSessionToken } = compiled('domain/session-tokens');
  const bcrypt = require('bcrypt');
  /** @type {{secret: Uint8Array}} */
  const row = await db('server_secrets').select('secret').where({ name: 'session-token-mac' }).first();
  const tokens = createSessionTokens({ key: Buffer.from(row.secret), legacyTokensMayExist: () => false });
  const expires = new Date(Date.now() + 86400_000);
  // A real hash at the real cost, so that a login against these users costs what it costs.
  const passwordHash = bcrypt.hashSync('bench password 1', options.bcryptCost);
  await db.raw(
    `insert into users (username, username_key, password_hash)
     select 'load-' || n, 'load-' || n, ? from generate_series(1, ?) as n`,
    [passwordHash, options.tokenCount],
  );
  /** @type {{id: number}[]} */
  const users = await db('users').select('id').where('username', 'like', 'load-%').orderBy('id');
  const issued = users.map(() => tokens.generate());
  for (let start = 0; start < issued.length; start += 500) {
    await db('sessions').insert(
      issued.slice(start, start + 500).map((token, index) => ({
        id: db.raw('gen_random_uuid()'),
        token_hash: hashSessionToken(token),
        user_id: users[start + index]?.id,
        created_at: new Date(),
        last_used_at: new Date(Date.now() - Math.random() * touchIntervalSeconds * 1000),
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
      [users[0]?.id ?? null, expires, filler],
    );
  }
  await db.raw('analyze sessions');
  return issued;
}

let peakRss = 0;
const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
sample.unref();

async function main() {
  const [kind, optionsJson] = process.argv.slice(2);
  const started =
    kind === 'node'
      ? await startBareNode()
      : kind === 'express'
        ? await startBareExpress()
        : await startService(/** @type {ServiceOptions} */ (JSON.parse(optionsJson ?? '{}')));
  const send = /** @type {NonNullable<typeof process.send>} */ (process.send).bind(process);
  process.on('message', (/** @type {{type: string}} */ message) => {
    if (message.type === 'reset') peakRss = process.memoryUsage.rss();
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      send({ type: 'stats', cpuMicros: cpu.user + cpu.system, peakRss });
    }
  });
  send({ type: 'ready', ...started });
}

main().catch((/** @type {unknown} */ error) => {
  console.error(error);
  process.exit(1);
});
