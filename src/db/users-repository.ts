import type { Knex } from 'knex';
import type { User, UserId } from '../domain/model';
import { SIGNED_IN_ROLE } from '../domain/model';
import type { NewUser, UserChanges, UserStore } from '../domain/ports';
import { isUniqueViolation, withClassifiedFailures } from './database-errors';

export interface UserRow {
  id: number;
  username: string;
  default_role: string;
  disabled: boolean;
  session_variables: Record<string, string>;
  created_at: Date;
  granted_roles: string[];
}

/** The columns that make a User, for any query that joins `users` (aliased `u`). */
export function userColumns(db: Knex): (string | Knex.Raw)[] {
  return [
    'u.id',
    'u.username',
    'u.default_role',
    'u.disabled',
    'u.session_variables',
    'u.created_at',
    db.raw(
      `coalesce((select array_agg(ur.role order by ur.role) from user_roles ur where ur.user_id = u.id), '{}') as granted_roles`,
    ),
  ];
}

export function toUser(row: UserRow): User {
  const granted = row.granted_roles.filter((role) => role !== SIGNED_IN_ROLE);
  return {
    id: row.id,
    username: row.username,
    roles: [SIGNED_IN_ROLE, ...granted],
    defaultRole: row.default_role,
    disabled: row.disabled,
    sessionVariables: row.session_variables,
    createdAt: row.created_at,
  };
}

export function createUsersRepository(db: Knex): UserStore {
  const selectUsers = (trx: Knex = db) => trx('users as u').select(userColumns(trx));

  async function findUserById(id: UserId, trx: Knex = db): Promise<User | undefined> {
    const row = await selectUsers(trx).where('u.id', id).first<UserRow | undefined>();
    return row ? toUser(row) : undefined;
  }

  return withClassifiedFailures<UserStore>({
    findUserById: (id: UserId) => findUserById(id),

    async insertUser(user: NewUser): Promise<User | undefined> {
      try {
        return await db.transaction(async (trx) => {
          const [{ id }] = await trx('users')
            .insert({
              username: user.username,
              username_key: user.usernameKey,
              password_hash: user.passwordHash,
              default_role: user.defaultRole,
              created_at: user.now,
              updated_at: user.now,
            })
            .returning<{ id: number }[]>('id');
          if (user.grantedRoles.length > 0) {
            await trx('user_roles').insert(
              user.grantedRoles.map((role) => ({ user_id: id, role, created_at: user.now })),
            );
          }
          return (await findUserById(id, trx))!;
        });
      } catch (error) {
        if (isUniqueViolation(error)) return undefined;
        throw error;
      }
    },

    async findUserWithPasswordHash(
      usernameKey: string,
    ): Promise<{ user: User; passwordHash: string } | undefined> {
      const row = await selectUsers()
        .select('u.password_hash')
        .where('u.username_key', usernameKey)
        .first<(UserRow & { password_hash: string }) | undefined>();
      return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
    },

    async findPasswordHash(id: UserId): Promise<string | undefined> {
      const row = await db<{ id: number; password_hash: string }>('users').select('password_hash').where({ id }).first();
      return row?.password_hash;
    },

    async updatePasswordHash(id: UserId, passwordHash: string, now: Date): Promise<void> {
      await db('users').update({ password_hash: passwordHash, updated_at: now }).where({ id });
    },

    async listUsers(limit: number, offset: number): Promise<{ users: User[]; total: number }> {
      const [rows, [{ count }]] = await Promise.all([
        selectUsers().orderBy('u.id').limit(limit).offset(offset),
        db('users').count<{ count: string | number }[]>({ count: '*' }),
      ]);
      return { users: rows.map(toUser), total: Number(count) };
    },

    async updateUser(id: UserId, changes: UserChanges, now: Date): Promise<User | undefined> {
      const updated = await db('users')
        .update({
          default_role: changes.defaultRole,
          disabled: changes.disabled,
          session_variables:
            changes.sessionVariables === undefined ? undefined : JSON.stringify(changes.sessionVariables),
          updated_at: now,
        })
        .where({ id });
      return updated > 0 ? findUserById(id) : undefined;
    },

    async deleteUser(id: UserId): Promise<boolean> {
      return (await db('users').delete().where({ id })) > 0;
    },

    async grantRole(id: UserId, role: string, now: Date): Promise<boolean> {
      const inserted = await db('user_roles')
        .insert({ user_id: id, role, created_at: now })
        .onConflict(['user_id', 'role'])
        .ignore()
        .returning('role');
      return inserted.length > 0;
    },

    async revokeRole(id: UserId, role: string, now: Date): Promise<boolean> {
      return db.transaction(async (trx) => {
        const deleted = await trx('user_roles').delete().where({ user_id: id, role });
        if (deleted > 0) {
          await trx('users')
            .update({ default_role: SIGNED_IN_ROLE, updated_at: now })
            .where({ id, default_role: role });
        }
        return deleted > 0;
      });
    },
  });
}
