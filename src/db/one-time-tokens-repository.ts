import type { Knex } from 'knex';
import type { User } from '../domain/model';
import type {
  EmailVerification,
  OneTimeTokenRecord,
  OneTimeTokenStore,
  PasswordResetRecipient,
  QueuedMail,
  TokenPurpose,
} from '../domain/ports';
import { isUniqueViolation, withClassifiedFailures } from './database-errors';
import { queueMail } from './mail-outbox-repository';
import {
  clearUnverifiedClaims,
  isVerifiedElsewhere,
  toUser,
  userColumns,
  voidUnusedTokens,
  type UserRow,
} from './users-repository';

export function createOneTimeTokensRepository(db: Knex): OneTimeTokenStore {
  const findUser = async (trx: Knex, id: number): Promise<User> =>
    toUser(await trx('users as u').select(userColumns(trx)).where('u.id', id).first<UserRow>());

  /**
   * Marks the token used, if it is usable at `now`: one statement, so that of two requests with
   * one token exactly one gets its user. Answers the user and the address it was sent to.
   */
  async function consume(
    trx: Knex,
    purpose: TokenPurpose,
    tokenHash: string,
    now: Date,
  ): Promise<{ userId: number; email: string } | undefined> {
    const [row] = await trx('one_time_tokens')
      .update({ used_at: now })
      .where({ token_hash: tokenHash, purpose })
      .whereNull('used_at')
      .where('expires_at', '>', now)
      .returning<{ user_id: number; email: string }[]>(['user_id', 'email']);
    return row && { userId: row.user_id, email: row.email };
  }

  return withClassifiedFailures<OneTimeTokenStore>({
    async issueToken(token: OneTimeTokenRecord, mail: QueuedMail): Promise<boolean> {
      return db.transaction(async (trx) => {
        // Locked, so that a token is never issued to a user being deleted at this moment.
        const user = await trx<{ id: number }>('users').select('id').where({ id: token.userId }).forUpdate().first();
        if (user === undefined) return false;
        await voidUnusedTokens(trx, token.userId, token.purpose);
        await trx('one_time_tokens').insert({
          purpose: token.purpose,
          token_hash: token.tokenHash,
          user_id: token.userId,
          email: token.email,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
        });
        await queueMail(trx, mail, token.createdAt);
        return true;
      });
    },

    async findUsableToken(purpose: TokenPurpose, tokenHash: string, now: Date) {
      const row = await db('one_time_tokens as t')
        .join('users as u', 'u.id', 't.user_id')
        .select([...userColumns(db), 't.email as token_email'])
        .where({ 't.token_hash': tokenHash, 't.purpose': purpose })
        .whereNull('t.used_at')
        .where('t.expires_at', '>', now)
        .first<(UserRow & { token_email: string }) | undefined>();
      return row && { user: toUser(row), email: row.token_email };
    },

    async deleteExpiredTokens(cutoff: Date): Promise<number> {
      return db('one_time_tokens').delete().where('expires_at', '<', cutoff);
    },

    async findPendingTokenEmail(userId, purpose, now): Promise<string | undefined> {
      const row = await db<{ user_id: number; purpose: string; email: string; used_at: Date | null }>('one_time_tokens')
        .select('email')
        .where({ user_id: userId, purpose })
        .whereNull('used_at')
        .where('expires_at', '>', now)
        .orderBy('id', 'desc')
        .first();
      return row?.email;
    },

    async verifyEmail(tokenHash, now, notice): Promise<EmailVerification> {
      try {
        return await db.transaction(async (trx): Promise<EmailVerification> => {
          const used = await consume(trx, 'email-verification', tokenHash, now);
          if (!used) return { outcome: 'invalid-token' };
          const previous = await trx<{ id: number; email: string | null; email_verified_at: Date | null }>('users')
            .select('email', 'email_verified_at')
            .where({ id: used.userId })
            .forUpdate()
            .first();
          if (!previous) return { outcome: 'invalid-token' };
          if (await isVerifiedElsewhere(trx, used.email, used.userId)) return { outcome: 'email-taken' };
          await clearUnverifiedClaims(trx, used.email, used.userId);
          const alreadyVerified = previous.email === used.email && previous.email_verified_at !== null;
          await trx('users')
            .update({
              email: used.email,
              email_verified_at: alreadyVerified ? previous.email_verified_at : now,
              updated_at: now,
            })
            .where({ id: used.userId });
          await voidUnusedTokens(trx, used.userId, 'email-verification');
          const verification = {
            outcome: 'verified' as const,
            user: await findUser(trx, used.userId),
            previousEmail: previous.email,
            previousVerified: previous.email_verified_at !== null,
          };
          const mail = notice(verification);
          if (mail) await queueMail(trx, mail, now);
          return verification;
        });
      } catch (error) {
        if (isUniqueViolation(error, 'users_verified_email')) return { outcome: 'email-taken' };
        throw error;
      }
    },

    async resetPassword(tokenHash, passwordHash, now, notice): Promise<User | undefined> {
      return db.transaction(async (trx) => {
        const used = await consume(trx, 'password-reset', tokenHash, now);
        if (!used) return undefined;
        // The new session epoch ends every session and refresh token of the user, and any being
        // created at this moment with the old password (sessions are inserted only at the current epoch).
        const updated = await trx('users')
          .update({ password_hash: passwordHash, session_epoch: trx.raw('session_epoch + 1'), updated_at: now })
          .where({ id: used.userId, disabled: false });
        if (updated === 0) {
          // Disabled after the token was mailed: the token stays used, and nothing changes.
          return undefined;
        }
        await voidUnusedTokens(trx, used.userId, 'password-reset');
        // The link came to this address: it is proven, unless another account proved it first.
        const unverified = await trx<{ id: number; email: string | null; email_verified_at: Date | null }>('users')
          .select('id')
          .where({ id: used.userId, email: used.email })
          .whereNull('email_verified_at')
          .first();
        if (unverified !== undefined && !(await isVerifiedElsewhere(trx, used.email, used.userId))) {
          await clearUnverifiedClaims(trx, used.email, used.userId);
          await trx('users').update({ email_verified_at: now }).where({ id: used.userId });
        }
        const user = await findUser(trx, used.userId);
        await queueMail(trx, notice(user), now);
        return user;
      });
    },

    async findPasswordResetRecipient({ usernameKey, email }): Promise<PasswordResetRecipient | undefined> {
      // One query whether or not anyone matches, so that an unknown login costs what a known one does.
      const row = await db('users')
        .select<{ id: number; username: string; email: string }[]>('id', 'username', 'email')
        .where((matches) => {
          void matches
            .where('username_key', usernameKey)
            .orWhere((byAddress) => void byAddress.where('email', email ?? '').whereNotNull('email_verified_at'));
        })
        .where({ disabled: false })
        .whereNotNull('email_verified_at')
        .orderByRaw('(username_key = ?) desc', [usernameKey])
        .first();
      return row && { id: row.id, username: row.username, email: row.email };
    },
  });
}
