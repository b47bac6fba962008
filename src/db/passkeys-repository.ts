import type { Knex } from 'knex';
import type { UserId } from '../domain/model';
import type { Passkey, PasskeyStore, StoredPasskey } from '../domain/ports';
import { isUniqueViolation, withClassifiedFailures } from './database-errors';
import { countOf, lockLoginMethods } from './login-methods';
import { textArray } from './rows';

interface PasskeyRow {
  id: string;
  user_id: number;
  public_key: Uint8Array;
  counter: string | number;
  transports: string[];
  name: string;
  device_type: Passkey['deviceType'];
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

const toPasskey = (row: PasskeyRow): Passkey => ({
  id: row.id,
  name: row.name,
  deviceType: row.device_type,
  backedUp: row.backed_up,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export function createPasskeysRepository(db: Knex): PasskeyStore {
  return withClassifiedFailures<PasskeyStore>({
    async insertChallenge({ challengeHash, purpose, userId, expiresAt }) {
      await db('passkey_challenges').insert({
        challenge_hash: challengeHash,
        purpose,
        user_id: userId,
        expires_at: expiresAt,
      });
    },

    async consumeChallenge(challengeHash, purpose, userId, now) {
      const deleted = await db('passkey_challenges')
        .delete()
        .where({ challenge_hash: challengeHash, purpose })
        .andWhereRaw('user_id is not distinct from ?', [userId])
        .andWhere('expires_at', '>', now);
      return deleted > 0;
    },

    deleteExpiredChallenges(now) {
      return db('passkey_challenges').delete().where('expires_at', '<=', now);
    },

    async insertPasskey(passkey: StoredPasskey) {
      try {
        await db('passkeys').insert({
          id: passkey.id,
          user_id: passkey.userId,
          public_key: Buffer.from(passkey.publicKey),
          counter: passkey.counter,
          transports: textArray(db, passkey.transports),
          name: passkey.name,
          device_type: passkey.deviceType,
          backed_up: passkey.backedUp,
          created_at: passkey.createdAt,
        });
        return 'inserted';
      } catch (error) {
        if (isUniqueViolation(error)) return 'exists';
        throw error;
      }
    },

    async findPasskey(id) {
      const row = await db<PasskeyRow>('passkeys').where({ id }).first();
      return (
        row && {
          ...toPasskey(row),
          userId: row.user_id,
          // pg answers a Buffer, PGlite a Uint8Array.
          publicKey: new Uint8Array(row.public_key),
          counter: Number(row.counter),
          transports: row.transports,
        }
      );
    },

    async listPasskeys(userId) {
      const rows = await db<PasskeyRow>('passkeys').where({ user_id: userId }).orderBy('created_at');
      return rows.map(toPasskey);
    },

    async countPasskeys(userIds: readonly UserId[]) {
      const rows = await db('passkeys')
        .select('user_id')
        .count<{ user_id: number; count: string | number }[]>({ count: '*' })
        .whereIn('user_id', userIds)
        .groupBy('user_id');
      return new Map(rows.map((row) => [row.user_id, Number(row.count)]));
    },

    async recordUse(id, counter, now) {
      const updated = await db('passkeys')
        .update({ counter, last_used_at: now })
        .where({ id })
        .andWhereRaw('(counter < ? or (counter = 0 and ? = 0))', [counter, counter]);
      return updated > 0;
    },

    async rename(userId, id, name) {
      const [row] = await db<PasskeyRow>('passkeys').update({ name }).where({ id, user_id: userId }).returning('*');
      return row && toPasskey(row);
    },

    async deletePasskey(userId, id, { keepLastLoginMethod }) {
      return db.transaction(async (trx) => {
        const methods = await lockLoginMethods(trx, userId);
        if (!methods?.passkeyIds.includes(id)) return 'not-found';
        if (keepLastLoginMethod && countOf(methods) === 1) return 'last-login-method';
        await trx('passkeys').delete().where({ id, user_id: userId });
        return 'deleted';
      });
    },

    deleteUserPasskeys(userId) {
      return db('passkeys').delete().where({ user_id: userId });
    },
  });
}
