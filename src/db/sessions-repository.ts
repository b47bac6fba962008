import DataLoader from 'dataloader';
import type { Knex } from 'knex';
import type { AuthenticationMethod, Session, SessionKind, UserId, ValidatedSession } from '../domain/model';
import type { Liveness, SessionStore } from '../domain/ports';
import type { TokenIssuer, TokenLookup } from '../domain/session-tokens';
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
  amr: AuthenticationMethod[];
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
  's.amr',
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
    amr: row.amr,
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
 * `tokenHash` is null for a refresh session, whose tokens live in refresh_tokens, and for the
 * OpenID Provider's login session, which its cookie finds through oidc_models. The caller
 * appends its `returning` (and may wrap the statement); no row back means no session.
 */
export function insertSessionForCurrentUser(
  session: Session & { userEpoch: number },
  { kind, tokenHash }: { kind: SessionKind; tokenHash: string | null },
): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `insert into sessions (id, kind, token_hash, user_id, created_at, last_used_at, expires_at, user_agent, amr, user_epoch, token_mac)
          select ?, ?, ?, u.id, ?, ?, ?, ?, ?::text[], u.session_epoch, ? from users u
          where u.id = ? and u.session_epoch = ? and not u.disabled`,
    bindings: [
      session.id,
      kind,
      tokenHash,
      session.createdAt,
      session.lastUsedAt,
      session.expiresAt,
      session.userAgent,
      // An array literal: knex would spread an array binding into a list. The methods are fixed words.
      `{${session.amr.join(',')}}`,
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

// The webhook's lookups and recorded uses that come in one turn of the event loop share one
// statement. They come in bursts: when the cached sessions' time limits run out together, and
// after a quiet spell, when every session in use is due to have its use recorded. One statement
// each, a burst of a thousand held the event loop for up to a second (on PGlite, whose statements
// run on it; on PostgreSQL, in the query builder and the driver).
const ONE_STATEMENT_PER_TURN = {
  cache: false,
  batchScheduleFn: (run: () => void) => void setImmediate(run),
  maxBatchSize: 500,
} as const;

/**
 * A batch is answered as of its last asker's moment, the latest (the asks come in the order they
 * were made): a session that ended while the batch gathered is not answered live.
 */
const lastOf = <T>(asks: readonly T[]): T => {
  const last = asks.at(-1);
  if (last === undefined) throw new Error('a batch of no asks');
  return last;
};

export function createSessionsRepository(db: Knex): SessionStore {
  const { endsAt, isLive } = liveSessionRule(db);

  /** The live sessions of these token hashes, by hash. */
  async function liveSessions(tokenHashes: string[], liveness: Liveness): Promise<Map<string, ValidatedSession>> {
    const rows = await db('sessions as s')
      .join('users as u', 'u.id', 's.user_id')
      .select<(SessionLookupRow & { token_hash: string })[]>([
        's.token_hash',
        ...sessionColumns,
        ...userColumns(db),
        db.raw('? as ends_at', [endsAt(liveness.idleTimeoutSeconds)]),
      ])
      .whereIn('s.token_hash', tokenHashes)
      .andWhere(isLive(liveness));
    return new Map(
      rows.map((row) => [
        row.token_hash,
        {
          session: toSession({ ...row, id: row.session_id, created_at: row.session_created_at }),
          user: toUser(row),
          endsAt: row.ends_at,
        },
      ]),
    );
  }

  /**
   * The OpenID Provider's access tokens, which apps send to Hasura as a session's token is sent:
   * stored (src/db/openid-provider-store.ts) under the base64url form of the same SHA-256, live
   * while unexpired, while their user keeps the epoch of the login they come from, and (without
   * offline_access) while that login session lasts. A token stands for its login session (whose
   * end the webhook's cache hears of), or for its grant once that session is gone; its `amr` is
   * its login session's. Its use is not recorded: it lives by its lifetime alone, so it is
   * answered as just used.
   */
  async function providerAccessTokens(
    tokenHashes: string[],
    { now }: Liveness,
  ): Promise<Map<string, ValidatedSession>> {
    const hashes = new Map(tokenHashes.map((hash) => [Buffer.from(hash, 'hex').toString('base64url'), hash]));
    const rows = await db('oidc_models as a')
      .join('users as u', 'u.id', 'a.user_id')
      .leftJoin('oidc_models as login', (join) =>
        join.on('login.model', db.raw("'Session'")).andOn('login.uid', db.raw("a.payload->>'sessionUid'")),
      )
      .leftJoin('sessions as s', 's.id', 'login.session_id')
      .select<
        (UserRow & { id_hash: string; session_id: string; expires_at: Date; amr: AuthenticationMethod[] | null })[]
      >([
        'a.id_hash',
        db.raw('coalesce(s.id::text, a.grant_id) as session_id'),
        'a.expires_at',
        's.amr',
        ...userColumns(db),
      ])
      .where('a.model', 'AccessToken')
      .whereIn('a.id_hash', [...hashes.keys()])
      .whereNull('a.consumed_at')
      .andWhere('a.expires_at', '>', now)
      .andWhereRaw('a.user_epoch = u.session_epoch and not u.disabled')
      // A token without offline_access ends with its login session, as the provider has it.
      .andWhereRaw("(a.payload->>'expiresWithSession' is distinct from 'true' or s.id is not null)");
    return new Map(
      rows.map((row) => [
        hashes.get(row.id_hash)!,
        {
          session: {
            id: row.session_id,
            kind: 'op',
            userId: row.id,
            createdAt: now,
            lastUsedAt: now,
            expiresAt: row.expires_at,
            userAgent: null,
            amr: row.amr ?? [],
          },
          user: toUser(row),
          endsAt: row.expires_at,
        },
      ]),
    );
  }

  const lookups = new DataLoader<{ lookup: TokenLookup; liveness: Liveness }, ValidatedSession | undefined>(
    async (asks) => {
      const { liveness } = lastOf(asks);
      const hashesOf = (issuer: TokenIssuer) =>
        asks.filter((ask) => ask.lookup.issuer === issuer).map((ask) => ask.lookup.tokenHash);
      const [sessionHashes, providerHashes] = [hashesOf('session'), hashesOf('provider')];
      const [sessions, accessTokens] = await Promise.all([
        sessionHashes.length > 0 ? liveSessions(sessionHashes, liveness) : new Map<string, ValidatedSession>(),
        providerHashes.length > 0
          ? providerAccessTokens(providerHashes, liveness)
          : new Map<string, ValidatedSession>(),
      ]);
      return asks.map(({ lookup }) => (lookup.issuer === 'session' ? sessions : accessTokens).get(lookup.tokenHash));
    },
    ONE_STATEMENT_PER_TURN,
  );

  const touches = new DataLoader<{ id: string; liveness: Liveness; staleBefore: Date }, Date | undefined>(
    async (asks) => {
      const { liveness, staleBefore } = lastOf(asks);
      const rows: { id: string; ends_at: Date }[] = await db('sessions as s')
        .update({ last_used_at: liveness.now })
        .whereIn(
          's.id',
          asks.map((ask) => ask.id),
        )
        .andWhere('s.last_used_at', '<=', staleBefore)
        // Live as the lookup defines it, judged on the row before this write.
        .whereExists(db('users as u').select(db.raw('1')).whereRaw('u.id = s.user_id').andWhere(isLive(liveness)))
        // knex's types take column names only; raw expressions are valid SQL for RETURNING.
        .returning(db.raw('s.id, ? as ends_at', [endsAt(liveness.idleTimeoutSeconds)]) as unknown as 'id');
      const written = new Map(rows.map((row) => [row.id, row.ends_at]));
      // A session asked for twice in one batch was written once: by the first asker, whose use it
      // recorded. The others find it already recorded, as if another request had come first.
      return asks.map((ask) => {
        const endsAtNow = written.get(ask.id);
        written.delete(ask.id);
        return endsAtNow;
      });
    },
    ONE_STATEMENT_PER_TURN,
  );

  return withClassifiedFailures<SessionStore>({
    insertSession(session: NewSession): Promise<boolean> {
      const { sql, bindings } = insertSessionForCurrentUser(session, { kind: 'bearer', tokenHash: session.tokenHash });
      return insertedUnlessUserGone(db.raw(`${sql} returning id`, bindings));
    },

    insertProviderSession(session) {
      const { sql, bindings } = insertSessionForCurrentUser(session, { kind: 'op', tokenHash: null });
      return insertedUnlessUserGone(db.raw(`${sql} returning id`, bindings));
    },

    /**
     * The webhook's lookup: an indexed query that returns the live session and its user, shared
     * with the lookups of the same turn. The lookup is by SHA-256 of the token, so the index
     * compares hashes, never tokens.
     */
    findLiveSessionByToken(lookup: TokenLookup, liveness: Liveness): Promise<ValidatedSession | undefined> {
      return lookups.load({ lookup, liveness });
    },

    touchSession(id: string, liveness: Liveness, staleBefore: Date): Promise<Date | undefined> {
      return touches.load({ id, liveness, staleBefore });
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
