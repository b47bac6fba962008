import type { Knex } from 'knex';
import type { Liveness, RefreshSessionStore, RefreshTokenRotation } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';
import { onlyRow } from './rows';
import {
  insertedUnlessUserGone,
  insertSessionForCurrentUser,
  liveSessionRule,
  sessionColumns,
  toSession,
  type NewSession,
  type SessionLookupRow,
} from './sessions-repository';
import { toUser, userColumns } from './users-repository';

interface RefreshTokenRow {
  token_hash: string;
  session_id: string;
  issued_at: Date;
  rotated_at: Date | null;
}

export function createRefreshTokensRepository(db: Knex): RefreshSessionStore {
  const { endsAt, isLive } = liveSessionRule(db);

  return withClassifiedFailures<RefreshSessionStore>({
    insertRefreshSession(session: NewSession): Promise<boolean> {
      // One statement: the session exists only with its first token.
      const created = insertSessionForCurrentUser(session, { kind: 'refresh', tokenHash: null });
      return insertedUnlessUserGone(
        db.raw(
          `with created as (${created.sql} returning id, created_at)
           insert into refresh_tokens (token_hash, session_id, issued_at)
           select ?, id, created_at from created
           returning session_id`,
          [...created.bindings, session.tokenHash],
        ),
      );
    },

    async rotateRefreshToken(
      presentedHash: string,
      replacementHash: string,
      { liveness, reuseGraceStartsAt }: { liveness: Liveness; reuseGraceStartsAt: Date },
    ): Promise<RefreshTokenRotation> {
      return db.transaction(async (trx): Promise<RefreshTokenRotation> => {
        const owner = await trx('refresh_tokens as rt')
          .join('sessions as s', 's.id', 'rt.session_id')
          .select<{ session_id: string; user_id: number }>('rt.session_id', 's.user_id')
          .where('rt.token_hash', presentedHash)
          .first();
        if (!owner) return { outcome: 'unknown' };
        // Locks are taken in the order in which deletes cascade (users, sessions, refresh_tokens),
        // so a refresh never deadlocks with logout-all, a user's deletion or a session's.
        // FOR SHARE of the user: a change that ends the user's sessions (a new epoch) either
        // commits before this reads the user, and the session is dead, or waits for this refresh.
        await trx('users').select('id').where({ id: owner.user_id }).forShare();
        // The session's row lock makes refreshes of one session take turns, on every instance;
        // the second of two with the same token reads the rotation the first one committed.
        const locked = await trx<{ id: string }>('sessions')
          .select('id')
          .where({ id: owner.session_id })
          .forUpdate()
          .first();
        if (!locked) return { outcome: 'unknown' };
        const token = await trx<RefreshTokenRow>('refresh_tokens')
          .select('session_id', 'rotated_at')
          .where({ token_hash: presentedHash })
          .first();
        if (!token) return { outcome: 'unknown' };
        if (token.rotated_at !== null && token.rotated_at <= reuseGraceStartsAt) {
          // Someone holds a token that was replaced long ago: the thief or the victim, no telling
          // which, so the whole session ends.
          await trx('sessions').delete().where({ id: token.session_id });
          return { outcome: 'reused' };
        }
        const row = await trx('sessions as s')
          .join('users as u', 'u.id', 's.user_id')
          .select([...sessionColumns, ...userColumns(trx)])
          .where('s.id', token.session_id)
          .andWhere(isLive(liveness))
          .first<Omit<SessionLookupRow, 'ends_at'> | undefined>();
        if (!row) return { outcome: 'unknown' };

        if (token.rotated_at === null) {
          await trx('refresh_tokens').update({ rotated_at: liveness.now }).where({ token_hash: presentedHash });
        }
        // A retry within the grace window presents a token rotated already: its successor is the
        // same token, stored by the first rotation.
        await trx('refresh_tokens')
          .insert({ token_hash: replacementHash, session_id: token.session_id, issued_at: liveness.now })
          .onConflict('token_hash')
          .ignore();
        const { ends_at: endsAtNow } = onlyRow<{ ends_at: Date }>(
          await trx('sessions as s')
            .update({ last_used_at: liveness.now })
            .where('s.id', token.session_id)
            // knex's types take column names only; a raw expression is valid SQL for RETURNING.
            .returning(trx.raw('? as ends_at', [endsAt(liveness.idleTimeoutSeconds)]) as unknown as 'ends_at'),
        );
        return {
          outcome: 'rotated',
          auth: {
            session: toSession({
              ...row,
              id: row.session_id,
              created_at: row.session_created_at,
              last_used_at: liveness.now,
            }),
            user: toUser(row),
            endsAt: endsAtNow,
          },
        };
      });
    },

    async endSessionOfRefreshToken(tokenHash: string): Promise<void> {
      await db('sessions')
        .delete()
        .whereIn('id', db('refresh_tokens').select('session_id').where({ token_hash: tokenHash }));
    },
  });
}
