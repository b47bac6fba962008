import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import request from 'supertest';
import { runCli } from '../src/cli';
import { loadConfig, type Env } from '../src/config';
import { openDatabase, type Database } from '../src/db/database';
import { silentLogger } from './support/logs';
import { startServer } from '../src/server';
import { createTestDatabase } from './support/database';
import { bearer, uniqueUsername } from './support/test-app';

const ADMIN_PASSWORD = 'operator password 1';

function captured() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += String(chunk)));
  return { stream, text: () => text };
}

/**
 * A database that the server and the CLI open themselves from their environment, as in
 * production: a data directory for embedded PGlite, or a DATABASE_URL.
 */
async function databaseFromEnvironment(): Promise<{ env: Env; dispose: () => Promise<void> }> {
  if (globalThis.TEST_DATABASE_KIND === 'postgres') {
    const database = await createTestDatabase(silentLogger());
    return { env: { DATABASE_URL: database.env.DATABASE_URL }, dispose: () => database.dispose() };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-operator-'));
  // Seeded with the migrated template that the global setup dumped: several times faster than a
  // fresh initdb and every migration, once for each of these tests.
  const seed = new PGlite(dataDir, { loadDataDir: new Blob([fs.readFileSync(process.env.PGLITE_TEMPLATE_DUMP!)]) });
  await seed.waitReady;
  await seed.close();
  return { env: { DATA_DIR: dataDir }, dispose: () => fs.promises.rm(dataDir, { recursive: true, force: true }) };
}

/** Starts the service on that database, as `npm start` would, runs `work` against it, and stops it. */
async function withService<T>(env: Env, work: (url: string) => Promise<T>): Promise<T> {
  const config = loadConfig({ BCRYPT_COST: '4', LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', ...env });
  const server = await startServer({ config, logger: silentLogger() });
  try {
    return await work(server.url);
  } finally {
    await server.close();
  }
}

/** Opens that database as the service would, for statements no API makes, and closes it. */
async function withDatabase<T>(env: Env, work: (db: Database) => Promise<T>): Promise<T> {
  const db = openDatabase(loadConfig(env).database);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

describe('creating the first admin without a database shell', () => {
  let database: { env: Env; dispose: () => Promise<void> };

  describe('ADMIN_USERNAME and ADMIN_PASSWORD at start', () => {
    // The bootstrap runs once per database, so each test gets a database of its own.
    beforeEach(async () => {
      database = await databaseFromEnvironment();
    });
    afterEach(() => database.dispose());

    it('creates an admin who can log in and use the admin API', async () => {
      const username = uniqueUsername('root');
      await withService({ ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD }, async (url) => {
        const login = await request(url).post('/login').send({ username, password: ADMIN_PASSWORD });
        expect(login.status).toBe(200);
        expect(login.body.roles).toEqual(['user', 'admin']);
        expect((await request(url).get('/admin/users').set(bearer(login.body.token))).status).toBe(200);
      });
    });

    it('does nothing on a restart, and never resets the admin’s password', async () => {
      const username = uniqueUsername('root');
      await withService({ ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD }, () => Promise.resolve());
      const restarted = { ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD: 'a different password' };
      await withService(restarted, async (url) => {
        expect((await request(url).post('/login').send({ username, password: ADMIN_PASSWORD })).status).toBe(200);
        const refused = await request(url).post('/login').send({ username, password: 'a different password' });
        expect(refused.status).toBe(401);
        expect(refused.body.error.code).toBe('INVALID_CREDENTIALS');
      });
    });

    it('never brings back a deleted admin on a restart', async () => {
      const username = uniqueUsername('root');
      const env = { ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD };
      await withService(env, async (url) => {
        const login = await request(url).post('/login').send({ username, password: ADMIN_PASSWORD });
        const id = login.body.id as number;
        expect((await request(url).delete(`/admin/users/${id}`).set(bearer(login.body.token))).status).toBe(204);
      });
      await withService(env, async (url) => {
        const login = await request(url).post('/login').send({ username, password: ADMIN_PASSWORD });
        expect(login.status).toBe(401);
        expect(login.body.error.code).toBe('INVALID_CREDENTIALS');
      });
    });

    it('records nothing when the admin could not be created, so that the next start creates it', async () => {
      const username = uniqueUsername('root');
      const env = { ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD };
      await withService(database.env, () => Promise.resolve());
      // The built-in admin role, gone as no API would let it go: the admin cannot be created.
      const adminRole = await withDatabase(database.env, async (db) => {
        const [role] = await db('roles').where({ name: 'admin' }).delete().returning('*');
        return role as object;
      });
      await expect(withService(env, () => Promise.resolve())).rejects.toThrow('A role to grant no longer exists.');
      await withDatabase(database.env, (db) => db('roles').insert(adminRole));
      await withService(env, async (url) => {
        const login = await request(url).post('/login').send({ username, password: ADMIN_PASSWORD });
        expect(login.status).toBe(200);
        expect(login.body.roles).toEqual(['user', 'admin']);
      });
    });

    it('is not taken for done by the record of another start-up task', async () => {
      const username = uniqueUsername('root');
      await withService(database.env, () => Promise.resolve());
      await withDatabase(database.env, (db) => db('bootstrap_runs').insert({ name: 'another-start-up-task' }));
      await withService({ ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD }, async (url) => {
        expect((await request(url).post('/login').send({ username, password: ADMIN_PASSWORD })).status).toBe(200);
      });
    });

    it('starts when the name is already taken, and gives the user who took it no admin role', async () => {
      const username = uniqueUsername('root');
      const ownPassword = 'the first owner’s password';
      await withService(database.env, async (url) => {
        expect((await request(url).post('/signup').send({ username, password: ownPassword })).status).toBe(201);
      });
      await withService({ ...database.env, ADMIN_USERNAME: username, ADMIN_PASSWORD }, async (url) => {
        const login = await request(url).post('/login').send({ username, password: ownPassword });
        expect(login.status).toBe(200);
        expect(login.body.roles).toEqual(['user']);
        expect((await request(url).post('/login').send({ username, password: ADMIN_PASSWORD })).status).toBe(401);
      });
    });
  });

  describe('npm run cli -- create-admin', () => {
    beforeAll(async () => {
      database = await databaseFromEnvironment();
    });
    afterAll(() => database.dispose());

    const cli = async (argv: string[], options: { stdin?: string; env?: Env } = {}) => {
      const stdout = captured();
      const stderr = captured();
      const code = await runCli(argv, {
        env: { BCRYPT_COST: '4', ...database.env, ...options.env },
        stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
        stdout: stdout.stream,
        stderr: stderr.stream,
      });
      return { code, stdout: stdout.text(), stderr: stderr.text() };
    };

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
      await withService(database.env, async (url) => {
        const login = await request(url).post('/login').send({ username, password: ADMIN_PASSWORD });
        expect(login.status).toBe(200);
        expect(login.body.roles).toEqual(['user', 'admin']);
        expect((await request(url).get('/admin/roles').set(bearer(login.body.token))).status).toBe(200);
      });
    });

    it('takes the password from ADMIN_PASSWORD when it is set', async () => {
      const username = uniqueUsername('ops');
      const result = await cli(['create-admin', '--username', username], { env: { ADMIN_PASSWORD } });
      expect(result.code).toBe(0);
      await withService(database.env, async (url) => {
        expect((await request(url).post('/login').send({ username, password: ADMIN_PASSWORD })).status).toBe(200);
      });
    });

    it('refuses a taken username with exit code 1 and USERNAME_TAKEN, without a stack', async () => {
      const username = uniqueUsername('ops');
      expect((await cli(['create-admin', '--username', username], { stdin: ADMIN_PASSWORD })).code).toBe(0);
      const taken = await cli(['create-admin', '--username', username], { stdin: ADMIN_PASSWORD });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain('USERNAME_TAKEN');
      expect(taken.stderr).not.toMatch(/\n\s+at /);
    });

    it('refuses a weak password with exit code 1 and WEAK_PASSWORD, without a stack', async () => {
      const weak = await cli(['create-admin', '--username', uniqueUsername('ops')], { stdin: 'short' });
      expect(weak.code).toBe(1);
      expect(weak.stderr).toContain('WEAK_PASSWORD');
      expect(weak.stderr).not.toMatch(/\n\s+at /);
    });

    it('answers a missing --username with exit code 2 and the usage', async () => {
      const missing = await cli(['create-admin'], { stdin: ADMIN_PASSWORD });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('Usage');
    });
  });
});
