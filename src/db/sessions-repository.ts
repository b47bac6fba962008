import type { Knex } from 'knex';
import type { Session, SessionKind, UserId, ValidatedSession } from '../domain/model';
import type { Liveness, SessionStore } from '../domain/ports';
import { isForeignKeyViolation, withClassifiedFailures } from './database-errors';
import { toUser, userColumns, type UserRow } from './users-repository';

export interface SessionRow {
  id: string;
  kind: SessionKind;
  user_id: number;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  user_agent: string | null;
}

export type SessionLookupRow = UserRow &
  Omit<SessionRow, 'id' | 'created_at'> & { session_id: string; session_created_at: Date; ends_at: Date };

export const sessionColumns = [
  's.id as session_id',
  's.kind',
  's.user_id',
  's.created_at as session_created_at',
  's.last_used_at',
  's.expires_at',
  's.user_agent',
];

export function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    kind: row.kind,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    userAgent: row.user_agent,
  };
}

/**
 * The one definition of a live session, over `sessions as s` joined to `users as u`: it carries
 * its user's current epoch, its user is enabled, and it has not ended. It ends at its absolute
 * end or once it has been idle for the idle timeout, whichever comes first (`endsAt`). Bearer and
 * refresh sessions live by the same rule.
 */
export function liveSessionRule(db: Knex) {
  const endsAt = (idleTimeoutSeconds: number) =>
    db.raw('least(s.expires_at, s.last_used_at + make_interval(secs => ?))', [idleTimeoutSeconds]);
  const isLive = ({ now, idleTimeoutSeconds }: Liveness) =>
    db.raw('s.user_epoch = u.session_epoch and not u.disabled and ? > ?', [endsAt(idleTimeoutSeconds), now]);
  return { endsAt, isLive };
}

/** A session to store, with what the credential check saw: the user's epoch at that moment. */
export type NewSession = Session & { tokenHash: string; userEpoch: number };

/**
 * The one way a session is created: an `insert … select` that stores it only while its user is
 * still as they were when their credentials were checked (same epoch, enabled), so that a
 * password change, disable or role change that commits during bcrypt leaves no session behind.
 * `tokenHash` is null for a refresh session, whose tokens live in refresh_tokens. The caller
 * appends its `returning` (and may wrap the statement); no row back means no session.
 */
export function insertSessionForCurrentUser(
  session: NewSession,
  { kind, tokenHash }: { kind: SessionKind; tokenHash: string | null },
): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `insert into sessions (id, kind, token_hash, user_id, created_at, last_used_at, expires_at, user_agent, user_epoch, token_mac)
          select ?, ?, ?, u.id, ?, ?, ?, ?, u.session_epoch, ? from users u
          where u.id = ? and u.session_epoch = ? and not u.disabled`,
    bindings: [
      session.id,
      kind,
      tokenHash,
      session.createdAt,
      session.lastUsedAt,
      session.expiresAt,
      session.userAgent,
      tokenHash !== null,
      session.userId,
      session.userEpoch,
    ],
  };
}

/** Whether the insert stored a row; false too when the user was deleted between the check and the foreign key's. */
export async function insertedUnlessUserGone(insert: Promise<{ rows: unknown[] }>): Promise<boolean> {
  try {
    return (await insert).rows.length > 0;
  } catch (error) {
    if (isForeignKeyViolation(error)) return false;
    throw error;
  }
}

export function createSessionsRepository(db: Knex): SessionStore {
  const { endsAt, isLive } = liveSessionRule(db);

  return withClassifiedFailures<SessionStore>({
    insertSession(session: NewSession): Promise<boolean> {
      const { sql, bindings } = insertSessionForCurrentUser(session, { kind: 'bearer', tokenHash: session.tokenHash });
      return insertedUnlessUserGone(db.raw(`${sql} returning id`, bindings));
    },

    /**
     * The webhook's hot path: one indexed query that returns the live session and its user.
     * The lookup is by SHA-256 of the token, so the index compares hashes, never tokens.
     */
    async findLiveSessionByTokenHash(tokenHash: string, liveness: Liveness): Promise<ValidatedSession | undefined> {
      const row = await db('sessions as s')
        .join('users as u', 'u.id', 's.user_id')
        .select([...sessionColumns, ...userColumns(db), db.raw('? as ends_at', [endsAt(liveness.idleTimeoutSeconds)])])
        .where('s.token_hash', tokenHash)
        .andWhere(isLive(liveness))
        .first<SessionLookupRow | undefined>();
      if (!row) return undefined;
      return {
        session: toSession({ ...row, id: row.session_id, created_at: row.session_created_at }),
        user: toUser(row),
        endsAt: row.ends_at,
      };
    },

    async touchSession(id: string, liveness: Liveness, staleBefore: Date): Promise<Date | undefined> {
      const rows: { ends_at: Date }[] = await db('sessions as s')
        .update({ last_used_at: liveness.now })
        .where('s.id', id)
        .andWhere('s.last_used_at', '<=', staleBefore)
        // Live as the lookup defines it, judged on the row before this write.
        .whereExists(db('users as u').select(db.raw('1')).whereRaw('u.id = s.user_id').andWhere(isLive(liveness)))
        // knex's types take column names only; a raw expression is valid SQL for RETURNING.
        .returning(db.raw('? as ends_at', [endsAt(liveness.idleTimeoutSeconds)]) as unknown as 'ends_at');
      return rows[0]?.ends_at;
    },

    async listLiveUserSessions(userId: UserId, liveness: Liveness): Promise<Session[]> {
      return db('sessions as s')
        .join('users as u', 'u.id', 's.user_id')
        .select<SessionRow[]>('s.*')
        .where('s.user_id', userId)
        .andWhere(isLive(liveness))
        .orderBy('s.created_at', 'desc')
        .then((rows) => rows.map(toSession));
    },

    async deleteSession(id: string): Promise<void> {
      await db('sessions').delete().where({ id });
    },

    async deleteUserSession(userId: UserId, id: string): Promise<boolean> {
      return (await db('sessions').delete().where({ id, user_id: userId })) > 0;
    },

    async endUserSessions(userId: UserId): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('users').increment('session_epoch', 1).where({ id: userId });
        await trx('sessions').delete().where({ user_id: userId });
      });
    },

    async deleteDeadSessions(liveness: Liveness): Promise<number> {
      return db.transaction(async (trx) => {
        // Dead sessions need no cache invalidation: the triggers stay quiet for this transaction.
        await trx.raw("set local auth.purging = 'on'");
        return trx('sessions as s')
          .delete()
          .whereNotExists(
            trx('users as u').select(trx.raw('1')).whereRaw('u.id = s.user_id').andWhere(isLive(liveness)),
          );
      });
    },

    async hasSessionsWithoutTokenMac(): Promise<boolean> {
      // Written as the partial index's predicate, so that the index answers.
      return (
        (await db('sessions').select('id').whereRaw('not token_mac and token_hash is not null').first()) !== undefined
      );
    },

    async countLiveSessions(liveness: Liveness): Promise<number> {
      const row = await db('sessions as s')
        .join('users as u', 'u.id', 's.user_id')
        .where(isLive(liveness))
        .count<{ count: string | number }>({ count: '*' })
        .first();
      return Number(row?.count ?? 0);
    },
  });
}
