import type { Knex } from 'knex';
import { SIGNED_IN_ROLE } from '../domain/model';
import type { Role, RoleStore } from '../domain/ports';
import { isUniqueViolation, withClassifiedFailures } from './database-errors';

interface RoleRow {
  name: string;
  built_in: boolean;
}

const toRole = (row: RoleRow): Role => ({ name: row.name, builtIn: row.built_in });

export function createRolesRepository(db: Knex): RoleStore {
  return withClassifiedFailures<RoleStore>({
    async listRoles() {
      const rows = await db<RoleRow>('roles').select('name', 'built_in').orderBy('name');
      return rows.map(toRole);
    },

    async findRole(name) {
      const row = await db<RoleRow>('roles').select('name', 'built_in').where({ name }).first();
      return row ? toRole(row) : undefined;
    },

    async insertRole(name, now) {
      try {
        await db('roles').insert({ name, built_in: false, created_at: now });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async deleteRole(name, now, { endSessions }) {
      return db.transaction(async (trx) => {
        const role = await trx<RoleRow>('roles').select('name').where({ name, built_in: false }).forUpdate().first();
        if (!role) return false;
        if (endSessions) {
          await trx('users')
            .increment('session_epoch', 1)
            .whereIn('id', trx('user_roles').select('user_id').where({ role: name }));
        }
        // users.default_role references roles: move those users off the role before it goes.
        await trx('users').update({ default_role: SIGNED_IN_ROLE, updated_at: now }).where({ default_role: name });
        await trx('roles').delete().where({ name });
        return true;
      });
    },
  });
}
