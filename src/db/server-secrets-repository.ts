import type { Knex } from 'knex';
import type { ServerSecretStore } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';

export function createServerSecretsRepository(db: Knex): ServerSecretStore {
  return withClassifiedFailures<ServerSecretStore>({
    async findOrCreateSecret(name, generate) {
      // Of instances starting together, the first insert wins and every one reads the winner's.
      await db('server_secrets').insert({ name, secret: generate() }).onConflict('name').ignore();
      const row = await db<{ name: string; secret: Uint8Array }>('server_secrets')
        .select('secret')
        .where({ name })
        .first();
      // pg answers a Buffer, PGlite a Uint8Array.
      return Buffer.from(row!.secret);
    },
  });
}
