import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { claimDataDir, releaseDataDir } from '../../src/db/data-dir-lock';
import { knexConfigFor, openDatabase } from '../../src/db/database';

describe('claiming the embedded data directory', () => {
  let dataDir: string;
  const lockFile = () => path.join(dataDir, 'hasura-auth.pid');
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-lock-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('claims a free directory for this process', () => {
    claimDataDir(dataDir);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
  });

  it('lets the same process claim it again, as after closing and reopening', () => {
    claimDataDir(dataDir);
    expect(() => claimDataDir(dataDir)).not.toThrow();
  });

  it('refuses a directory that another running process holds, and leaves its claim alone', () => {
    fs.writeFileSync(lockFile(), String(process.ppid));
    expect(() => claimDataDir(dataDir)).toThrow(`in use by process ${process.ppid}`);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('takes over the claim of a process that has exited', () => {
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(lockFile(), exited.stdout.toString());
    claimDataDir(dataDir);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
  });

  it.each([
    ['an empty claim, as a crash between create and write leaves', ''],
    ['a claim naming no process', 'not a pid'],
    // kill(0) would signal this very process group, which is always running.
    ['a claim naming process 0', '0'],
  ])('takes over %s', (_label, content) => {
    fs.writeFileSync(lockFile(), content);
    claimDataDir(dataDir);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
  });

  it('fails with the system’s reason when the claim cannot be read, and takes nothing over', () => {
    fs.mkdirSync(lockFile());
    expect(() => claimDataDir(dataDir)).toThrow('EISDIR: illegal operation on a directory, read');
    expect(fs.statSync(lockFile()).isDirectory()).toBe(true);
  });

  it('releases a directory nobody claimed without complaint', () => {
    expect(() => releaseDataDir(dataDir)).not.toThrow();
    expect(fs.existsSync(lockFile())).toBe(false);
  });

  it('gives the directory up on release, and leaves another process’s claim alone', () => {
    claimDataDir(dataDir);
    releaseDataDir(dataDir);
    expect(fs.existsSync(lockFile())).toBe(false);
    fs.writeFileSync(lockFile(), String(process.ppid));
    releaseDataDir(dataDir);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('is claimed when the database opens and released when it closes, not when its config is built', async () => {
    knexConfigFor({ kind: 'pglite', dataDir });
    expect(fs.existsSync(lockFile())).toBe(false);
    const db = openDatabase({ kind: 'pglite', dataDir });
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    await db.raw('select 1');
    await db.destroy();
    expect(fs.existsSync(lockFile())).toBe(false);
  });
});
