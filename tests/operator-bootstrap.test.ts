import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import request from 'supertest';
import { createApp } from '../src/app';
import { runCli } from '../src/cli';
import { loadConfig } from '../src/config';
import { openDatabase, type Database } from '../src/db/database';
import { ensureBootstrapAdmin } from '../src/domain/bootstrap';
import { createLogger } from '../src/logger';
import { createServices } from '../src/services';
import { bearer, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const ADMIN_PASSWORD = 'operator password 1';

function captured() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += String(chunk)));
  return { stream, text: () => text };
}

describe('creating the first admin without a database shell', () => {
  describe('ADMIN_USERNAME and ADMIN_PASSWORD at start', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('creates an admin who can log in and use the admin API', async () => {
      const username = uniqueUsername('root');
      const created = await ensureBootstrapAdmin(app.services.accounts, { username, password: ADMIN_PASSWORD });
      expect(created?.roles).toEqual(['user', 'admin']);
      const login = await request(app.http).post('/login').send({ username, password: ADMIN_PASSWORD });
      expect(login.status).toBe(200);
      expect((await request(app.http).get('/admin/users').set(bearer(login.body.token))).status).toBe(200);
    });

    it('does nothing on later starts, and never resets a changed password', async () => {
      const username = uniqueUsername('root');
      await ensureBootstrapAdmin(app.services.accounts, { username, password: ADMIN_PASSWORD });
      const again = await ensureBootstrapAdmin(app.services.accounts, { username, password: 'a different password' });
      expect(again).toBeUndefined();
      expect((await request(app.http).post('/login').send({ username, password: ADMIN_PASSWORD })).status).toBe(200);
      expect((await request(app.http).post('/login').send({ username, password: 'a different password' })).status).toBe(401);
    });
  });

  describe('npm run cli -- create-admin', () => {
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      if (globalThis.TEST_DATABASE_KIND === 'postgres') {
        const app = await startTestApp();
        env = { DATABASE_URL: app.database.env.DATABASE_URL! };
        cleanup = app.close;
      } else {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-cli-'));
        env = { DATA_DIR: dataDir };
        cleanup = async () => fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
    afterAll(() => cleanup());

    const cli = async (argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}) => {
      const stdout = captured();
      const stderr = captured();
      const code = await runCli(argv, {
        env: { BCRYPT_COST: '4', ...env, ...options.env },
        stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
        stdout: stdout.stream,
        stderr: stderr.stream,
      });
      return { code, stdout: stdout.text(), stderr: stderr.text() };
    };

    /** Starts the service on the database the CLI wrote to, as the next `npm start` would. */
    async function withService<T>(work: (http: ReturnType<typeof createApp>) => Promise<T>): Promise<T> {
      const config = loadConfig({ BCRYPT_COST: '4', LOG_LEVEL: 'silent', ...env });
      const db: Database = openDatabase(config.database);
      try {
        return await work(createApp({ config, logger: createLogger('silent'), services: createServices({ config, db }) }));
      } finally {
        await db.destroy();
      }
    }

    it('migrates, and says so when there is nothing left to do', async () => {
      expect((await cli(['migrate'])).code).toBe(0);
      const again = await cli(['migrate']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('up to date');
    });

    it('creates an admin with the password from stdin, who can then use the admin API', async () => {
      const username = uniqueUsername('ops');
      const result = await cli(['create-admin', '--username', username], { stdin: `${ADMIN_PASSWORD}\n` });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain(username);
      expect(result.stdout).not.toContain(ADMIN_PASSWORD);
      await withService(async (http) => {
        const login = await request(http).post('/login').send({ username, password: ADMIN_PASSWORD });
        expect(login.status).toBe(200);
        expect(login.body.roles).toEqual(['user', 'admin']);
        expect((await request(http).get('/admin/roles').set(bearer(login.body.token))).status).toBe(200);
      });
    });

    it('takes the password from ADMIN_PASSWORD when it is set', async () => {
      const username = uniqueUsername('ops');
      const result = await cli(['create-admin', '--username', username], { env: { ADMIN_PASSWORD } });
      expect(result.code).toBe(0);
      await withService(async (http) => {
        expect((await request(http).post('/login').send({ username, password: ADMIN_PASSWORD })).status).toBe(200);
      });
    });

    it('refuses a taken username, a weak password, and a missing --username, with a message and no stack', async () => {
      const username = uniqueUsername('ops');
      await cli(['create-admin', '--username', username], { stdin: ADMIN_PASSWORD });
      const taken = await cli(['create-admin', '--username', username], { stdin: ADMIN_PASSWORD });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain('USERNAME_TAKEN');
      const weak = await cli(['create-admin', '--username', uniqueUsername('ops')], { stdin: 'short' });
      expect(weak.code).toBe(1);
      expect(weak.stderr).toContain('WEAK_PASSWORD');
      const missing = await cli(['create-admin'], { stdin: ADMIN_PASSWORD });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('Usage');
      for (const output of [taken.stderr, weak.stderr, missing.stderr]) expect(output).not.toMatch(/\n\s+at /);
    });
  });
});
