import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { claimDataDir } from '../../src/db/data-dir-lock';

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
});
