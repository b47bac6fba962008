import { createHash, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { AppError } from '../errors';
import type { AuthenticatedSession, AuthenticationMethod, Clock, User, UserId } from './model';
import { generateOneTimeToken, hashOneTimeToken, isWellFormedOneTimeToken } from './one-time-tokens';
import type { ChallengeIssues, PasskeyStore, SecondFactorChecks, SecondFactorStore, UserStore } from './ports';
import type { SecretBox } from './secret-box';

/**
 * A second factor: an authenticator app (TOTP, RFC 6238: SHA-1, 6 digits, 30 s) and the recovery
 * codes that stand in for it, and the challenge that carries a login from its right password to
 * its second factor.
 */

const TOTP_SETTINGS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
// RFC 4226 asks for 160 bits.
const TOTP_SECRET_BYTES = 20;
// One step either way: a phone's clock a little off, or a code typed as it changed.
const TOTP_WINDOW_STEPS = 1;
const TOTP_CODE = /^\d{6}$/;

const RECOVERY_CODE_COUNT = 10;
// 79 bits each: 16 characters of a 31-letter alphabet without look-alikes, shown in groups of four.
const RECOVERY_CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const RECOVERY_CODE_LENGTH = 16;

const CHALLENGE_LIFETIME_SECONDS = 5 * 60;
const CHALLENGE_ATTEMPTS = 5;
// Secrets sealed again per round trip when the encryption key is rotated.
const RESEAL_PAGE_SIZE = 500;

/** A session this young proved the password just now: enrolling needs no second proof. */
const FRESH_SESSION_SECONDS = 5 * 60;

/** The ways a login's second step may be proved, as MFA_REQUIRED lists them. */
export type SecondFactorMethod = 'totp' | 'recovery_code' | 'passkey';

/**
 * A second step's proof: a code from the app, a recovery code, or a passkey's assertion, which
 * Passkeys checked beforehand (its checks use the database, outside the challenge's transaction).
 */
export type SecondFactorProof = CodeProof | { passkeyProved: boolean };

/** A code from the app, or a recovery code. */
export type CodeProof = { code: string } | { recoveryCode: string };

/** What an account shows of its second factors. */
export interface MfaSummary {
  totp: boolean;
  passkeys: number;
}

export interface TotpEnrolment {
  /** Base32, for typing into an app by hand. */
  secret: string;
  otpauthUri: string;
  qrSvg: string;
}

/** Lower-case, without the separators people type: what is hashed and compared. */
function canonicalRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(canonicalRecoveryCode(code)).digest('hex');
}

function generateRecoveryCode(): string {
  const characters = Array.from(
    { length: RECOVERY_CODE_LENGTH },
    () => RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)],
  );
  return characters.join('').match(/.{4}/g)!.join('-');
}

function generateRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

export interface SecondFactorsDeps {
  store: SecondFactorStore;
  box: SecretBox;
  clock: Clock;
  /** The name an authenticator app shows above the account's codes. */
  issuer: string;
  users: Pick<UserStore, 'findUserById'>;
  /** The passkeys, which count among the factors an account shows, and an admin's reset removes. */
  passkeys: Pick<PasskeyStore, 'countPasskeys' | 'deleteUserPasskeys'>;
  /** Checks the user's current password; throws INVALID_CREDENTIALS when it is wrong. */
  confirmPassword: (userId: UserId, password: string) => Promise<unknown>;
}

export function createSecondFactors({
  store,
  box,
  clock,
  issuer,
  users,
  passkeys,
  confirmPassword,
}: SecondFactorsDeps) {
  const secretContext = (userId: UserId) => `totp:${userId}`;
  const totpFor = (secret: Secret, label = '') => new TOTP({ ...TOTP_SETTINGS, issuer, label, secret });

  /** The time step of the code, if it is the app's code for now or one step either side. */
  function stepOf(secretBase32: string, code: string): number | undefined {
    if (!TOTP_CODE.test(code)) return undefined;
    const timestamp = clock.now().getTime();
    const delta = totpFor(Secret.fromBase32(secretBase32)).validate({
      token: code,
      timestamp,
      window: TOTP_WINDOW_STEPS,
    });
    if (delta === null) return undefined;
    return Math.floor(timestamp / 1000 / TOTP_SETTINGS.period) + delta;
  }

  /** Whether the proof holds; a code that holds is used up by this. */
  async function prove(userId: UserId, proof: SecondFactorProof, checks: SecondFactorChecks): Promise<boolean> {
    if ('passkeyProved' in proof) return proof.passkeyProved;
    if ('recoveryCode' in proof) return checks.consumeRecoveryCode(userId, hashRecoveryCode(proof.recoveryCode));
    const factor = await checks.findTotp(userId);
    if (!factor?.confirmed) return false;
    const step = stepOf(box.open(factor.secretCiphertext, secretContext(userId)), proof.code);
    return step !== undefined && checks.acceptTotpStep(userId, step);
  }

  /**
   * A change to the ways into an account (its factors, its passkeys) from a session older than
   * FRESH_SESSION_SECONDS needs the password again: a stolen session alone cannot add its own.
   */
  async function confirmFreshness(auth: AuthenticatedSession, password: string | undefined): Promise<void> {
    if (password !== undefined) {
      await confirmPassword(auth.user.id, password);
      return;
    }
    const ageSeconds = (clock.now().getTime() - auth.session.createdAt.getTime()) / 1000;
    if (ageSeconds > FRESH_SESSION_SECONDS) throw new AppError('PASSWORD_REQUIRED');
  }

  return {
    confirmFreshness,

    /** Starts setting up an authenticator app; nothing is asked at login until it is confirmed. */
    async beginTotpEnrolment(auth: AuthenticatedSession, password: string | undefined): Promise<TotpEnrolment> {
      await confirmFreshness(auth, password);
      const secret = new Secret({ size: TOTP_SECRET_BYTES });
      const saved = await store.savePendingTotp(
        auth.user.id,
        box.seal(secret.base32, secretContext(auth.user.id)),
        clock.now(),
      );
      if (!saved) throw new AppError('MFA_ALREADY_ENABLED');
      const otpauthUri = totpFor(secret, auth.user.username).toString();
      return { secret: secret.base32, otpauthUri, qrSvg: await QRCode.toString(otpauthUri, { type: 'svg' }) };
    },

    /** Confirms the app with a first code; answers the recovery codes, shown this once. */
    async confirmTotp(userId: UserId, code: string): Promise<string[]> {
      const factor = await store.findTotp(userId);
      if (!factor || factor.confirmed) throw new AppError(factor ? 'MFA_ALREADY_ENABLED' : 'MFA_NOT_ENABLED');
      const step = stepOf(box.open(factor.secretCiphertext, secretContext(userId)), code);
      if (step === undefined) throw new AppError('INVALID_MFA_CODE');
      const { codes, hashes } = generateRecoveryCodes();
      if (!(await store.confirmTotp(userId, step, hashes, clock.now()))) throw new AppError('MFA_ALREADY_ENABLED');
      return codes;
    },

    /** Removes the app and the recovery codes, on the password and a code of either kind. */
    async removeTotp(userId: UserId, { password, ...proof }: CodeProof & { password: string }): Promise<void> {
      await confirmPassword(userId, password);
      const factor = await store.findTotp(userId);
      if (!factor?.confirmed) throw new AppError('MFA_NOT_ENABLED');
      if (!(await prove(userId, proof, store))) throw new AppError('INVALID_MFA_CODE');
      await store.deleteFactors(userId);
    },

    /** A new set of recovery codes; the old set stops working. */
    async regenerateRecoveryCodes(auth: AuthenticatedSession, password: string | undefined): Promise<string[]> {
      await confirmFreshness(auth, password);
      const { codes, hashes } = generateRecoveryCodes();
      if (!(await store.replaceRecoveryCodes(auth.user.id, hashes))) throw new AppError('MFA_NOT_ENABLED');
      return codes;
    },

    /** Whether logging in as this user takes a second factor. */
    async isRequired(userId: UserId): Promise<boolean> {
      return (await store.usersWithTotp([userId])).has(userId);
    },

    /** What users' accounts show of their factors. */
    async summaries(userIds: readonly UserId[]): Promise<Map<UserId, MfaSummary>> {
      const [withTotp, passkeyCounts] = [await store.usersWithTotp(userIds), await passkeys.countPasskeys(userIds)];
      return new Map(userIds.map((id) => [id, { totp: withTotp.has(id), passkeys: passkeyCounts.get(id) ?? 0 }]));
    },

    countRecoveryCodes: (userId: UserId) => store.countRecoveryCodes(userId),

    /** The admin's order for a user who lost their phone: every factor goes, passkeys too. */
    async removeAllFactors(userId: UserId): Promise<void> {
      await store.deleteFactors(userId);
      await passkeys.deleteUserPasskeys(userId);
    },

    /**
     * After a login's first step (the right password, or an identity provider's login): the
     * challenge that the second step must present. `firstStepAmr` is how the first was proved.
     */
    async startChallenge(
      user: Pick<User, 'id' | 'sessionEpoch'>,
      issues: ChallengeIssues,
      firstStepAmr: readonly AuthenticationMethod[],
    ): Promise<string> {
      const { token, tokenHash } = generateOneTimeToken();
      await store.insertChallenge({
        challengeHash: tokenHash,
        userId: user.id,
        sessionEpoch: user.sessionEpoch,
        issues,
        firstStepAmr,
        attempts: CHALLENGE_ATTEMPTS,
        expiresAt: new Date(clock.now().getTime() + CHALLENGE_LIFETIME_SECONDS * 1000),
      });
      return token;
    },

    /** A live challenge's user, or undefined for any challenge that is not one; without `issues`, of either family. */
    async pendingChallenge(
      challenge: string,
      issues?: ChallengeIssues,
    ): Promise<{ userId: UserId; username: string } | undefined> {
      if (!isWellFormedOneTimeToken(challenge)) return undefined;
      return store.findChallengeUser(hashOneTimeToken(challenge), issues, clock.now());
    },

    /** The ways this user's second step may be proved: the app or a recovery code, and a passkey if they have one. */
    async methodsOf(userId: UserId): Promise<SecondFactorMethod[]> {
      const passkeyCount = (await passkeys.countPasskeys([userId])).get(userId) ?? 0;
      return passkeyCount > 0 ? ['totp', 'recovery_code', 'passkey'] : ['totp', 'recovery_code'];
    },

    /**
     * The second step: answers who passed it and how they proved it. The user carries the epoch
     * of the password check, which their session must be stored under (see
     * SessionManager.createSession): a logout-all, password change or disable since voids it.
     * Throws INVALID_MFA_CHALLENGE, or INVALID_MFA_CODE with the attempts left.
     */
    async finishChallenge(
      challenge: string,
      issues: ChallengeIssues,
      proof: SecondFactorProof,
    ): Promise<{ user: User; amr: AuthenticationMethod[] }> {
      if (!isWellFormedOneTimeToken(challenge)) throw new AppError('INVALID_MFA_CHALLENGE');
      const result = await store.useChallenge(hashOneTimeToken(challenge), issues, clock.now(), (userId, checks) =>
        prove(userId, proof, checks),
      );
      if (result.outcome === 'unknown') throw new AppError('INVALID_MFA_CHALLENGE');
      if (result.outcome === 'failed')
        throw new AppError('INVALID_MFA_CODE', { fields: { attemptsLeft: result.attemptsLeft } });
      const user = await users.findUserById(result.userId);
      if (!user) throw new AppError('INVALID_MFA_CHALLENGE');
      // A passkey after the first step is a second factor: `mfa` says so, as `otp` does by itself.
      const secondStep: AuthenticationMethod[] = 'passkeyProved' in proof ? ['hwk', 'mfa'] : ['otp'];
      return { user: { ...user, sessionEpoch: result.sessionEpoch }, amr: [...result.firstStepAmr, ...secondStep] };
    },

    /**
     * Seals again with MFA_ENCRYPTION_KEY every secret that a key of MFA_ENCRYPTION_PREVIOUS_KEYS
     * sealed, so that those can be dropped. `unreadable` counts the secrets no key opens (their
     * apps must be set up again: an admin's reset).
     */
    async resealSecrets(): Promise<{ resealed: number; unreadable: number }> {
      const counts = { resealed: 0, unreadable: 0 };
      for (let after = 0; ;) {
        const page = await store.listTotpSecrets(after, RESEAL_PAGE_SIZE);
        if (page.length === 0) return counts;
        for (const { userId, secretCiphertext } of page) {
          let resealed;
          try {
            resealed = box.reseal(secretCiphertext, secretContext(userId));
          } catch {
            counts.unreadable++;
            continue;
          }
          if (resealed !== undefined && (await store.replaceTotpSecret(userId, secretCiphertext, resealed))) {
            counts.resealed++;
          }
        }
        after = page.at(-1)!.userId;
      }
    },

    purgeExpiredChallenges: () => store.deleteExpiredChallenges(clock.now()),
  };
}

export type SecondFactors = ReturnType<typeof createSecondFactors>;
