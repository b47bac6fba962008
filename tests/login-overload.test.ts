import { logIn } from './support/requests';
import { expectCleanErrorBody, statusAndCode } from './support/responses';
import { signUp, startTestApp, type TestApp } from './support/test-app';

// One bcrypt thread and room for two more hashes: a burst of logins overflows it.
const SMALL_HASHING_QUEUE = { BCRYPT_COST: '10', BCRYPT_THREADS: '1', BCRYPT_QUEUE_MAX: '2' };

describe('logins beyond the hashing queue', () => {
  let app: TestApp;
  beforeAll(async () => {
    // The burst counts as attempts on one account before any succeeds, so the per-account limits are off.
    app = await startTestApp({
      ...SMALL_HASHING_QUEUE,
      LOGIN_FAILURE_LIMIT_PER_USER_IP: 'off',
      LOGIN_FAILURE_LIMIT_PER_USERNAME: 'off',
    });
  });
  afterAll(() => app.close());

  it('are refused at once with 503 OVERLOADED and Retry-After, and the ones within it are answered', async () => {
    const user = await signUp(app);
    const burst = await Promise.all(Array.from({ length: 12 }, () => logIn(app, user.username)));
    const refused = burst.filter((res) => res.status === 503);
    const answered = burst.filter((res) => res.status === 200);
    expect(refused.length + answered.length).toBe(burst.length);
    expect(answered.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) {
      expectCleanErrorBody(res, 'OVERLOADED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // Each refusal is one request line, with no stack of its own: a flood writes no traces.
    const records = app.logLines.map((line) => JSON.parse(line) as { code?: string; res?: { statusCode: number } });
    expect(records.filter((record) => record.code === 'OVERLOADED')).toEqual([]);
    expect(records.filter((record) => record.res?.statusCode === 503)).toHaveLength(refused.length);
    // The queue drains; nothing piles up.
    expect(statusAndCode(await logIn(app, user.username))).toEqual({ status: 200, code: undefined });
  });
});

describe('logins refused because the hashing queue is full', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      ...SMALL_HASHING_QUEUE,
      LOGIN_FAILURE_LIMIT_PER_USER_IP: '12/900',
      LOGIN_FAILURE_LIMIT_PER_USERNAME: '12/3600',
    });
  });
  afterAll(() => app.close());

  it('count against neither of the account’s failure limits: the owner still logs in after the burst', async () => {
    const user = await signUp(app);
    // As many wrong guesses as the limits admit; most never reach bcrypt.
    const burst = await Promise.all(Array.from({ length: 12 }, () => logIn(app, user.username, 'wrong password')));
    const statuses = burst.map((res) => statusAndCode(res));
    expect(statuses).toContainEqual({ status: 503, code: 'OVERLOADED' });
    expect(statuses.every(({ code }) => code === 'OVERLOADED' || code === 'INVALID_CREDENTIALS')).toBe(true);
    // Had the refused ones counted, this would be the 13th attempt, beyond both limits.
    expect(statusAndCode(await logIn(app, user.username))).toEqual({ status: 200, code: undefined });
  });
});
