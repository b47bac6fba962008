import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../domain/model';
import type { Liveness } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';
import { liveSessionRule } from './sessions-repository';

/**
 * Storage for oidc-provider's models (its "adapter"), in `oidc_models`, keyed by the SHA-256 of
 * each id: a session's id is its cookie, a code's or a token's id is the code or the token.
 *
 * The rules that end sessions hold here, in the database, for everything the provider keeps:
 * - a login session (model Session, once someone logged in) is found only while its row in
 *   `sessions` lives, by the same rule as every other session (epoch, disabled, idle and
 *   absolute timeouts); that row's deletion deletes it;
 * - a grant carries the epoch of the login session it was given in, and a code or token the
 *   epoch of its grant: each is found only while its user still has that epoch and is enabled,
 *   so logout-all, a new password, a role change, disable or the admin's order end them all at
 *   once, including a token issued by a request that was in flight at that moment.
 */

/** Models whose rows belong to a user, and die with the user's epoch. */
const USER_BOUND_MODELS = new Set(['Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode']);

/** What the request being served says about the login session a grant belongs to. */
export interface LoginSessionLinks {
  /** The `sessions` row the login just made (the interaction's result), if it made one. */
  loginSessionId?: string;
  /** The ids of the provider's session of this request (its current and its previous one). */
  providerSessionIds: string[];
  /** The request is a logout at the provider: the login session it ends ends in `sessions` too. */
  loggingOut: boolean;
}

/** A logout that an app which registered a back-channel URI is to be told of. */
export interface BackchannelLogout {
  clientId: string;
  accountId: string;
  sid: string;
}

export type ProviderPayload = Record<string, unknown> & {
  accountId?: string;
  grantId?: string;
  clientId?: string;
  uid?: string;
  consumed?: number;
};

export interface ProviderModelAdapter {
  upsert(id: string, payload: ProviderPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<ProviderPayload | undefined>;
  findByUid(uid: string): Promise<ProviderPayload | undefined>;
  findByUserCode(userCode: string): Promise<ProviderPayload | undefined>;
  /** Marks it used; false when it was used already (another request consumed it first). */
  consume(id: string): Promise<boolean>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

interface ModelRow {
  id_hash: string;
  payload: ProviderPayload;
  consumed_at: Date | null;
  alive: boolean;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

export function createProviderModelStore(
  db: Knex,
  clock: Clock,
  policy: { idleTimeoutSeconds: number },
  currentLinks: () => LoginSessionLinks | undefined,
) {
  const { isLive } = liveSessionRule(db);
  const liveness = (): Liveness => ({ now: clock.now(), idleTimeoutSeconds: policy.idleTimeoutSeconds });

  /** The login session that what is saved now belongs to: the one just made, or that of the provider sessions named. */
  const loginSessionOf = (loginSessionId: string | undefined, providerSessionIds: readonly string[]): Knex.Raw => {
    if (loginSessionId) return db.raw('?::uuid', [loginSessionId]);
    return db.raw(
      `(select session_id from oidc_models
        where model = 'Session' and id_hash = any(?::text[]) and session_id is not null limit 1)`,
      // An array literal: knex would spread an array binding into a list. Hashes are base64url.
      [`{${providerSessionIds.map(hashOf).join(',')}}`],
    );
  };

  /** The columns that tie a row to a login session or a user, by model. */
  const bindingOf = (model: string, id: string, payload: ProviderPayload): Record<string, unknown> => {
    const links = currentLinks();
    if (model === 'Session') {
      if (payload.accountId === undefined) return { session_id: null };
      // Saved again (a new cookie after an interaction, another client's authorization): the same login.
      return { session_id: loginSessionOf(links?.loginSessionId, [id, ...(links?.providerSessionIds ?? [])]) };
    }
    if (!USER_BOUND_MODELS.has(model)) return {};
    const bound = { user_id: Number(payload.accountId), client_id: payload.clientId ?? null };
    if (model === 'Grant') {
      return {
        ...bound,
        user_epoch: db.raw('(select user_epoch from sessions where id = ?)', [
          loginSessionOf(links?.loginSessionId, links?.providerSessionIds ?? []),
        ]),
      };
    }
    return {
      ...bound,
      user_epoch: db.raw(`(select user_epoch from oidc_models where model = 'Grant' and id_hash = ?)`, [
        hashOf(String(payload.grantId)),
      ]),
    };
  };

  /** Whether the row may be found: its login session lives, or its user still has its epoch. */
  const aliveColumn = () =>
    db.raw(
      `coalesce(case
         when m.model = 'Session' then m.consumed_at is null and ((m.payload->>'accountId') is null or (s.id is not null and ?))
         when m.user_id is not null then m.user_epoch = u.session_epoch and not u.disabled
         else true
       end, false) as alive`,
      [isLive(liveness())],
    );

  const findRow = (model: string, column: 'm.id_hash' | 'm.uid', value: string): Promise<ModelRow | undefined> =>
    db('oidc_models as m')
      .leftJoin('sessions as s', 's.id', 'm.session_id')
      .leftJoin('users as u', 'u.id', db.raw('coalesce(s.user_id, m.user_id)'))
      .select<ModelRow[]>('m.id_hash', 'm.payload', 'm.consumed_at', aliveColumn())
      .where('m.model', model)
      .andWhere(column, value)
      .andWhere((q) => void q.whereNull('m.expires_at').orWhere('m.expires_at', '>', clock.now()))
      // A session's uid stays when its id changes: the row the old id left behind comes last.
      .orderByRaw('m.consumed_at nulls first')
      .first();

  const payloadOf = (row: ModelRow | undefined, id?: string): ProviderPayload | undefined => {
    if (!row?.alive) return undefined;
    return {
      ...row.payload,
      ...(id !== undefined && { jti: id }),
      ...(row.consumed_at !== null && { consumed: Math.floor(row.consumed_at.getTime() / 1000) }),
    };
  };

  const adapterFor = (model: string): ProviderModelAdapter =>
    withClassifiedFailures<ProviderModelAdapter>({
      async upsert(id, payload, expiresIn) {
        // The id stays out of the stored payload: only its hash is kept.
        const { jti: _id, ...stored } = payload;
        const binding = bindingOf(model, id, payload);
        const saved = db('oidc_models')
          .insert({
            model,
            id_hash: hashOf(id),
            payload: JSON.stringify(stored),
            grant_id: payload.grantId ?? null,
            uid: payload.uid ?? null,
            expires_at: expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null,
            ...binding,
          })
          .onConflict(['model', 'id_hash'])
          // A grant keeps the epoch it was given with; everything else is as the provider says now.
          .merge(['payload', 'expires_at', ...(model === 'Session' ? ['session_id'] : [])]);
        if (model !== 'Session') {
          await saved;
          return;
        }
        // A login session is saved as it is used (each app it logs in): that is its use, which
        // keeps it from its idle timeout.
        const [row] = await saved.returning<{ session_id: string | null }[]>('session_id');
        if (row?.session_id) {
          await db('sessions')
            .update({ last_used_at: clock.now() })
            .where('id', row.session_id)
            .andWhere('last_used_at', '<', clock.now());
        }
      },

      async find(id) {
        return payloadOf(await findRow(model, 'm.id_hash', hashOf(id)), id);
      },

      async findByUid(uid) {
        return payloadOf(await findRow(model, 'm.uid', uid));
      },

      findByUserCode() {
        // The device flow is off.
        return Promise.resolve(undefined);
      },

      async consume(id) {
        // Conditional: of two requests that race with one code or refresh token, one wins.
        const updated = await db('oidc_models')
          .update({ consumed_at: clock.now() })
          .where({ model, id_hash: hashOf(id) })
          .whereNull('consumed_at');
        return updated > 0;
      },

      async destroy(id) {
        const row = { model, id_hash: hashOf(id) };
        if (model !== 'Session') {
          await db('oidc_models').delete().where(row);
          return;
        }
        // The provider gives a session a new id (a new cookie) by destroying the old one before it
        // saves the new one: the old row is kept, unusable, until the purge, so that the new one
        // can still be tied to the login it continues. Marked first: a session that ends already
        // marked queues no back-channel logout (the library sends the logout's own).
        await db('oidc_models').update({ consumed_at: clock.now() }).where(row);
        if (currentLinks()?.loggingOut) {
          // Logging out ends the login session here too, and (by cascade) every cookie of it.
          await db('sessions').delete().whereIn('id', db('oidc_models').select('session_id').where(row));
        }
      },

      async revokeByGrantId(grantId) {
        await db('oidc_models').delete().where({ grant_id: grantId });
      },
    });

  return {
    adapterFor,

    /**
     * Takes (deletes and answers) back-channel logouts that the database queued when a rule ended
     * login sessions (migration 20261212000000): each is taken by one instance only.
     */
    async takeBackchannelLogouts(limit: number): Promise<BackchannelLogout[]> {
      const rows = await db('oidc_backchannel_logouts')
        .delete()
        .whereIn('id', db('oidc_backchannel_logouts').select('id').orderBy('id').limit(limit).forUpdate().skipLocked())
        .returning<{ client_id: string; account_id: string; sid: string }[]>(['client_id', 'account_id', 'sid']);
      return rows.map((row) => ({ clientId: row.client_id, accountId: row.account_id, sid: row.sid }));
    },

    /** Deletes what has expired; answers how many. */
    purgeExpired(): Promise<number> {
      return db('oidc_models').delete().where('expires_at', '<=', clock.now());
    },
  };
}

export type ProviderModelStore = ReturnType<typeof createProviderModelStore>;
