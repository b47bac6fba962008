import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import request from 'supertest';
import { runCli } from '../../src/cli';
import { buildService, startServiceProcess, type LogLine, type ServiceBuild } from '../support/service-process';

// The process as a supervisor sees it: what it answers while its database is not there, when it
// gives up, what it writes, and how it ends. Each test starts `node <build>/src/main.js`.

const DATABASE_PASSWORD = 'a-database-password-never-logged';
const METRICS_TOKEN = 'a-metrics-token-for-the-scraper';

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const isListening = (line: LogLine) => line.msg === 'listening';
const isRetry = (line: LogLine) => line.msg === 'the database does not answer yet; retrying';

describe('the service process', () => {
  let build: ServiceBuild;
  beforeAll(() => {
    build = buildService();
  });
  afterAll(() => build.dispose());

  describe('with a PostgreSQL server that is not up', () => {
    let databaseUrl: string;
    // A port of its own for each test, taken just before: a port held for the whole group was
    // once handed to another suite's server meanwhile, which answered in the database's place.
    beforeEach(async () => {
      databaseUrl = `postgres://auth:${DATABASE_PASSWORD}@127.0.0.1:${await closedPort()}/auth`;
    });

    it('answers /healthz 200 and /readyz, /webhook and /login 503 while it waits', async () => {
      const service = startServiceProcess(build, {
        DATABASE_URL: databaseUrl,
        DATABASE_WAIT_TIMEOUT_SECONDS: '60',
        METRICS_TOKEN,
      });
      try {
        const { url } = (await service.waitForLog(isListening)) as LogLine & { url: string };
        await service.waitForLog(isRetry);

        const health = await request(url).get('/healthz');
        const readiness = await request(url).get('/readyz');
        const webhook = await request(url).get('/webhook').set('Authorization', 'Bearer some-token');
        const login = await request(url).post('/login').send({ username: 'alice', password: 'a password' });
        const metrics = await request(url).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);

        expect(health.status).toBe(200);
        expect(health.body).toEqual({ status: 'ok' });
        expect(readiness.status).toBe(503);
        expect(readiness.body.error.code).toBe('DATABASE_UNAVAILABLE');
        expect(readiness.headers['retry-after']).toBe('5');
        // Never a 401 (which would make clients drop a good token) nor an anonymous 200.
        expect(webhook.status).toBe(503);
        expect(login.status).toBe(503);
        // The process's own figures are worth reading most while it cannot start.
        expect(metrics.status).toBe(200);
        expect(metrics.text).toContain('nodejs_eventloop_lag_seconds');
      } finally {
        service.kill('SIGTERM');
        await service.exited;
      }
    });

    it('stops waiting on SIGTERM and exits 0', async () => {
      const service = startServiceProcess(build, {
        DATABASE_URL: databaseUrl,
        DATABASE_WAIT_TIMEOUT_SECONDS: '60',
        METRICS_TOKEN,
      });
      await service.waitForLog(isRetry);

      service.kill('SIGTERM');

      expect(await service.exited).toBe(0);
      expect(service.stdoutLines.map((text) => JSON.parse(text) as LogLine).at(-1)?.msg).toBe('shutting down');
    });

    it('gives up after DATABASE_WAIT_TIMEOUT_SECONDS and exits 1, with one JSON line per attempt and none with the password', async () => {
      const service = startServiceProcess(build, { DATABASE_URL: databaseUrl, DATABASE_WAIT_TIMEOUT_SECONDS: '2' });

      expect(await service.exited).toBe(1);
      const lines = service.stdoutLines.map((text) => JSON.parse(text) as LogLine);
      const retries = lines.filter(isRetry);
      const last = lines.at(-1)!;
      expect(service.stderr()).toBe('');
      expect(retries.length).toBeGreaterThanOrEqual(2);
      expect(retries.map((line) => line.attempt)).toEqual(retries.map((_, index) => index + 1));
      expect(retries[0]).toMatchObject({
        level: 40,
        database: expect.stringMatching(/^postgres:\/\/auth:redacted@127\.0\.0\.1:\d+\/auth$/),
        error: { code: 'ECONNREFUSED' },
      });
      expect(last).toMatchObject({
        level: 60,
        attempts: retries.length + 1,
        lastError: { code: 'ECONNREFUSED' },
        msg: expect.stringContaining('Gave up waiting for the database'),
      });
      expect(last.msg).toContain('DATABASE_WAIT_TIMEOUT_SECONDS');
      expect(service.stdoutLines.join('\n')).not.toContain(DATABASE_PASSWORD);
    });
  });

  it('writes a bad setting as a JSON fatal line that lists every problem, and exits 1', async () => {
    const service = startServiceProcess(build, { PORT: 'not-a-port', BCRYPT_COST: '99' });

    expect(await service.exited).toBe(1);
    expect(service.stderr()).toBe('');
    expect(service.stdoutLines.map((text) => JSON.parse(text) as LogLine)).toEqual([
      expect.objectContaining({
        level: 60,
        msg: 'invalid configuration',
        problems: [expect.stringContaining('PORT'), expect.stringContaining('BCRYPT_COST')],
      }),
    ]);
  });

  it.each([
    [
      'a promise rejected',
      'rejection',
      'unhandled promise rejection outside a request; exiting',
      'rejected outside any request',
    ],
    ['an exception thrown', 'exception', 'uncaught exception; exiting', 'thrown outside any request'],
  ])('logs %s outside any request as a JSON fatal line, and exits 1', async (_what, fault, msg, message) => {
    // Loaded before the service: after the first request, a timer fails outside any request.
    const preload = path.resolve(__dirname, '../fixtures/fault-outside-a-request.cjs');
    const databaseUrl = `postgres://auth:${DATABASE_PASSWORD}@127.0.0.1:${await closedPort()}/auth`;
    const service = startServiceProcess(build, { DATABASE_URL: databaseUrl, FAULT: fault }, ['--require', preload]);
    const { url } = (await service.waitForLog(isListening)) as LogLine & { url: string };

    expect((await request(url).get('/healthz')).status).toBe(200);
    expect(await service.exited).toBe(1);
    const lines = service.stdoutLines.map((text) => JSON.parse(text) as LogLine);
    expect(lines.find((line) => line.level === 60)).toMatchObject({ msg, err: { message } });
    expect(service.stderr()).toBe('');
  });
});

describe('the operator CLI', () => {
  async function cliText(argv: string[], env: Record<string, string>, stdin: string[] = []) {
    let stderr = '';
    const code = await runCli(argv, {
      env,
      stdin: Readable.from(stdin),
      stdout: new Writable({ write: (_chunk, _encoding, done) => done() }),
      stderr: new Writable({
        write(chunk, _encoding, done) {
          stderr += String(chunk);
          done();
        },
      }),
    });
    return { code, stderr };
  }

  it('refuses create-admin beside a running embedded service with one line that names the process, and exit code 1', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'in-use-'));
    try {
      // A live process holds the data directory, as a running `npm start` would: Jest's parent.
      fs.writeFileSync(path.join(dataDir, 'hasura-auth.pid'), String(process.ppid));
      const { code, stderr } = await cliText(['create-admin', '--username', 'root'], { DATA_DIR: dataDir }, [
        'a long enough password\n',
      ]);
      expect(code).toBe(1);
      expect(stderr).toBe(
        `The embedded database in ${dataDir} is in use by process ${process.ppid}. Stop that process first ` +
          '(PGlite allows one process at a time), or ask the running service through its admin API instead.\n',
      );
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  async function cli(argv: string[], env: Record<string, string>) {
    let stderr = '';
    const code = await runCli(argv, {
      env,
      stdin: Readable.from([]),
      stdout: new Writable({ write: (_chunk, _encoding, done) => done() }),
      stderr: new Writable({
        write(chunk, _encoding, done) {
          stderr += String(chunk);
          done();
        },
      }),
    });
    return {
      code,
      lines: stderr
        .trimEnd()
        .split('\n')
        .map((text) => JSON.parse(text) as LogLine),
    };
  }

  it('writes a bad setting as a JSON fatal line on stderr, and answers exit code 2', async () => {
    const { code, lines } = await cli(['migrate'], { DATABASE_POOL_MAX: 'many' });

    expect(code).toBe(2);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 60,
        msg: 'invalid configuration',
        problems: [expect.stringContaining('DATABASE_POOL_MAX')],
      }),
    ]);
  });

  it('waits for the database as the server does, then gives up with a JSON fatal line and exit code 1', async () => {
    const databaseUrl = `postgres://auth:${DATABASE_PASSWORD}@127.0.0.1:${await closedPort()}/auth`;
    const { code, lines } = await cli(['migrate'], { DATABASE_URL: databaseUrl, DATABASE_WAIT_TIMEOUT_SECONDS: '1' });

    expect(code).toBe(1);
    expect(lines.filter(isRetry).length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toMatchObject({ level: 60, msg: expect.stringContaining('Gave up waiting for the database') });
    expect(JSON.stringify(lines)).not.toContain(DATABASE_PASSWORD);
  });
});
