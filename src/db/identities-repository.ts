import type { Knex } from 'knex';
import { SIGNED_IN_ROLE, type User, type UserId } from '../domain/model';
import type { IdentitySignIn, IdentitySignInOutcome, IdentityStore, LinkedIdentity } from '../domain/ports';
import { usernameKey } from '../domain/usernames';
import { isUniqueViolation, withClassifiedFailures } from './database-errors';
import { countOf, lockLoginMethods } from './login-methods';
import {
  clearUnverifiedClaims,
  insertUserRow,
  isVerifiedElsewhere,
  toUser,
  userColumns,
  type UserRow,
} from './users-repository';

interface IdentityRow {
  id: string;
  user_id: number;
  provider: string | null;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: Date;
  last_used_at: Date | null;
}

const toIdentity = (row: IdentityRow): LinkedIdentity => ({
  id: String(row.id),
  provider: row.provider ?? row.issuer,
  issuer: row.issuer,
  subject: row.subject,
  email: row.email,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export function createIdentitiesRepository(db: Knex): IdentityStore {
  const findUser = async (trx: Knex, id: UserId): Promise<User | undefined> => {
    const row = await trx('users as u').select(userColumns(trx)).where('u.id', id).first<UserRow | undefined>();
    return row ? toUser(row) : undefined;
  };

  async function signInOnce(trx: Knex.Transaction, request: IdentitySignIn, now: Date): Promise<IdentitySignInOutcome> {
    const { profile } = request;
    const known = await trx<IdentityRow>('user_identities')
      .select('id', 'user_id')
      .where({ issuer: profile.issuer, subject: profile.subject })
      .forUpdate()
      .first();

    const link = async (userId: UserId, how: 'known' | 'linked' | 'created'): Promise<IdentitySignInOutcome> => {
      const user = await findUser(trx, userId);
      if (!user) return { outcome: 'user-not-found' };
      if (user.disabled) return { outcome: 'disabled' };
      const [row] = known
        ? await trx('user_identities')
            .update({ email: profile.email, last_used_at: now })
            .where({ id: known.id })
            .returning<{ id: string }[]>('id')
        : await trx('user_identities')
            .insert({
              user_id: userId,
              provider: request.provider,
              issuer: profile.issuer,
              subject: profile.subject,
              email: profile.email,
              created_at: now,
              last_used_at: now,
            })
            .returning<{ id: string }[]>('id');
      return { outcome: 'signed-in', user, identityId: String(row!.id), how };
    };

    if (request.kind === 'link') {
      if (known && known.user_id !== request.userId) return { outcome: 'identity-in-use' };
      return link(request.userId, known ? 'known' : 'linked');
    }
    if (known) return link(known.user_id, 'known');

    const { email, emailVerified } = profile;
    if (request.linkByVerifiedEmail && email !== null && emailVerified) {
      const owner = await trx<{ id: number; email: string }>('users')
        .select('id')
        .where({ email })
        .whereNotNull('email_verified_at')
        .first();
      if (owner) return link(owner.id, 'linked');
    }
    if (!request.newUser) return { outcome: 'signup-closed' };
    // The provider's address, verified only if it says so and no account here verified it first.
    const verified = email !== null && emailVerified && !(await isVerifiedElsewhere(trx, email));
    if (verified) await clearUnverifiedClaims(trx, email);
    const { usernames, displayName, now: createdAt } = request.newUser;
    for (const username of usernames) {
      const id = await insertUserRow(
        trx,
        {
          username,
          usernameKey: usernameKey(username),
          passwordHash: null,
          displayName,
          email,
          emailVerified: verified,
          grantedRoles: [],
          defaultRole: SIGNED_IN_ROLE,
          now: createdAt,
        },
        { usernameOrNothing: true },
      );
      if (id !== undefined) return link(id, 'created');
    }
    return { outcome: 'user-not-found' };
  }

  return withClassifiedFailures<IdentityStore>({
    async signIn(request, now) {
      // Two first logins with one identity at once: the unique (issuer, subject) lets one insert;
      // the other, tried again, finds the identity the first one made.
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction((trx) => signInOnce(trx, request, now));
        } catch (error) {
          if (attempt < 3 && isUniqueViolation(error)) continue;
          throw error;
        }
      }
    },

    async listIdentities(userIds) {
      const rows = await db<IdentityRow>('user_identities')
        .select('id', 'user_id', 'provider', 'issuer', 'subject', 'email', 'created_at', 'last_used_at')
        .whereIn('user_id', userIds)
        .orderBy('id');
      const byUser = new Map<UserId, LinkedIdentity[]>();
      for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), toIdentity(row)]);
      return byUser;
    },

    async deleteIdentity(userId, identityId, { keepLastLoginMethod }) {
      return db.transaction(async (trx) => {
        const methods = await lockLoginMethods(trx, userId);
        if (!methods?.identityIds.includes(identityId)) return 'not-found';
        if (keepLastLoginMethod && countOf(methods) === 1) return 'last-login-method';
        await trx('user_identities').delete().where({ id: identityId, user_id: userId });
        return 'deleted';
      });
    },

    async insertLoginCode({ codeHash, userId, provider, createdAt, expiresAt }) {
      await db('login_codes').insert({
        code_hash: codeHash,
        user_id: userId,
        provider,
        session_epoch: db('users').select('session_epoch').where({ id: userId }),
        created_at: createdAt,
        expires_at: expiresAt,
      });
    },

    async consumeLoginCode(codeHash, now) {
      const [used] = await db('login_codes as c')
        .update({ used_at: now })
        .where('c.code_hash', codeHash)
        .whereNull('c.used_at')
        .where('c.expires_at', '>', now)
        .returning<{ user_id: number; session_epoch: number; provider: string }[]>([
          'c.user_id',
          'c.session_epoch',
          'c.provider',
        ]);
      if (!used) return undefined;
      const user = await findUser(db, used.user_id);
      // A logout-all, a password change or a disable since the code was made voids it.
      if (!user || user.disabled || user.sessionEpoch !== used.session_epoch) return undefined;
      return { user, provider: used.provider };
    },

    async deleteExpiredLoginCodes(now) {
      return db('login_codes').delete().where('expires_at', '<=', now);
    },
  });
}
