import { SessionCache } from '../../src/domain/session-cache';
import type { ValidatedSession } from '../../src/domain/model';

// The races of the webhook's cache, which no HTTP test can time: a view of a session read before
// an invalidation must never be kept after it.

const now = new Date();
function viewOf(sessionId: string, userId = 1): ValidatedSession {
  return {
    session: {
      id: sessionId,
      kind: 'bearer',
      userId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now,
      userAgent: null,
      amr: [],
    },
    user: {
      id: userId,
      username: `user-${userId}`,
      roles: ['user'],
      defaultRole: 'user',
      disabled: false,
      sessionVariables: {},
      createdAt: now,
      sessionEpoch: 0,
      displayName: null,
      email: null,
      emailVerified: false,
    },
    endsAt: now,
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: Error) => void;
  const promise = new Promise<T>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('the session cache', () => {
  let cache: SessionCache;
  let lookups: number;
  const lookup = (view: ValidatedSession | undefined) => () => {
    lookups += 1;
    return Promise.resolve(view);
  };
  beforeEach(() => {
    cache = new SessionCache({ maxEntries: 10, ttlSeconds: 60 });
    cache.enable();
    lookups = 0;
  });

  it('answers a remembered session without a lookup, and forgets it with its session', async () => {
    await cache.recall('token-a', lookup(viewOf('s-a')));
    expect(await cache.recall('token-a', lookup(undefined))).toEqual(viewOf('s-a'));
    expect(lookups).toBe(1);
    cache.forgetSession('s-a');
    expect(await cache.recall('token-a', lookup(undefined))).toBeUndefined();
    expect(lookups).toBe(2);
  });

  it('forgets every session of a user, and only theirs', async () => {
    await cache.recall('token-a', lookup(viewOf('s-a', 1)));
    await cache.recall('token-b', lookup(viewOf('s-b', 1)));
    await cache.recall('token-c', lookup(viewOf('s-c', 2)));
    cache.forgetUser(1);
    expect(cache.size).toBe(1);
    expect(await cache.recall('token-c', lookup(undefined))).toEqual(viewOf('s-c', 2));
  });

  it('does not keep a lookup that an invalidation overtook, though it answers it', async () => {
    const read = deferred<ValidatedSession | undefined>();
    const recalled = cache.recall('token-a', () => read.promise);
    cache.forgetSession('s-a');
    read.resolve(viewOf('s-a'));
    expect(await recalled).toEqual(viewOf('s-a'));
    expect(cache.size).toBe(0);
  });

  it('does not share a lookup that started before an invalidation with a caller that came after it', async () => {
    const before = deferred<ValidatedSession | undefined>();
    void cache.recall('token-a', () => before.promise);
    cache.forgetUser(1);
    const after = cache.recall('token-a', lookup(undefined));
    before.resolve(viewOf('s-a'));
    expect(await after).toBeUndefined();
  });

  it('shares one lookup among concurrent callers', async () => {
    const read = deferred<ValidatedSession | undefined>();
    let started = 0;
    const calls = [1, 2, 3].map(() =>
      cache.recall('token-a', () => {
        started += 1;
        return read.promise;
      }),
    );
    read.resolve(viewOf('s-a'));
    await Promise.all(calls);
    expect(started).toBe(1);
  });

  it('does not keep a newer view read before an invalidation', async () => {
    await cache.recall('token-a', lookup(viewOf('s-a')));
    const readAt = cache.currentGeneration;
    cache.forgetSession('s-a');
    cache.remember('token-a', viewOf('s-a'), readAt);
    expect(cache.size).toBe(0);
  });

  it('keeps nothing and answers every call from its lookup while disabled', async () => {
    cache.disable();
    await cache.recall('token-a', lookup(viewOf('s-a')));
    await cache.recall('token-a', lookup(viewOf('s-a')));
    expect(lookups).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('keeps no miss, so unknown tokens take no room', async () => {
    for (let index = 0; index < 20; index += 1) await cache.recall(`unknown-${index}`, lookup(undefined));
    expect(cache.size).toBe(0);
  });

  it('shares the newest lookup after an invalidation, though an older one settles after it started', async () => {
    const older = deferred<ValidatedSession | undefined>();
    const newer = deferred<ValidatedSession | undefined>();
    let started = 0;
    const startingWith = (read: Promise<ValidatedSession | undefined>) => () => {
      started += 1;
      return read;
    };
    const first = cache.recall('token-a', startingWith(older.promise));
    cache.forgetSession('s-a');
    const second = cache.recall('token-a', startingWith(newer.promise));
    older.resolve(viewOf('s-a'));
    await first;
    const third = cache.recall('token-a', startingWith(Promise.resolve(undefined)));
    newer.resolve(viewOf('s-a'));
    expect(await Promise.all([second, third])).toEqual([viewOf('s-a'), viewOf('s-a')]);
    expect(started).toBe(2);
  });

  it('shares the newest lookup after an invalidation, though an older one fails after it started', async () => {
    const older = deferred<ValidatedSession | undefined>();
    const newer = deferred<ValidatedSession | undefined>();
    let started = 0;
    const startingWith = (read: Promise<ValidatedSession | undefined>) => () => {
      started += 1;
      return read;
    };
    const first = cache.recall('token-a', startingWith(older.promise));
    cache.forgetSession('s-a');
    const second = cache.recall('token-a', startingWith(newer.promise));
    older.reject(new Error('database down'));
    await expect(first).rejects.toThrow('database down');
    const third = cache.recall('token-a', startingWith(Promise.resolve(undefined)));
    newer.resolve(viewOf('s-a'));
    expect(await Promise.all([second, third])).toEqual([viewOf('s-a'), viewOf('s-a')]);
    expect(started).toBe(2);
  });

  it('trusts each entry for three quarters of its TTL at least and its whole TTL at most, spread between', async () => {
    let now = 1_000_000;
    const timed = new SessionCache({ maxEntries: 100, ttlSeconds: 10, clock: { now: () => now } });
    timed.enable();
    const tokens = Array.from({ length: 40 }, (_, index) => `token-${index}`);
    for (const [index, token] of tokens.entries()) await timed.recall(token, lookup(viewOf(`s-${index}`, index)));
    const cachedAfter = (milliseconds: number) => {
      now += milliseconds;
      return tokens.filter((token) => timed.peek(token) !== undefined).length;
    };
    expect(cachedAfter(7_499)).toBe(40);
    const halfway = cachedAfter(1_251);
    expect(halfway).toBeGreaterThan(0);
    expect(halfway).toBeLessThan(40);
    expect(cachedAfter(1_251)).toBe(0);
  });

  it('shares no failed lookup: the next caller asks again', async () => {
    await expect(cache.recall('token-a', () => Promise.reject(new Error('database down')))).rejects.toThrow(
      'database down',
    );
    expect(await cache.recall('token-a', lookup(viewOf('s-a')))).toEqual(viewOf('s-a'));
    expect(lookups).toBe(1);
  });

  it('keeps nothing read before it was enabled', () => {
    const disabled = new SessionCache({ maxEntries: 10, ttlSeconds: 60 });
    const readAt = disabled.currentGeneration;
    disabled.enable();
    disabled.remember('token-a', viewOf('s-a'), readAt);
    expect(disabled.size).toBe(0);
    disabled.remember('token-a', viewOf('s-a'), disabled.currentGeneration);
    expect(disabled.size).toBe(1);
  });

  it('still forgets every cached session of a user after another of theirs was dropped to make room', async () => {
    const small = new SessionCache({ maxEntries: 2, ttlSeconds: 60 });
    small.enable();
    await small.recall('token-a', lookup(viewOf('s-a', 1)));
    await small.recall('token-b', lookup(viewOf('s-b', 1)));
    await small.recall('token-c', lookup(viewOf('s-c', 2)));
    small.forgetUser(1);
    expect(small.peek('token-b')).toBeUndefined();
    expect(small.peek('token-c')).toEqual(viewOf('s-c', 2));
  });

  it('holds at most maxEntries sessions, dropping the least recently used', async () => {
    const small = new SessionCache({ maxEntries: 2, ttlSeconds: 60 });
    small.enable();
    await small.recall('token-a', lookup(viewOf('s-a', 1)));
    await small.recall('token-b', lookup(viewOf('s-b', 2)));
    await small.recall('token-a', lookup(undefined));
    await small.recall('token-c', lookup(viewOf('s-c', 3)));
    expect(small.size).toBe(2);
    expect(await small.recall('token-a', lookup(undefined))).toEqual(viewOf('s-a', 1));
    expect(await small.recall('token-b', lookup(undefined))).toBeUndefined();
  });

  it('trusts an entry no longer than its TTL, and without a TTL once invalidations cannot be lost', async () => {
    const ttlSeconds = 10;
    let now = 1_000_000;
    const clock = { now: () => now };
    const expiring = new SessionCache({ maxEntries: 10, ttlSeconds, clock });
    expiring.enable();
    const lossless = new SessionCache({ maxEntries: 10, ttlSeconds, clock });
    lossless.enable({ lossless: true });
    await expiring.recall('token-a', lookup(viewOf('s-a')));
    await lossless.recall('token-a', lookup(viewOf('s-a')));
    now += ttlSeconds * 1000 + 1;
    expect(await expiring.recall('token-a', lookup(undefined))).toBeUndefined();
    expect(await lossless.recall('token-a', lookup(undefined))).toEqual(viewOf('s-a'));
  });

  it('keeps nothing before it is first enabled', () => {
    const fresh = new SessionCache({ maxEntries: 10, ttlSeconds: 60 });
    fresh.remember('token-a', viewOf('s-a'), fresh.currentGeneration);
    expect(fresh.size).toBe(0);
  });

  it.each([
    [
      'a session, then everything',
      (c: SessionCache) => {
        c.forgetSession('s-x');
        c.forgetEverything();
      },
    ],
    [
      'a session, then a user',
      (c: SessionCache) => {
        c.forgetSession('s-x');
        c.forgetUser(9);
      },
    ],
  ])('does not keep a view read before two invalidations: %s', (_label, invalidateTwice) => {
    const readAt = cache.currentGeneration;
    invalidateTwice(cache);
    cache.remember('token-a', viewOf('s-a'), readAt);
    expect(cache.size).toBe(0);
  });

  it.each([
    ['its token, as out of date', (c: SessionCache) => c.dropOutdated('token-a')],
    ['everything', (c: SessionCache) => c.forgetEverything()],
  ])('looks a session up again once told to forget %s', async (_label, forget) => {
    await cache.recall('token-a', lookup(viewOf('s-a')));
    forget(cache);
    expect(await cache.recall('token-a', lookup(undefined))).toBeUndefined();
    expect(lookups).toBe(2);
  });

  it('still keeps lookups in flight, of any token, after dropping an out-of-date entry', async () => {
    await cache.recall('token-a', lookup(viewOf('s-a')));
    const read = deferred<ValidatedSession | undefined>();
    const recalled = cache.recall('token-b', () => read.promise);
    cache.dropOutdated('token-a');
    read.resolve(viewOf('s-b'));
    expect(await recalled).toEqual(viewOf('s-b'));
    expect(cache.size).toBe(1);
    expect(await cache.recall('token-b', lookup(undefined))).toEqual(viewOf('s-b'));
  });
});
