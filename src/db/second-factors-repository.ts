import type { Knex } from 'knex';
import type { AuthenticationMethod, UserId } from '../domain/model';
import type { ChallengeIssues, ChallengeOutcome, SecondFactorChecks, SecondFactorStore } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';

interface TotpRow {
  user_id: number;
  secret_ciphertext: string;
  confirmed_at: Date | null;
  last_used_step: string | number | null;
}

/** A live challenge: not expired, attempts left, and its user as they were when the password was checked. */
function liveChallenge(db: Knex, challengeHash: string, issues: ChallengeIssues | undefined, now: Date) {
  return db('login_challenges as c')
    .join('users as u', 'u.id', 'c.user_id')
    .where({ 'c.challenge_hash': challengeHash, ...(issues !== undefined && { 'c.issues': issues }) })
    .andWhere('c.expires_at', '>', now)
    .andWhere('c.attempts_left', '>', 0)
    .andWhereRaw('c.session_epoch = u.session_epoch and not u.disabled');
}

function checksOn(db: Knex): SecondFactorChecks {
  return {
    async findTotp(userId: UserId) {
      const row = await db<TotpRow>('totp_factors').where({ user_id: userId }).first();
      return row && { secretCiphertext: row.secret_ciphertext, confirmed: row.confirmed_at !== null };
    },

    async acceptTotpStep(userId: UserId, step: number) {
      // The conditional UPDATE is the whole rule: a second use of the step waits for the first's
      // row lock, then finds the step taken.
      const updated = await db('totp_factors')
        .update({ last_used_step: step })
        .where({ user_id: userId })
        .whereNotNull('confirmed_at')
        .andWhereRaw('(last_used_step is null or last_used_step < ?)', [step]);
      return updated > 0;
    },

    async consumeRecoveryCode(userId: UserId, codeHash: string) {
      return (await db('recovery_codes').delete().where({ user_id: userId, code_hash: codeHash })) > 0;
    },
  };
}

async function insertRecoveryCodes(db: Knex, userId: UserId, codeHashes: string[]): Promise<void> {
  await db('recovery_codes').delete().where({ user_id: userId });
  await db('recovery_codes').insert(codeHashes.map((codeHash) => ({ user_id: userId, code_hash: codeHash })));
}

export function createSecondFactorsRepository(db: Knex): SecondFactorStore {
  return withClassifiedFailures<SecondFactorStore>({
    ...checksOn(db),

    async savePendingTotp(userId, secretCiphertext, now) {
      const rows = await db('totp_factors')
        .insert({ user_id: userId, secret_ciphertext: secretCiphertext, created_at: now })
        .onConflict('user_id')
        .merge(['secret_ciphertext', 'created_at'])
        .where('totp_factors.confirmed_at', null)
        .returning('user_id');
      return rows.length > 0;
    },

    async confirmTotp(userId, step, recoveryCodeHashes, now) {
      return db.transaction(async (trx) => {
        const confirmed = await trx('totp_factors')
          .update({ confirmed_at: now, last_used_step: step })
          .where({ user_id: userId })
          .whereNull('confirmed_at');
        if (confirmed === 0) return false;
        await insertRecoveryCodes(trx, userId, recoveryCodeHashes);
        return true;
      });
    },

    async replaceRecoveryCodes(userId, codeHashes) {
      return db.transaction(async (trx) => {
        // FOR SHARE: a removal of the factor at the same time either comes first, and this finds
        // no factor, or waits until these codes are in, and removes them too.
        const factor = await trx<TotpRow>('totp_factors')
          .select('user_id')
          .where({ user_id: userId })
          .whereNotNull('confirmed_at')
          .forShare()
          .first();
        if (!factor) return false;
        await insertRecoveryCodes(trx, userId, codeHashes);
        return true;
      });
    },

    async deleteFactors(userId) {
      await db.transaction(async (trx) => {
        await trx('totp_factors').delete().where({ user_id: userId });
        await trx('recovery_codes').delete().where({ user_id: userId });
      });
    },

    async listTotpSecrets(afterUserId, limit) {
      const rows = await db<TotpRow>('totp_factors')
        .select('user_id', 'secret_ciphertext')
        .where('user_id', '>', afterUserId)
        .orderBy('user_id')
        .limit(limit);
      return rows.map((row) => ({ userId: row.user_id, secretCiphertext: row.secret_ciphertext }));
    },

    async replaceTotpSecret(userId, replaced, replacement) {
      // Conditional: an enrolment started meanwhile keeps its own new secret.
      const updated = await db('totp_factors')
        .update({ secret_ciphertext: replacement })
        .where({ user_id: userId, secret_ciphertext: replaced });
      return updated > 0;
    },

    async usersWithTotp(userIds) {
      const rows = await db<TotpRow>('totp_factors')
        .select('user_id')
        .whereIn('user_id', userIds)
        .whereNotNull('confirmed_at');
      return new Set(rows.map((row) => row.user_id));
    },

    async countRecoveryCodes(userId) {
      const row = await db('recovery_codes')
        .where({ user_id: userId })
        .count<{ count: string | number }>({ count: '*' })
        .first();
      return Number(row?.count ?? 0);
    },

    async insertChallenge(challenge) {
      await db('login_challenges').insert({
        challenge_hash: challenge.challengeHash,
        user_id: challenge.userId,
        session_epoch: challenge.sessionEpoch,
        issues: challenge.issues,
        // An array literal: knex would spread an array binding into a list. The methods are fixed words.
        amr: db.raw('?::text[]', [`{${challenge.firstStepAmr.join(',')}}`]),
        attempts_left: challenge.attempts,
        expires_at: challenge.expiresAt,
      });
    },

    async findChallengeUser(challengeHash, issues, now) {
      const row = await liveChallenge(db, challengeHash, issues, now)
        .select<{ id: number; username: string }>('u.id', 'u.username')
        .first();
      return row && { userId: row.id, username: row.username };
    },

    async useChallenge(challengeHash, issues, now, prove): Promise<ChallengeOutcome> {
      return db.transaction(async (trx): Promise<ChallengeOutcome> => {
        const challenge = await liveChallenge(trx, challengeHash, issues, now)
          .select<{ user_id: number; session_epoch: number; attempts_left: number; amr: AuthenticationMethod[] }>(
            'c.user_id',
            'c.session_epoch',
            'c.attempts_left',
            'c.amr',
          )
          .forUpdate('c')
          .first();
        if (!challenge) return { outcome: 'unknown' };
        if (await prove(challenge.user_id, checksOn(trx))) {
          await trx('login_challenges').delete().where({ challenge_hash: challengeHash });
          return {
            outcome: 'passed',
            userId: challenge.user_id,
            sessionEpoch: challenge.session_epoch,
            firstStepAmr: challenge.amr,
          };
        }
        // With none left it is dead (see liveChallenge), and the purge deletes it once it expires.
        const attemptsLeft = challenge.attempts_left - 1;
        await trx('login_challenges').update({ attempts_left: attemptsLeft }).where({ challenge_hash: challengeHash });
        return { outcome: 'failed', attemptsLeft };
      });
    },

    deleteExpiredChallenges(now) {
      return db('login_challenges').delete().where('expires_at', '<=', now);
    },
  });
}
