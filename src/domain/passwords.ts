import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { dictionary } from '@zxcvbn-ts/language-common';
import { Piscina } from 'piscina';
import { AppError } from '../errors';
import type { BcryptTask } from './bcrypt-worker';
import { usernameKey } from './usernames';

// bcrypt reads at most 72 bytes and silently ignores the rest, so longer passwords are
// refused rather than truncated.
const BCRYPT_MAX_BYTES = 72;

export interface PasswordPolicy {
  bcryptCost: number;
  minLength: number;
}

export interface HashingCapacity {
  /** Threads that run bcrypt: fewer than the cores, so that logins never take every core from the webhook. */
  threads: number;
  /** bcrypt work that may wait for a thread; beyond it, a login is refused at once with 503. */
  queueMax: number;
}

// bcrypt threads run at a lower priority than the event loop: when both want a core, the webhook
// wins, and bcrypt still gets every core cycle the webhook leaves idle.
const BCRYPT_NICE_INCREMENT = 10;

// The worker is TypeScript under ts-jest and the knex CLI, and compiled JavaScript in production:
// start the kind this module itself was loaded as (TypeScript needs a loader in the thread).
const WORKER_EXTENSION = path.extname(__filename);
const WORKER_FILE = path.join(__dirname, `bcrypt-worker${WORKER_EXTENSION}`);
const WORKER_EXEC_ARGV = WORKER_EXTENSION === '.ts' ? ['--require', 'sucrase/register/ts'] : [];

/** NIST SP 800-63B asks for Unicode normalisation, so that the same password typed on two keyboards matches. */
function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

// Shorter usernames ("al", "x") occur inside too many good passwords to be worth refusing.
const MIN_USERNAME_LENGTH_TO_SCREEN = 3;

let commonPasswords: ReadonlySet<string> | undefined;

/**
 * The most common passwords of public breach corpora (zxcvbn-ts' `passwords-common`, about
 * 49,000 entries ordered by frequency, MIT licence), lower-cased. Built once per process, on
 * first use: about 40 ms.
 */
function commonPasswordSet(): ReadonlySet<string> {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  return commonPasswords;
}

/** Builds the common-password list now, so that no request pays for it. */
export function loadPasswordScreening(): void {
  commonPasswordSet();
}

/**
 * Whole seconds, at least 1, until `threads` threads have hashed the `queued` hashes waiting and
 * the ones they are running, at `meanHashMs` a hash: a refused login's Retry-After. Before any hash
 * has finished there is no mean yet (NaN or 0), and a hash at cost 12 takes about 250 ms.
 */
export function hashingBacklogSeconds(queued: number, threads: number, meanHashMs: number): number {
  const hashSeconds = meanHashMs > 0 ? meanHashMs / 1000 : 0.25;
  return Math.max(1, Math.ceil(((queued + threads) * hashSeconds) / threads));
}

/** Whether the password is one that attackers try first (NIST SP 800-63B 3.1.1.2), in any case. */
export function isCommonPassword(password: string): boolean {
  return commonPasswordSet().has(normalizePassword(password).toLowerCase());
}

/**
 * The parts of a username that a password must not contain: the username, and the local part
 * of an email address, both folded as usernames are (NFKC, case-insensitive).
 */
function usernameFragments(username: string): string[] {
  const key = usernameKey(username);
  const localPart = key.includes('@') ? key.slice(0, key.lastIndexOf('@')) : '';
  return [key, localPart].filter((fragment) => [...fragment].length >= MIN_USERNAME_LENGTH_TO_SCREEN);
}

/** Whether the password is the username, or contains it, after the same folding as usernames. */
export function containsUsername(password: string, username: string): boolean {
  const folded = usernameKey(normalizePassword(password));
  return usernameFragments(username).some((fragment) => folded.includes(fragment));
}

/**
 * What is wrong with a password that is to be stored, in words a person can act on; undefined
 * if nothing. Following NIST SP 800-63B there are no composition rules (no "one digit, one
 * symbol"): only a length, and a screen against passwords that are guessed first.
 */
export function passwordProblem(
  password: string,
  { minLength }: Pick<PasswordPolicy, 'minLength'>,
  owner: { username?: string } = {},
): string | undefined {
  const normalized = normalizePassword(password);
  if ([...normalized].length < minLength) return `The password must be at least ${minLength} characters long.`;
  if (Buffer.byteLength(normalized, 'utf8') > BCRYPT_MAX_BYTES) {
    return `The password must be at most ${BCRYPT_MAX_BYTES} bytes in UTF-8.`;
  }
  // bcrypt's C core stops at a NUL byte; everything after it would be ignored.
  if (normalized.includes('\u0000')) return 'The password must not contain NUL characters.';
  if (isCommonPassword(normalized)) {
    return 'This password is one of the most common passwords, which attackers try first. Choose another: a few unrelated words make a strong one.';
  }
  if (owner.username !== undefined && containsUsername(normalized, owner.username)) {
    return 'The password must not contain the username.';
  }
  return undefined;
}

export function createPasswordHasher(policy: PasswordPolicy, capacity: HashingCapacity) {
  const pool = new Piscina<BcryptTask, string | boolean>({
    filename: WORKER_FILE,
    execArgv: WORKER_EXEC_ARGV,
    minThreads: capacity.threads,
    maxThreads: capacity.threads,
    niceIncrement: BCRYPT_NICE_INCREMENT,
  });

  async function run<T extends string | boolean>(task: BcryptTask): Promise<T> {
    if (pool.queueSize >= capacity.queueMax) throw overloaded();
    return (await pool.run(task)) as T;
  }

  /** Refuses at once rather than queue work that would finish long after the client gave up. */
  function overloaded(): AppError {
    const retryAfter = hashingBacklogSeconds(pool.queueSize, capacity.threads, pool.histogram.runTime.mean);
    return new AppError('OVERLOADED', { headers: { 'Retry-After': String(retryAfter) } });
  }

  // Unknown usernames are checked against this hash, so that they cost the same time as a
  // wrong password. It is made once, at the configured cost.
  const dummyHash = run<string>({
    operation: 'hash',
    password: randomBytes(16).toString('hex'),
    cost: policy.bcryptCost,
  });
  dummyHash.catch(() => undefined);
  loadPasswordScreening();

  return {
    /** Throws WEAK_PASSWORD unless the password may be stored for the user with this username. */
    assertAcceptable(password: string, owner: { username: string }): void {
      const problem = passwordProblem(password, policy, owner);
      if (problem) throw new AppError('WEAK_PASSWORD', { message: problem });
    },

    /** Throws OVERLOADED (503) when the hashing queue is full. */
    hash(password: string): Promise<string> {
      return run<string>({ operation: 'hash', password: normalizePassword(password), cost: policy.bcryptCost });
    },

    /**
     * Compares in bcrypt's constant time. Without a stored hash it compares against the dummy,
     * and a password that could never have been stored is still run through bcrypt, so every
     * refusal takes the same time. Throws OVERLOADED (503) when the hashing queue is full.
     */
    async verify(password: string, storedHash: string | undefined): Promise<boolean> {
      const normalized = normalizePassword(password);
      const storable = Buffer.byteLength(normalized, 'utf8') <= BCRYPT_MAX_BYTES && !normalized.includes('\u0000');
      const hash = storedHash ?? (await dummyHash);
      const matches = await run<boolean>({ operation: 'compare', password: normalized, hash });
      return matches && storable && storedHash !== undefined;
    },

    /**
     * Stops the hashing threads once the hashes they are running are done; queued ones are
     * refused. Terminating a thread in the middle of bcrypt's native call aborted the whole
     * process (seen once in CI as SIGABRT, "terminate called after throwing Napi::Error").
     */
    close: () => pool.close({ force: true }),
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
