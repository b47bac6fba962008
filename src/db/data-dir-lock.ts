import fs from 'node:fs';
import path from 'node:path';

const LOCK_FILE = 'hasura-auth.pid';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Creates the lock file only if there is none: of two processes racing here, one wins. */
function createExclusively(lockPath: string): boolean {
  try {
    fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The data directory is held by another live process: a running service, most often. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${holder}. ` +
        'Stop that process first (PGlite allows one process at a time), or ask the running service ' +
        'through its admin API instead.',
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * Claims an embedded PGlite data directory for this process. PGlite has no locking of its own,
 * and two processes writing one data directory (a second `npm start`, or the CLI beside a
 * running server) corrupt it. A claim left by a process that has died is taken over.
 */
export function claimDataDir(dataDir: string): void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (createExclusively(lockPath)) return;
    const holder = readHolder(lockPath);
    if (holder === process.pid) return;
    if (holder !== undefined && isRunning(holder)) throw new DataDirInUseError(path.resolve(dataDir), holder);
    // A dead holder's claim (or an empty one from a crash mid-write): remove it, then race for
    // the exclusive create again.
    fs.rmSync(lockPath, { force: true });
  }
  throw new Error(`Could not claim the embedded database in ${path.resolve(dataDir)}; try again.`);
}

/** Gives the directory up, if this process holds it. */
export function releaseDataDir(dataDir: string): void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  if (readHolder(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
}
