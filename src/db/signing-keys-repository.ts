import type { Knex } from 'knex';
import type { SigningAlgorithm, SigningKeyRecord, SigningKeyStore, SigningKeysInUse } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';

interface SigningKeyRow {
  kid: string;
  algorithm: SigningAlgorithm;
  public_jwk: Record<string, unknown>;
  private_jwk: Record<string, unknown> | null;
  created_at: Date;
  signs_from: Date;
  retired_at: Date | null;
}

export function createSigningKeysRepository(db: Knex): SigningKeyStore {
  const toRow = (key: SigningKeyRecord) => ({
    kid: key.kid,
    algorithm: key.algorithm,
    public_jwk: JSON.stringify(key.publicJwk),
    // SQL NULL, not the JSON value null: the column says whether a private half is stored at all.
    private_jwk: key.privateJwk === null ? null : JSON.stringify(key.privateJwk),
    created_at: key.createdAt,
    signs_from: key.signsFrom,
    retired_at: key.retiredAt,
  });

  const whereInUse = (query: Knex.QueryBuilder, inUse: SigningKeysInUse, inUseOrNot: boolean) => {
    if ('kids' in inUse) return inUseOrNot ? query.whereIn('kid', inUse.kids) : query.whereNotIn('kid', inUse.kids);
    return inUseOrNot ? query.whereNotNull('private_jwk') : query.whereNull('private_jwk');
  };

  return withClassifiedFailures<SigningKeyStore>({
    async listSigningKeys(): Promise<SigningKeyRecord[]> {
      const rows = await db<SigningKeyRow>('signing_keys')
        .select('*')
        .orderBy([{ column: 'signs_from' }, 'kid']);
      return rows.map((row) => ({
        kid: row.kid,
        algorithm: row.algorithm,
        publicJwk: row.public_jwk,
        privateJwk: row.private_jwk,
        createdAt: row.created_at,
        signsFrom: row.signs_from,
        retiredAt: row.retired_at,
      }));
    },

    async insertSigningKey(key: SigningKeyRecord): Promise<void> {
      await db('signing_keys').insert(toRow(key));
    },

    async insertSigningKeyUnlessAlgorithmExists(key: SigningKeyRecord): Promise<boolean> {
      return db.transaction(async (trx) => {
        // Two instances starting on an empty table would each generate a key, and a Hasura that
        // fetched the JWKS between the two inserts would refuse the second key's tokens.
        await trx.raw('lock table signing_keys in share row exclusive mode');
        // A key from the environment cannot sign here: it does not count.
        const existing = await trx<SigningKeyRow>('signing_keys')
          .select('kid')
          .where({ algorithm: key.algorithm })
          .whereNotNull('private_jwk')
          .first();
        if (existing) return false;
        await trx('signing_keys').insert(toRow(key));
        return true;
      });
    },

    async insertSigningKeysUnlessRecorded(keys: SigningKeyRecord[]): Promise<void> {
      if (keys.length === 0) return;
      // Instances that start together each try; the first insert holds the publication time.
      await db('signing_keys').insert(keys.map(toRow)).onConflict('kid').ignore();
    },

    async retireSigningKeysNotInUse(inUse: SigningKeysInUse, now: Date): Promise<void> {
      await db.transaction(async (trx) => {
        await whereInUse(trx('signing_keys').update({ retired_at: null }), inUse, true).whereNotNull('retired_at');
        await whereInUse(trx('signing_keys').update({ retired_at: now }), inUse, false).whereNull('retired_at');
      });
    },

    async deleteEnvironmentKeysRetiredBefore(cutoff: Date): Promise<string[]> {
      // Decided in the statement, so a key that another instance configures again meanwhile stays.
      const rows: { kid: string }[] = await db('signing_keys')
        .delete()
        .whereNull('private_jwk')
        .where('retired_at', '<=', cutoff)
        .returning('kid');
      return rows.map((row) => row.kid);
    },

    async deleteSigningKeys(kids: string[]): Promise<number> {
      if (kids.length === 0) return 0;
      return db('signing_keys').delete().whereIn('kid', kids);
    },
  });
}
