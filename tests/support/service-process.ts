import { spawn, spawnSync } from 'node:child_process';
import { SERVICE_NODE_FLAGS } from '../../src/v8-settings';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The service as an operator runs it: `node <flags> <build>/src/main.js`, a process of its own, with its
 * log on stdout. The build is made from the current sources for each suite (never a stale dist/),
 * under node_modules/.cache so that it finds the project's node_modules and the linters skip it.
 */

const repoRoot = path.resolve(__dirname, '../..');

export interface ServiceBuild {
  main: string;
  dispose(): void;
}

export function buildService(): ServiceBuild {
  const outDir = path.join(repoRoot, 'node_modules', '.cache', `service-build-${randomBytes(4).toString('hex')}`);
  const result = spawnSync(
    process.execPath,
    [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`build failed: ${result.stdout}${result.stderr}`);
  return {
    main: path.join(outDir, 'src/main.js'),
    dispose: () => fs.rmSync(outDir, { recursive: true, force: true }),
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ServiceProcess {
  /** Everything written to stdout, line by line, as written. */
  stdoutLines: string[];
  stderr(): string;
  /** Resolves with the first log line that matches, or rejects if the process exits first. */
  waitForLog(matches: (line: LogLine) => boolean): Promise<LogLine>;
  /** The exit code, once the process has exited. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

const parse = (text: string): LogLine | undefined => {
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    return undefined;
  }
};

export function startServiceProcess(
  build: ServiceBuild,
  env: Record<string, string>,
  nodeOptions: string[] = [],
): ServiceProcess {
  // With the node flags of the start command, as an operator starts it.
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...nodeOptions, build.main], {
    cwd: repoRoot,
    // Only what the test names, and PATH: the developer's own settings must not leak in.
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', BCRYPT_COST: '4', ...env },
  });
  const stdoutLines: string[] = [];
  let stderr = '';
  let pending = '';
  const waiters: { matches: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const text of complete) {
      stdoutLines.push(text);
      const line = parse(text);
      if (!line) continue;
      for (const waiter of [...waiters]) {
        if (waiter.matches(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  return {
    stdoutLines,
    stderr: () => stderr,
    waitForLog: (matches) => {
      const earlier = stdoutLines.map(parse).find((line) => line !== undefined && matches(line));
      if (earlier) return Promise.resolve(earlier);
      return new Promise((resolve, reject) => {
        waiters.push({ matches, resolve });
        void exited.then((code) =>
          reject(new Error(`the service exited (${code}) first:\n${stdoutLines.join('\n')}\n${stderr}`)),
        );
      });
    },
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
