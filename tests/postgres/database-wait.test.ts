import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { DatabaseWaitTimeoutError } from '../../src/db/database';
import { launchServer, type StartingServer } from '../../src/server';
import { eventually } from '../support/eventually';
import { capturingLogger, type CapturedLog } from '../support/logs';
import { TEST_DATABASE_PREFIX, testDatabaseUrl, withAdminClient } from '../support/postgres';
import type { LogLine } from '../support/service-process';

// The wait for a late database, in this process: database-start-up.test.ts runs it as an
// operator would, in a process of its own, where neither a mutation run nor a debugger reaches.
// Here: how often it retries and what it logs, when it gives up, and a close that stops it.

const isRetry = (line: LogLine) => line.msg === 'the database does not answer yet; retrying';
const PASSWORD_IN_URL = 'url-password-never-logged';

/** A database that does not exist yet, named in a URL with a password (trust auth ignores it). */
function lateDatabase(): { name: string; url: string } {
  const name = `${TEST_DATABASE_PREFIX}wait_${randomBytes(4).toString('hex')}`;
  const url = new URL(testDatabaseUrl(name));
  url.password = PASSWORD_IN_URL;
  return { name, url: url.toString() };
}

function launchWaiting(
  databaseUrl: string,
  waitSeconds: number,
): Promise<StartingServer & { log: CapturedLog; lines: () => LogLine[] }> {
  const log = capturingLogger('debug');
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    DATABASE_WAIT_TIMEOUT_SECONDS: String(waitSeconds),
    HOST: '127.0.0.1',
    PORT: '0',
    BCRYPT_COST: '4',
  });
  return launchServer({ config, logger: log.logger }).then((starting) => ({
    ...starting,
    log,
    lines: () => log.records() as LogLine[],
  }));
}

describe('start-up before the database answers, in this process', () => {
  const created: string[] = [];
  afterAll(() =>
    withAdminClient(async (client) => {
      for (const name of created) await client.query(`drop database if exists "${name}" with (force)`);
    }),
  );

  it('says nothing of waiting when the database answers the first attempt', async () => {
    const starting = await launchWaiting(testDatabaseUrl(), 60);
    try {
      await starting.ready;
      expect(starting.lines().filter(isRetry)).toEqual([]);
      expect(starting.lines().filter((line) => line.msg === 'the database answers')).toEqual([]);
    } finally {
      await starting.close();
    }
  });

  it('retries with doubling delays, half of each at random, naming the database without its password; then serves', async () => {
    const { name, url } = lateDatabase();
    created.push(name);
    const starting = await launchWaiting(url, 60);
    try {
      const retries = await eventually(
        () => Promise.resolve(starting.lines().filter(isRetry)),
        (lines) => lines.length >= 3,
        10_000,
      );
      expect((await request(starting.url).get('/readyz')).status).toBe(503);
      // A probe's 503 while it waits is an answer, not a failure: the retry lines say what is wrong.
      expect(starting.lines().filter((line) => line.level >= 50)).toEqual([]);
      const redacted = new URL(url);
      redacted.password = 'redacted';
      retries.slice(0, 3).forEach((line, index) => {
        const backoffMs = 250 * 2 ** index;
        expect(line).toMatchObject({
          level: 40,
          database: redacted.toString(),
          attempt: index + 1,
          error: { code: '3D000', message: expect.stringContaining(name) },
        });
        expect(line.retryInMs).toBeGreaterThanOrEqual(backoffMs / 2);
        expect(line.retryInMs).toBeLessThanOrEqual(backoffMs);
      });

      await withAdminClient((client) => client.query(`create database "${name}"`));
      const server = await starting.ready;
      const answered = starting.lines().find((line) => line.msg === 'the database answers');
      expect(answered).toMatchObject({ level: 30, attempts: starting.lines().filter(isRetry).length + 1 });
      const signup = await request(server.url)
        .post('/signup')
        .send({ username: 'late-bob', password: 'a long password' });
      expect(signup.status).toBe(201);
      // knex's own line for each failed attempt would repeat the retry's: it is kept at debug level.
      const knexLines = starting.lines().filter((line) => line.msg === 'database warning');
      expect(knexLines.length).toBeGreaterThanOrEqual(3);
      for (const line of knexLines) {
        expect(line).toMatchObject({ level: 20, knex: expect.stringMatching(/^Acquire connection error/) });
      }
      expect(starting.log.lines.join('')).not.toContain(PASSWORD_IN_URL);
    } finally {
      await starting.close();
    }
  });

  it('gives up after DATABASE_WAIT_TIMEOUT_SECONDS, saying how long, how many attempts and the last error', async () => {
    const { name, url } = lateDatabase();
    const starting = await launchWaiting(url, 1);
    const failure = await starting.ready.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DatabaseWaitTimeoutError);
    // What an uncaught one would print itself as.
    expect((failure as Error).name).toBe('DatabaseWaitTimeoutError');
    const { details, message } = failure as DatabaseWaitTimeoutError;
    const retries = starting.lines().filter(isRetry);
    // Each attempt but the last was followed by a retry; the last one gave up.
    expect(details.attempts).toBe(retries.length + 1);
    expect(details.attempts).toBeGreaterThanOrEqual(2);
    // Tenths of a second: what an operator reads, not the milliseconds it took.
    expect(details.waitedSeconds).toBeGreaterThanOrEqual(1);
    expect(details.waitedSeconds).toBeLessThan(10);
    expect(String(details.waitedSeconds)).toMatch(/^\d+(\.\d)?$/);
    expect(details.lastError).toMatchObject({ code: '3D000', message: expect.stringContaining(name) });
    expect(message).toBe(
      `Gave up waiting for the database after ${details.waitedSeconds} s and ${details.attempts} attempts ` +
        `(DATABASE_WAIT_TIMEOUT_SECONDS); last error: ${details.lastError.message}`,
    );
    // No delay runs past the deadline: one that would is cut to what was left of the wait, so it
    // gives up on time, not a backoff later. Each retry says what was left when it was decided.
    // (Which retry is cut depends on how long each attempt took, so that is not asserted: on a
    // loaded machine an attempt can outlast the deadline before any delay reaches it.)
    for (const retry of retries) expect(retry.retryInMs as number).toBeLessThanOrEqual(retry.remainingMs as number);
  });

  it('stops waiting at once when it is closed meanwhile, not when the next attempt was due', async () => {
    const { url } = lateDatabase();
    const starting = await launchWaiting(url, 60);
    // The fourth delay is at least a second: a close that only took effect at the next attempt
    // would be seen to come after it.
    const retries = await eventually(
      () => Promise.resolve(starting.lines().filter(isRetry)),
      (lines) => lines.length >= 4,
      10_000,
    );
    const nextAttemptDue = (retries[3]!.time as number) + (retries[3]!.retryInMs as number);
    await starting.close();
    await expect(starting.ready).rejects.toThrow('The server was closed while it waited for the database.');
    expect(Date.now()).toBeLessThan(nextAttemptDue);
    expect(starting.lines().filter(isRetry)).toHaveLength(4);
  });
});
