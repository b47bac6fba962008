import type { Knex } from 'knex';
import type { User, UserId } from '../domain/model';
import { SIGNED_IN_ROLE } from '../domain/model';
import type {
  NewUser,
  QueuedMail,
  RoleChangeOptions,
  RoleGrant,
  RoleRevocation,
  TokenPurpose,
  UserChanges,
  UserInsert,
  UserStore,
  UserUpdate,
} from '../domain/ports';
import { isForeignKeyViolation, isUniqueViolation, withClassifiedFailures } from './database-errors';
import { queueMail } from './mail-outbox-repository';
import { onlyRow } from './rows';

export interface UserRow {
  id: number;
  username: string;
  display_name: string | null;
  email: string | null;
  email_verified_at: Date | null;
  default_role: string;
  disabled: boolean;
  session_variables: Record<string, string>;
  created_at: Date;
  session_epoch: number;
  granted_roles: string[];
}

/** The columns that make a User, for any query that joins `users` (aliased `u`). */
export function userColumns(db: Knex): (string | Knex.Raw)[] {
  return [
    'u.id',
    'u.username',
    'u.display_name',
    'u.email',
    'u.email_verified_at',
    'u.default_role',
    'u.disabled',
    'u.session_variables',
    'u.created_at',
    'u.session_epoch',
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
    displayName: row.display_name,
    email: row.email,
    emailVerified: row.email_verified_at !== null,
    roles: [SIGNED_IN_ROLE, ...granted],
    defaultRole: row.default_role,
    disabled: row.disabled,
    sessionVariables: row.session_variables,
    createdAt: row.created_at,
    sessionEpoch: row.session_epoch,
  };
}

/** Whether an account other than `exceptUserId` has verified the address. */
export async function isVerifiedElsewhere(trx: Knex, email: string, exceptUserId?: UserId): Promise<boolean> {
  const query = trx('users').select('id').where({ email }).whereNotNull('email_verified_at');
  if (exceptUserId !== undefined) void query.whereNot({ id: exceptUserId });
  return (await query.first()) !== undefined;
}

/**
 * An address belongs to the account that verifies it first: every other account's unverified
 * claim on it is cleared, with the verification tokens mailed for it, and that account loses
 * nothing else.
 */
export async function clearUnverifiedClaims(trx: Knex, email: string, exceptUserId?: UserId): Promise<void> {
  const claims = trx('users').update({ email: null }).where({ email }).whereNull('email_verified_at');
  const tokens = trx('one_time_tokens').delete().where({ email, purpose: 'email-verification' }).whereNull('used_at');
  if (exceptUserId !== undefined) {
    void claims.whereNot({ id: exceptUserId });
    void tokens.whereNot({ user_id: exceptUserId });
  }
  await claims;
  await tokens;
}

/** Deletes the user's unused tokens of a purpose: a newer token, or what it was for, superseded them. */
export async function voidUnusedTokens(trx: Knex, userId: UserId, purpose: TokenPurpose): Promise<void> {
  await trx('one_time_tokens').delete().where({ user_id: userId, purpose }).whereNull('used_at');
}

/**
 * Inserts the user and the roles granted to them; answers the new id, or undefined (with
 * `usernameOrNothing`) when the username is taken. Checking and clearing claims on the address is
 * the caller's.
 */
export async function insertUserRow(
  trx: Knex.Transaction,
  user: NewUser,
  { usernameOrNothing = false } = {},
): Promise<UserId | undefined> {
  const insert = trx('users').insert({
    username: user.username,
    username_key: user.usernameKey,
    password_hash: user.passwordHash,
    display_name: user.displayName,
    email: user.email,
    email_verified_at: user.email !== null && user.emailVerified ? user.now : null,
    default_role: user.defaultRole,
    created_at: user.now,
    updated_at: user.now,
  });
  if (usernameOrNothing) void insert.onConflict('username_key').ignore();
  const [row] = await insert.returning<{ id: number }[]>('id');
  if (row === undefined) return undefined;
  if (user.grantedRoles.length > 0) {
    await trx('user_roles').insert(user.grantedRoles.map((role) => ({ user_id: row.id, role, created_at: user.now })));
  }
  return row.id;
}

export function createUsersRepository(db: Knex): UserStore {
  const selectUsers = (trx: Knex = db) => trx('users as u').select(userColumns(trx));

  async function findUserById(id: UserId, trx: Knex = db): Promise<User | undefined> {
    const row = await selectUsers(trx).where('u.id', id).first<UserRow | undefined>();
    return row ? toUser(row) : undefined;
  }

  /**
   * Locks the user's row until the transaction ends, so that changes to one user's roles and
   * default role run one after another, on every instance; answers whether the user exists.
   */
  async function lockUser(trx: Knex.Transaction, id: UserId): Promise<boolean> {
    return (await trx('users').select('id').where({ id }).forUpdate().first()) !== undefined;
  }

  const endSessionsOf = (trx: Knex, id: UserId) => trx('users').increment('session_epoch', 1).where({ id });

  async function applyChanges(trx: Knex.Transaction, id: UserId, changes: UserChanges, now: Date): Promise<UserUpdate> {
    const current = await trx<{ id: number; email: string | null; email_verified_at: Date | null }>('users')
      .select('id', 'email', 'email_verified_at')
      .where({ id })
      .forUpdate()
      .first();
    if (!current) return { outcome: 'not-found' };
    const { defaultRole } = changes;
    if (defaultRole !== undefined && defaultRole !== SIGNED_IN_ROLE) {
      const held = await trx<{ user_id: number; role: string }>('user_roles')
        .select('role')
        .where({ user_id: id, role: defaultRole })
        .first();
      if (!held) return { outcome: 'default-role-not-held' };
    }
    const email = changes.email === undefined ? current.email : changes.email;
    // A new address is unverified unless the change says it is verified; the same address keeps its state.
    const verified =
      email !== null && (changes.emailVerified ?? (email === current.email && current.email_verified_at !== null));
    if (email !== null && verified) {
      if (await isVerifiedElsewhere(trx, email, id)) return { outcome: 'email-taken' };
      await clearUnverifiedClaims(trx, email, id);
    }
    // Tokens mailed to an address the account no longer claims prove nothing now.
    if (email !== current.email) await voidUnusedTokens(trx, id, 'email-verification');
    await trx('users')
      .update({
        display_name: changes.displayName,
        email,
        email_verified_at: verified
          ? current.email_verified_at !== null && email === current.email
            ? undefined
            : now
          : null,
        default_role: defaultRole,
        disabled: changes.disabled,
        session_variables:
          changes.sessionVariables === undefined ? undefined : JSON.stringify(changes.sessionVariables),
        ...(changes.disabled === true && { session_epoch: trx.raw('session_epoch + 1') }),
        updated_at: now,
      })
      .where({ id });
    return { outcome: 'updated', user: (await findUserById(id, trx))! };
  }

  return withClassifiedFailures<UserStore>({
    findUserById: (id: UserId) => findUserById(id),

    async insertUser(user: NewUser): Promise<UserInsert> {
      try {
        return await db.transaction(async (trx): Promise<UserInsert> => {
          if (user.email !== null && !user.emailVerified && (await isVerifiedElsewhere(trx, user.email))) {
            return { outcome: 'email-taken' };
          }
          if (user.email !== null && user.emailVerified) await clearUnverifiedClaims(trx, user.email);
          const id = await insertUserRow(trx, user);
          return { outcome: 'inserted', user: (await findUserById(id!, trx))! };
        });
      } catch (error) {
        // Two accounts verified one address at once: the index refused the second.
        if (isUniqueViolation(error, 'users_verified_email')) return { outcome: 'email-taken' };
        if (isUniqueViolation(error)) return { outcome: 'username-taken' };
        // A role (granted or default) deleted after the caller found it.
        if (isForeignKeyViolation(error)) return { outcome: 'role-not-found' };
        throw error;
      }
    },

    async findUserWithPasswordHash(
      usernameKey: string,
    ): Promise<{ user: User; passwordHash: string | null } | undefined> {
      const row = await selectUsers()
        .select('u.password_hash')
        .where('u.username_key', usernameKey)
        .first<(UserRow & { password_hash: string | null }) | undefined>();
      return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
    },

    async findPasswordHash(id: UserId): Promise<string | null | undefined> {
      const row = await db<{ id: number; password_hash: string | null }>('users')
        .select('password_hash')
        .where({ id })
        .first();
      return row?.password_hash;
    },

    async replacePasswordHash(
      id: UserId,
      { replaced, replacement }: { replaced: string; replacement: string },
      now: Date,
      notice?: QueuedMail,
    ): Promise<number | undefined> {
      return db.transaction(async (trx) => {
        const [row] = await trx('users')
          .update({ password_hash: replacement, session_epoch: trx.raw('session_epoch + 1'), updated_at: now })
          .where({ id, password_hash: replaced })
          .returning<{ session_epoch: number }[]>('session_epoch');
        if (row) await voidUnusedTokens(trx, id, 'password-reset');
        if (row && notice) await queueMail(trx, notice, now);
        return row?.session_epoch;
      });
    },

    async listUsers(limit: number, offset: number, search?: string): Promise<{ users: User[]; total: number }> {
      // A part of a username or address, matched as text: LIKE's own wildcards are escaped.
      const pattern =
        search === undefined ? undefined : `%${search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
      const matching = <Q extends Knex.QueryBuilder>(query: Q, alias: string): Q => {
        if (pattern === undefined) return query;
        void query.where((where) => {
          void where.whereILike(`${alias}.username`, pattern).orWhereILike(`${alias}.email`, pattern);
        });
        return query;
      };
      const [rows, counted] = await Promise.all([
        matching(selectUsers(), 'u').orderBy('u.id').limit(limit).offset(offset),
        matching(db('users as c').count<{ count: string | number }[]>({ count: '*' }), 'c'),
      ]);
      return { users: rows.map(toUser), total: Number(onlyRow(counted).count) };
    },

    async updateUser(id: UserId, changes: UserChanges, now: Date): Promise<UserUpdate> {
      try {
        return await db.transaction((trx) => applyChanges(trx, id, changes, now));
      } catch (error) {
        if (isUniqueViolation(error, 'users_verified_email')) return { outcome: 'email-taken' };
        throw error;
      }
    },

    async deleteUser(id: UserId): Promise<boolean> {
      return (await db('users').delete().where({ id })) > 0;
    },

    async grantRole(id: UserId, role: string, now: Date, { endSessions }: RoleChangeOptions): Promise<RoleGrant> {
      try {
        return await db.transaction(async (trx): Promise<RoleGrant> => {
          if (!(await lockUser(trx, id))) return 'user-not-found';
          const inserted = await trx('user_roles')
            .insert({ user_id: id, role, created_at: now })
            .onConflict(['user_id', 'role'])
            .ignore()
            .returning('role');
          if (inserted.length === 0) return 'already-held';
          if (endSessions) await endSessionsOf(trx, id);
          return 'granted';
        });
      } catch (error) {
        // The user's row is locked, so the key that failed is the role's: deleted after the caller found it.
        if (isForeignKeyViolation(error)) return 'role-not-found';
        throw error;
      }
    },

    async revokeRole(id: UserId, role: string, now: Date, { endSessions }: RoleChangeOptions): Promise<RoleRevocation> {
      return db.transaction(async (trx): Promise<RoleRevocation> => {
        if (!(await lockUser(trx, id))) return 'user-not-found';
        const deleted = await trx('user_roles').delete().where({ user_id: id, role });
        if (deleted === 0) return 'not-held';
        await trx('users').update({ default_role: SIGNED_IN_ROLE, updated_at: now }).where({ id, default_role: role });
        if (endSessions) await endSessionsOf(trx, id);
        return 'revoked';
      });
    },
  });
}
