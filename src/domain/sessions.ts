import { randomUUID } from 'node:crypto';
import { AppError } from '../errors';
import type { AuthenticatedSession, Clock, Session, SessionKind, User, UserId } from './model';
import type { Liveness, SessionStore } from './ports';
import { generateSessionToken, hashSessionToken, isWellFormedSessionToken } from './tokens';

export interface SessionPolicy {
  absoluteTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  /** Last-used times are written at most this often per session, so most validations cost no write. */
  touchIntervalSeconds: number;
}

const MAX_USER_AGENT_LENGTH = 512;

/** A session as it starts, of either kind: the one place where its lifetime is decided. */
export function startingSession(
  kind: SessionKind,
  userId: UserId,
  userAgent: string | undefined,
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
  };
}

export interface SessionManagerDeps {
  store: SessionStore;
  clock: Clock;
  policy: SessionPolicy;
}

export function createSessionManager({ store, clock, policy }: SessionManagerDeps) {
  const livenessAt = (now: Date): Liveness => ({ now, idleTimeoutSeconds: policy.idleTimeoutSeconds });

  return {
    /**
     * Starts a session for a user as they were when their credentials were checked. The token
     * is returned here once and stored only as a hash. Throws INVALID_CREDENTIALS when the user
     * has changed since (a new password, disabled, deleted, their sessions ended): the session
     * would be dead on arrival.
     */
    async createSession(
      { id: userId, sessionEpoch }: Pick<User, 'id' | 'sessionEpoch'>,
      userAgent: string | undefined,
    ): Promise<{ token: string; session: Session }> {
      const token = generateSessionToken();
      const session = startingSession('bearer', userId, userAgent, clock.now(), policy);
      if (!(await store.insertSession({ ...session, tokenHash: hashSessionToken(token), userEpoch: sessionEpoch }))) {
        throw new AppError('INVALID_CREDENTIALS');
      }
      return { token, session };
    },

    /**
     * Answers the live session the token belongs to, or undefined for any token that is not
     * one. Records the use, at most once per touch interval.
     */
    async validateSessionToken(token: string): Promise<AuthenticatedSession | undefined> {
      if (!isWellFormedSessionToken(token)) return undefined;
      const now = clock.now();
      const found = await store.findLiveSessionByTokenHash(hashSessionToken(token), livenessAt(now));
      if (!found) return undefined;
      const staleBefore = new Date(now.getTime() - policy.touchIntervalSeconds * 1000);
      if (found.session.lastUsedAt > staleBefore) return found;
      const endsAt = await store.touchSession(found.session.id, livenessAt(now), staleBefore);
      // Undefined: another request recorded a use meanwhile, so the end read above still stands.
      if (endsAt === undefined) return found;
      return { ...found, session: { ...found.session, lastUsedAt: now }, endsAt };
    },

    /** Whole seconds until the session ends, unless it is used again. */
    remainingLifetimeSeconds({ endsAt }: AuthenticatedSession): number {
      return Math.max(0, Math.floor((endsAt.getTime() - clock.now().getTime()) / 1000));
    },

    listUserSessions(userId: UserId): Promise<Session[]> {
      return store.listLiveUserSessions(userId, livenessAt(clock.now()));
    },

    invalidateSession(sessionId: string): Promise<void> {
      return store.deleteSession(sessionId);
    },

    /** Ends one of the user's own sessions. Someone else's session is reported as not found. */
    async invalidateOwnSession(userId: UserId, sessionId: string): Promise<void> {
      if (!(await store.deleteUserSession(userId, sessionId))) {
        throw new AppError('NOT_FOUND', { message: 'No such session.' });
      }
    },

    /** Ends every session of the user, including one that a login in flight is creating. */
    invalidateUserSessions(userId: UserId): Promise<void> {
      return store.endUserSessions(userId);
    },

    /** Deletes sessions that have ended; answers how many. */
    purgeDeadSessions(): Promise<number> {
      return store.deleteDeadSessions(livenessAt(clock.now()));
    },
  };
}

export type SessionManager = ReturnType<typeof createSessionManager>;
