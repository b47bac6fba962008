import { randomUUID } from 'node:crypto';
import { AppError } from '../errors';
import type {
  AuthenticatedSession,
  AuthenticationMethod,
  Clock,
  NewSession,
  Session,
  SessionKind,
  User,
  UserId,
  ValidatedSession,
} from './model';
import type { Liveness, SessionStore } from './ports';
import type { SessionCache } from './session-cache';
import { hashSessionToken, type SessionTokens, type TokenLookup } from './session-tokens';

export interface SessionPolicy {
  absoluteTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  /** Last-used times are written at most this often per session, so most validations cost no write. */
  touchIntervalSeconds: number;
}

const MAX_USER_AGENT_LENGTH = 512;

/** Where a session comes from: the client that asked for it, and how its user proved who they are. */
export interface SessionOrigin {
  userAgent: string | undefined;
  amr: readonly AuthenticationMethod[];
}

/** A session as it starts, of either kind: the one place where its lifetime is decided. */
export function startingSession(
  kind: SessionKind,
  userId: UserId,
  { userAgent, amr }: SessionOrigin,
  now: Date,
  policy: Pick<SessionPolicy, 'absoluteTimeoutSeconds'>,
): Session {
  return {
    id: randomUUID(),
    kind,
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: new Date(now.getTime() + policy.absoluteTimeoutSeconds * 1000),
    userAgent: userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
    amr,
  };
}

/** When a session not used since it started ends: its idle deadline, unless its absolute end comes first. */
export function endOfUnusedSession(
  session: Pick<Session, 'lastUsedAt' | 'expiresAt'>,
  policy: Pick<SessionPolicy, 'idleTimeoutSeconds'>,
): Date {
  return new Date(
    Math.min(session.expiresAt.getTime(), session.lastUsedAt.getTime() + policy.idleTimeoutSeconds * 1000),
  );
}

/**
 * Who asks for a token's session. `api`: this service's own API, where every answer must be
 * current (the store, always) and only a session's token is accepted: an app's access token
 * manages no account. `webhook`: Hasura, on the hot path, which may answer from the session cache
 * while that hears of every change, and which accepts the OpenID Provider's access tokens too.
 */
export type TokenUse = 'api' | 'webhook';

/**
 * What memory alone tells of a token on the webhook's path, without a query or a wait: its
 * session, when that is cached, live, and has no use due to be recorded; that it is no token this
 * service issued; or that only the database can tell.
 */
export type Recollection =
  { outcome: 'session'; session: AuthenticatedSession } | { outcome: 'not-issued' } | { outcome: 'ask-database' };

const NOT_ISSUED: Recollection = Object.freeze({ outcome: 'not-issued' });
const ASK_DATABASE: Recollection = Object.freeze({ outcome: 'ask-database' });

export interface SessionManagerDeps {
  store: SessionStore;
  tokens: SessionTokens;
  clock: Clock;
  policy: SessionPolicy;
  /** Absent: every validation reads the store. */
  cache?: SessionCache;
  /**
   * The id (`jti`) of an access token that the OpenID Provider issued as a JWT, once its
   * signature, issuer, audience and type are checked; undefined for any other token. Absent
   * without the provider.
   */
  providerJwtIdOf?: (token: string) => Promise<string | undefined>;
}

/** A JWS in compact form: the only shape of a token that may be the OpenID Provider's JWT. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function createSessionManager({ store, tokens, clock, policy, cache, providerJwtIdOf }: SessionManagerDeps) {
  const livenessAt = (now: Date): Liveness => ({ now, idleTimeoutSeconds: policy.idleTimeoutSeconds });
  const findLive = (lookup: TokenLookup) => store.findLiveSessionByToken(lookup, livenessAt(clock.now()));
  /** A use recorded at or before this moment is due to be recorded again. */
  const staleBefore = (now: Date) => new Date(now.getTime() - policy.touchIntervalSeconds * 1000);

  /**
   * Records the use, unless it was recorded within the touch interval. Answers the session as it
   * now stands, or undefined when the write found it already recorded by someone else (whose view
   * of the session is then newer than this one).
   */
  async function recordUse(found: ValidatedSession, now: Date): Promise<AuthenticatedSession | undefined> {
    const dueBefore = staleBefore(now);
    if (found.session.lastUsedAt > dueBefore) return { ...found, renewed: false };
    const endsAt = await store.touchSession(found.session.id, livenessAt(now), dueBefore);
    if (endsAt === undefined) return undefined;
    return { ...found, session: { ...found.session, lastUsedAt: now }, endsAt, renewed: true };
  }

  async function validateFromDatabase(lookup: TokenLookup): Promise<AuthenticatedSession | undefined> {
    const found = await findLive(lookup);
    if (!found) return undefined;
    // Undefined: another request recorded a use meanwhile, so the end read above still stands.
    return (await recordUse(found, clock.now())) ?? { ...found, renewed: false };
  }

  async function validateFromCache(activeCache: SessionCache, lookup: TokenLookup) {
    const { tokenHash } = lookup;
    const now = clock.now();
    const generation = activeCache.currentGeneration;
    const recalled = await activeCache.recall(tokenHash, () => findLive(lookup));
    if (!recalled) return undefined;
    // The cache keeps a session for a while; its end comes when it comes.
    if (recalled.endsAt <= now) {
      activeCache.dropOutdated(tokenHash);
      return validateFromDatabase(lookup);
    }
    const used = await recordUse(recalled, now);
    if (used === undefined) {
      // Another instance recorded a use: this view is older than the database's.
      activeCache.dropOutdated(tokenHash);
      return validateFromDatabase(lookup);
    }
    // Kept as it now stands, unless an invalidation came since it was read: a logout that raced
    // the write above must not be undone by keeping what was read before it.
    activeCache.remember(tokenHash, { session: used.session, user: used.user, endsAt: used.endsAt }, generation);
    return used;
  }

  return {
    /**
     * Starts a session for a user as they were when their credentials were checked. The token
     * is returned here once and stored only as a hash. Throws INVALID_CREDENTIALS when the user
     * has changed since (a new password, disabled, deleted, their sessions ended): the session
     * would be dead on arrival.
     */
    async createSession(
      { id: userId, sessionEpoch }: Pick<User, 'id' | 'sessionEpoch'>,
      origin: SessionOrigin,
    ): Promise<NewSession> {
      const now = clock.now();
      const token = tokens.generate();
      const session = startingSession('bearer', userId, origin, now, policy);
      if (!(await store.insertSession({ ...session, tokenHash: hashSessionToken(token), userEpoch: sessionEpoch }))) {
        throw new AppError('INVALID_CREDENTIALS');
      }
      return { token, session, endsAt: endOfUnusedSession(session, policy) };
    },

    /**
     * Starts the OpenID Provider's login session (SSO) for a user as they were when their
     * credentials were checked: a session like any other, without a token of its own (the
     * provider's cookie finds it). Throws INVALID_CREDENTIALS as createSession does.
     */
    async createProviderSession(
      { id: userId, sessionEpoch }: Pick<User, 'id' | 'sessionEpoch'>,
      origin: SessionOrigin,
    ): Promise<Session> {
      const session = startingSession('op', userId, origin, clock.now(), policy);
      if (!(await store.insertProviderSession({ ...session, userEpoch: sessionEpoch }))) {
        throw new AppError('INVALID_CREDENTIALS');
      }
      return session;
    },

    /**
     * Answers the live session the token belongs to, or undefined for any token that is not
     * one. Records the use, at most once per touch interval. A token this service never issued
     * costs no query.
     */
    async validateSessionToken(token: string, use: TokenUse = 'api'): Promise<AuthenticatedSession | undefined> {
      // (A token of this service's own form is never a JWS: it has no dots.)
      if (use === 'webhook' && providerJwtIdOf && COMPACT_JWS.test(token)) {
        // Its signature is checked on every call; it is then found by the hash of its id, in the
        // database and never in the cache, whose keys are hashes of whole tokens: a token that
        // was only the id would otherwise find it there.
        const jwtId = await providerJwtIdOf(token);
        return jwtId === undefined
          ? undefined
          : validateFromDatabase({ tokenHash: hashSessionToken(jwtId), issuer: 'provider' });
      }
      const lookup = tokens.lookupOf(token);
      if (lookup === undefined || (lookup.issuer === 'provider' && use !== 'webhook')) return undefined;
      return use === 'webhook' && cache ? validateFromCache(cache, lookup) : validateFromDatabase(lookup);
    },

    /**
     * What memory alone tells of the token (see Recollection): the webhook's hot path, which
     * answers most calls from here with no query and no wait. A token whose hash is cached was
     * confirmed by the database, so only a token that is not cached has its MAC checked.
     */
    recallSessionToken(token: string): Recollection {
      const cached = cache?.peek(hashSessionToken(token));
      if (cached === undefined) {
        const mayBeIssued = tokens.issuerOf(token) !== undefined || (providerJwtIdOf && COMPACT_JWS.test(token));
        return mayBeIssued ? ASK_DATABASE : NOT_ISSUED;
      }
      const now = clock.now();
      // Ended, or its use is due: the slow path decides, and records the use.
      if (cached.endsAt <= now || cached.session.lastUsedAt <= staleBefore(now)) return ASK_DATABASE;
      return { outcome: 'session', session: { ...cached, renewed: false } };
    },

    /** Whole seconds until the session ends, unless it is used again. */
    remainingLifetimeSeconds({ endsAt }: Pick<AuthenticatedSession, 'endsAt'>): number {
      return Math.max(0, Math.floor((endsAt.getTime() - clock.now().getTime()) / 1000));
    },

    listUserSessions(userId: UserId): Promise<Session[]> {
      return store.listLiveUserSessions(userId, livenessAt(clock.now()));
    },

    async endSession(sessionId: string): Promise<void> {
      await store.deleteSession(sessionId);
    },

    /** Ends one of the user's own sessions. Someone else's session is reported as not found. */
    async endOwnSession(userId: UserId, sessionId: string): Promise<void> {
      const deleted = await store.deleteUserSession(userId, sessionId);
      if (!deleted) throw new AppError('NOT_FOUND', { message: 'No such session.' });
    },

    /** Ends every session of the user, including one that a login in flight is creating. */
    async endUserSessions(userId: UserId): Promise<void> {
      await store.endUserSessions(userId);
    },

    /** Deletes sessions that have ended; answers how many. */
    purgeDeadSessions(): Promise<number> {
      return store.deleteDeadSessions(livenessAt(clock.now()));
    },

    /** How many sessions are live now, across all users. */
    countLiveSessions(): Promise<number> {
      return store.countLiveSessions(livenessAt(clock.now()));
    },
  };
}

export type SessionManager = ReturnType<typeof createSessionManager>;
