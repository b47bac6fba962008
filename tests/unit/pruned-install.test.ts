import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';

// Heroku and the Docker image build, then prune devDependencies (no TypeScript, no sucrase).
// Every command the README gives for production must still work there: this builds a copy of
// the repository, prunes it as they do, and runs each command on an embedded database.

const repoRoot = path.resolve(__dirname, '../..');
const ADMIN_PASSWORD = 'operator password 1';

describe('production commands after pruning devDependencies', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const run = (command: string, args: string[], options: SpawnSyncOptions = {}) => {
    const result = spawnSync(command, args, { cwd: dir, env, encoding: 'utf8', ...options });
    return { code: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
  };

  /** Runs a preparation step, which must succeed before any test can mean anything. */
  const prepare = (command: string, args: string[]) => {
    const result = run(command, args);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-pruned-'));
    for (const entry of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'knexfile.ts',
      'src',
      'migrations',
      'node_modules',
    ]) {
      fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true, verbatimSymlinks: true });
    }
    env = { ...process.env, DATA_DIR: path.join(dir, 'data'), BCRYPT_COST: '4', HOST: '127.0.0.1', PORT: '0' };
    prepare('npm', ['run', 'build']);
    prepare('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund']);
  });

  it('has no devDependencies left, TypeScript and sucrase included', () => {
    for (const devOnly of ['typescript', 'sucrase', 'ts-jest']) {
      expect(fs.existsSync(path.join(dir, 'node_modules', devOnly))).toBe(false);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('migrates with the Procfile release command, node dist/src/cli.js migrate', () => {
    const result = run('node', ['dist/src/cli.js', 'migrate']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('Applied:') });
  });

  it('migrates with npm run migrate', () => {
    expect(run('npm', ['run', 'migrate'])).toMatchObject({ code: 0, stdout: expect.stringContaining('up to date') });
  });

  it('prints only the JSON with npm run -s cli -- hasura-jwt-config, so that a shell can capture it', () => {
    const result = run('npm', ['run', '-s', 'cli', '--', 'hasura-jwt-config']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ jwk_url: expect.any(String), audience: 'hasura' });
  });

  it('creates the first admin with npm run -s cli -- create-admin', () => {
    const result = run('npm', ['run', '-s', 'cli', '--', 'create-admin', '--username', 'root'], {
      input: `${ADMIN_PASSWORD}\n`,
    });
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('Created admin root') });
  });

  /** Starts a server command in its own process group; resolves to its URL once it is ready. */
  async function startListening(command: string, args: string[]) {
    const child = spawn(command, args, { cwd: dir, env, detached: true });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        const ready = /"url":"(http:\/\/[^"]+)".*"msg":"ready"/.exec(output);
        if (ready?.[1] !== undefined) resolve(ready[1]);
      });
      child.once('exit', () => reject(new Error(`${command} exited: ${output}`)));
    });
    // The whole group, as a terminal's Ctrl-C or a supervisor's stop reaches it.
    const signal = (name: NodeJS.Signals) => process.kill(-child.pid!, name);
    return { url, exited, signal };
  }

  it('serves with npm start, and the admin the CLI created logs in', async () => {
    const server = await startListening('npm', ['start']);
    try {
      expect((await request(server.url).get('/healthz')).status).toBe(200);
      const login = await request(server.url).post('/login').send({ username: 'root', password: ADMIN_PASSWORD });
      expect(login.status).toBe(200);
      expect(login.body.roles).toEqual(['user', 'admin']);
    } finally {
      server.signal('SIGINT');
      await server.exited;
    }
  });

  it('serves with the Procfile web command, and stops on SIGTERM with exit code 0', async () => {
    const web = /^web: (.*)$/m.exec(fs.readFileSync(path.join(repoRoot, 'Procfile'), 'utf8'))![1]!.split(' ');
    const server = await startListening(web[0]!, web.slice(1));
    expect((await request(server.url).get('/readyz')).status).toBe(200);
    server.signal('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
