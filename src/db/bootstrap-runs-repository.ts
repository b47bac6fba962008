import type { Knex } from 'knex';
import type { BootstrapRunStore } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';

export function createBootstrapRunsRepository(db: Knex): BootstrapRunStore {
  return withClassifiedFailures<BootstrapRunStore>({
    async hasCompleted(name) {
      return (await db('bootstrap_runs').where({ name }).first()) !== undefined;
    },

    async recordCompleted(name, now) {
      await db('bootstrap_runs').insert({ name, completed_at: now }).onConflict('name').ignore();
    },
  });
}
