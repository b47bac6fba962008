import { LRUCache } from 'lru-cache';
import type { UserId, ValidatedSession } from './model';

export interface SessionCacheOptions {
  /** How many validated sessions are kept; the least recently used go first. */
  maxEntries: number;
  /** The longest an entry is trusted without asking the database again: the backstop for a lost invalidation. */
  ttlSeconds: number;
  /** A monotonic clock in milliseconds for the time limits: performance.now() unless a test moves time itself. */
  clock?: { now(): number };
}

type Lookup = () => Promise<ValidatedSession | undefined>;

/**
 * Validated sessions, by token hash, for the webhook's hot path. Only sessions the database
 * confirmed are kept, never misses, so nothing an attacker sends can evict them.
 *
 * It is trusted only while it hears of every change: while disabled (no invalidation listener yet,
 * or its connection lost) every lookup goes to the database. Each invalidation moves a generation
 * on, and a lookup that started before one is answered but not kept: it may have read what the
 * invalidation was about.
 */
export class SessionCache {
  private readonly entries: LRUCache<string, ValidatedSession>;
  private readonly tokenOfSession = new Map<string, string>();
  private readonly tokensOfUser = new Map<UserId, Set<string>>();
  // Concurrent lookups of one token share one query, as long as no invalidation came between.
  private readonly inflight = new Map<string, { generation: number; lookup: Promise<ValidatedSession | undefined> }>();
  private generation = 0;
  private enabled = false;
  private readonly ttlMs: number;
  // Zero while the invalidations cannot be lost (an embedded database in this very process).
  private entryTtlMs: number;

  constructor({ maxEntries, ttlSeconds, clock }: SessionCacheOptions) {
    this.ttlMs = ttlSeconds * 1000;
    this.entryTtlMs = this.ttlMs;
    this.entries = new LRUCache<string, ValidatedSession>({
      max: Math.max(1, maxEntries),
      ttl: this.ttlMs,
      dispose: (auth, tokenHash) => this.unindex(tokenHash, auth),
      // A clock moved by hand is read at every look, not once a millisecond of real time.
      ...(clock && { perf: clock, ttlResolution: 0 }),
    });
  }

  /** The session this token hash stands for, if it is in memory and the cache is trusted; never a lookup. */
  peek(tokenHash: string): ValidatedSession | undefined {
    return this.enabled ? this.entries.get(tokenHash) : undefined;
  }

  /**
   * The session this token hash stands for: from memory when trusted, else from `lookup`, which
   * concurrent callers share. While the cache is not trusted, it holds nothing and keeps nothing.
   */
  async recall(tokenHash: string, lookup: Lookup): Promise<ValidatedSession | undefined> {
    const cached = this.entries.get(tokenHash);
    if (cached) return cached;
    const pending = this.inflight.get(tokenHash);
    if (pending && pending.generation === this.generation) return pending.lookup;

    const generation = this.generation;
    const promise = lookup().then(
      (auth) => {
        if (this.inflight.get(tokenHash)?.lookup === promise) this.inflight.delete(tokenHash);
        if (auth) this.remember(tokenHash, auth, generation);
        return auth;
      },
      (error: unknown) => {
        if (this.inflight.get(tokenHash)?.lookup === promise) this.inflight.delete(tokenHash);
        throw error;
      },
    );
    this.inflight.set(tokenHash, { generation, lookup: promise });
    return promise;
  }

  /** Where invalidations stand now; pass it to remember() with a view read after this moment. */
  get currentGeneration(): number {
    return this.generation;
  }

  /**
   * Keeps a view of a session that was read at `readAtGeneration`, unless an invalidation came
   * since (it may have been about this session) or the cache is not trusted.
   */
  remember(tokenHash: string, auth: ValidatedSession, readAtGeneration: number): void {
    if (!this.enabled || readAtGeneration !== this.generation) return;
    // Spread over the last quarter of the TTL, so that sessions cached together are not all
    // looked up again in the same instant. A TTL of 0 stays 0: no time limit.
    const ttl = Math.round(this.entryTtlMs * (0.75 + Math.random() * 0.25));
    this.entries.set(tokenHash, auth, { ttl });
    this.tokenOfSession.set(auth.session.id, tokenHash);
    const tokens = this.tokensOfUser.get(auth.user.id) ?? new Set<string>();
    tokens.add(tokenHash);
    this.tokensOfUser.set(auth.user.id, tokens);
  }

  /**
   * Drops an entry that is out of date but ends nothing: its session ended by time, or another
   * request recorded a newer use of it. Unlike an invalidation it moves no generation on, so
   * lookups in flight are still kept: after a quiet spell, when many sessions come due together,
   * each lost race to record a use would otherwise discard every lookup in flight, and the
   * lookups those brought on, until nothing stayed cached.
   */
  dropOutdated(tokenHash: string): void {
    this.entries.delete(tokenHash);
  }

  forgetSession(sessionId: string): void {
    this.generation += 1;
    const tokenHash = this.tokenOfSession.get(sessionId);
    if (tokenHash !== undefined) this.entries.delete(tokenHash);
  }

  forgetUser(userId: UserId): void {
    this.generation += 1;
    // Each deletion takes its token out of this set, which a Set's own forEach allows.
    this.tokensOfUser.get(userId)?.forEach((tokenHash) => this.entries.delete(tokenHash));
  }

  forgetEverything(): void {
    this.generation += 1;
    this.entries.clear();
  }

  /**
   * Starts trusting the cache: the caller now hears of every change. `lossless`: no change can go
   * unheard (the database lives in this process), so the TTL, a backstop for lost notices, is off.
   */
  enable({ lossless = false }: { lossless?: boolean } = {}): void {
    this.forgetEverything();
    this.entryTtlMs = lossless ? 0 : this.ttlMs;
    this.enabled = true;
  }

  /** Stops trusting it, and drops everything in it: changes may go unheard from now on. */
  disable(): void {
    this.enabled = false;
    this.forgetEverything();
  }

  get size(): number {
    return this.entries.size;
  }

  private unindex(tokenHash: string, auth: ValidatedSession): void {
    // A session has one token, so its entry is this one.
    this.tokenOfSession.delete(auth.session.id);
    const tokens = this.tokensOfUser.get(auth.user.id);
    tokens?.delete(tokenHash);
    if (tokens?.size === 0) this.tokensOfUser.delete(auth.user.id);
  }
}
