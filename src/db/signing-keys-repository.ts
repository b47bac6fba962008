import type { Knex } from 'knex';
import type { SigningAlgorithm, SigningKeyRecord, SigningKeyStore } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';

interface SigningKeyRow {
  kid: string;
  algorithm: SigningAlgorithm;
  public_jwk: Record<string, unknown>;
  private_jwk: Record<string, unknown>;
  created_at: Date;
  signs_from: Date;
}

export function createSigningKeysRepository(db: Knex): SigningKeyStore {
  const toRow = (key: SigningKeyRecord) => ({
    kid: key.kid,
    algorithm: key.algorithm,
    public_jwk: JSON.stringify(key.publicJwk),
    private_jwk: JSON.stringify(key.privateJwk),
    created_at: key.createdAt,
    signs_from: key.signsFrom,
  });

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
        const existing = await trx<SigningKeyRow>('signing_keys')
          .select('kid')
          .where({ algorithm: key.algorithm })
          .first();
        if (existing) return false;
        await trx('signing_keys').insert(toRow(key));
        return true;
      });
    },

    async deleteSigningKeys(kids: string[]): Promise<number> {
      if (kids.length === 0) return 0;
      return db('signing_keys').delete().whereIn('kid', kids);
    },
  });
}
