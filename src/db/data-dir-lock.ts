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

/**
 * Claims an embedded PGlite data directory for this process. PGlite has no locking of its own,
 * and two processes writing one data directory (a second `npm start`, or the CLI beside a
 * running server) corrupt it. A claim left by a process that has died is taken over.
 */
export function claimDataDir(dataDir: string): void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  let holder: number | undefined;
  try {
    holder = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (holder && holder !== process.pid && isRunning(holder)) {
    throw new Error(
      `The embedded database in ${path.resolve(dataDir)} is in use by process ${holder}. ` +
        'Stop that process first: PGlite allows one process at a time.',
    );
  }
  fs.writeFileSync(lockPath, String(process.pid));
}
