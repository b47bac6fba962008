import { randomUUID } from 'node:crypto';
import { AppError } from '../errors';
import type { AuthenticatedSession, Clock, Session, UserId } from './model';
import type { Liveness, SessionStore } from './ports';
import { generateSessionToken, hashSessionToken, isWellFormedSessionToken } from './tokens';

export interface SessionPolicy {
  absoluteTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  /** Last-used times are written at most this often per session, so most validations cost no write. */
  touchIntervalSeconds: number;
}

const MAX_USER_AGENT_LENGTH = 512;

export interface SessionManagerDeps {
  store: SessionStore;
  clock: Clock;
  policy: SessionPolicy;
}

export function createSessionManager({ store, clock, policy }: SessionManagerDeps) {
  const secondsBefore = (time: Date, seconds: number) => new Date(time.getTime() - seconds * 1000);
  const livenessAt = (now: Date): Liveness => ({ now, idleCutoff: secondsBefore(now, policy.idleTimeoutSeconds) });

  return {
    /** Starts a session. The token is returned here once and stored only as a hash. */
    async createSession(userId: UserId, userAgent: string | undefined): Promise<{ token: string; session: Session }> {
      const now = clock.now();
      const token = generateSessionToken();
      const session: Session = {
        id: randomUUID(),
        userId,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + policy.absoluteTimeoutSeconds * 1000),
        userAgent: userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
      };
      await store.insertSession({ ...session, tokenHash: hashSessionToken(token) });
      return { token, session };
    },

    /** Answers the live session the token belongs to, or undefined for any token that is not one. */
    async validateSessionToken(token: string): Promise<AuthenticatedSession | undefined> {
      if (!isWellFormedSessionToken(token)) return undefined;
      const now = clock.now();
      const found = await store.findLiveSessionByTokenHash(hashSessionToken(token), livenessAt(now));
      if (!found) return undefined;
      const staleBefore = secondsBefore(now, policy.touchIntervalSeconds);
      if (found.session.lastUsedAt <= staleBefore) {
        await store.touchSession(found.session.id, now, staleBefore);
        found.session.lastUsedAt = now;
      }
      return found;
    },

    /** Whole seconds until the session ends, by whichever comes first: its absolute or its idle limit. */
    remainingLifetimeSeconds(session: Session): number {
      const idleEnd = session.lastUsedAt.getTime() + policy.idleTimeoutSeconds * 1000;
      const end = Math.min(session.expiresAt.getTime(), idleEnd);
      return Math.max(0, Math.floor((end - clock.now().getTime()) / 1000));
    },

    listUserSessions(userId: UserId): Promise<Session[]> {
      return store.listLiveUserSessions(userId, livenessAt(clock.now()));
    },

    invalidateSession(sessionId: string): Promise<void> {
      return store.deleteSession(sessionId);
    },

    /** Ends one of the user's own sessions. Someone else's session is reported as not found. */
    async invalidateOwnSession(userId: UserId, sessionId: string): Promise<void> {
      if (!(await store.deleteUserSession(userId, sessionId))) throw new AppError('NOT_FOUND', 'No such session.');
    },

    async invalidateUserSessions(userId: UserId): Promise<void> {
      await store.deleteUserSessions(userId);
    },

    /** Deletes expired and idle sessions; answers how many. */
    purgeDeadSessions(): Promise<number> {
      return store.deleteDeadSessions(livenessAt(clock.now()));
    },
  };
}

export type SessionManager = ReturnType<typeof createSessionManager>;
