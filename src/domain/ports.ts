import type { TokenLookup } from './session-tokens';
import type { AuthenticationMethod, Session, User, UserId, ValidatedSession } from './model';

/**
 * What the domain needs from storage, in the domain's words. The repositories in src/db
 * implement these; the domain never sees SQL.
 */

/**
 * What decides whether a session is alive at `now`. The rule itself (the absolute end, or
 * `idleTimeoutSeconds` without use, whichever comes first) is the store's, written once.
 */
export interface Liveness {
  now: Date;
  idleTimeoutSeconds: number;
}

export interface SessionStore {
  /**
   * Inserts the session only if its user still exists, is enabled and is at `userEpoch`;
   * answers whether it did. A credential check that raced a change to the user fails here.
   */
  insertSession(session: Session & { tokenHash: string; userEpoch: number }): Promise<boolean>;
  /** The same for a login session of the OpenID Provider, whose secret is the provider's cookie. */
  insertProviderSession(session: Session & { userEpoch: number }): Promise<boolean>;
  /**
   * The live session of a token, by its hash: a session's, or (for the webhook) an OpenID
   * Provider's access token, which stands for its grant.
   */
  findLiveSessionByToken(lookup: TokenLookup, liveness: Liveness): Promise<ValidatedSession | undefined>;
  /**
   * Records use at `liveness.now`, if the session is still live by the rule of the lookup and its
   * use was not already recorded after `staleBefore`. Answers the session's new end when it wrote.
   * The write is itself a validation: a view of the session read earlier (from a cache, say) is
   * never made to live on by it.
   */
  touchSession(id: string, liveness: Liveness, staleBefore: Date): Promise<Date | undefined>;
  listLiveUserSessions(userId: UserId, liveness: Liveness): Promise<Session[]>;
  deleteSession(id: string): Promise<void>;
  /** Deletes one session if it belongs to the user; answers whether it did. */
  deleteUserSession(userId: UserId, id: string): Promise<boolean>;
  /** Ends every session of the user, including any being created at this moment. */
  endUserSessions(userId: UserId): Promise<void>;
  deleteDeadSessions(liveness: Liveness): Promise<number>;
  /** Whether any session is left from before tokens carried a MAC. */
  hasSessionsWithoutTokenMac(): Promise<boolean>;
  countLiveSessions(liveness: Liveness): Promise<number>;
}

export type RefreshTokenRotation =
  /** The token was current, or rotated within the grace window: the replacement is now current too. */
  | { outcome: 'rotated'; auth: ValidatedSession }
  /** No such token, or its session has ended. */
  | { outcome: 'unknown' }
  /** The token was rotated before the grace window: its session has been ended. */
  | { outcome: 'reused' };

/** The refresh tokens of JWT mode's sessions, which live in the sessions table. */
export interface RefreshSessionStore {
  /**
   * Inserts a refresh session with its first token, under the same condition as
   * SessionStore.insertSession; answers whether it did.
   */
  insertRefreshSession(session: Session & { tokenHash: string; userEpoch: number }): Promise<boolean>;
  /**
   * Decides, once across every instance, what a presented refresh token is worth: a current
   * token, or one rotated after `reuseGraceStartsAt`, is marked rotated and `replacementHash`
   * becomes a token of its session (already one, when the presented token was rotated before:
   * its successor is always the same), whose use is recorded at `liveness.now`; a token rotated
   * before that ends its session.
   */
  rotateRefreshToken(
    presentedHash: string,
    replacementHash: string,
    options: { liveness: Liveness; reuseGraceStartsAt: Date },
  ): Promise<RefreshTokenRotation>;
  /** Ends the session that this token, current or rotated, belongs to. */
  endSessionOfRefreshToken(tokenHash: string): Promise<void>;
}

export type SigningAlgorithm = 'ES256' | 'RS256';

/** An asymmetric key pair that signs access tokens, as JWKs. */
export interface SigningKeyRecord {
  kid: string;
  algorithm: SigningAlgorithm;
  publicJwk: Record<string, unknown>;
  /** Null for a key given through the environment, whose private half is never stored. */
  privateJwk: Record<string, unknown> | null;
  /** When it was first published. */
  createdAt: Date;
  /**
   * From when it signs; before that it is only published. For a key from the environment: when
   * every Hasura has fetched it, and from when it may take over as the next key.
   */
  signsFrom: Date;
  /** When an instance first started without it configured; null while some instance signs with it. */
  retiredAt: Date | null;
}

/** The keys a starting instance signs with: the kids it was given, or every key kept with its private half. */
export type SigningKeysInUse = { kids: string[] } | { privateKeysInDatabase: true };

export interface SigningKeyStore {
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  /**
   * Inserts the key unless one of its algorithm with a private half in the database exists,
   * deciding across instances that start together; answers whether it did.
   */
  insertSigningKeyUnlessAlgorithmExists(key: SigningKeyRecord): Promise<boolean>;
  /** Inserts each key whose kid is not recorded yet: a recorded key keeps its first publication time. */
  insertSigningKeysUnlessRecorded(keys: SigningKeyRecord[]): Promise<void>;
  /** Keys in use stop being retired; every other key not retired yet is retired at `now`. */
  retireSigningKeysNotInUse(inUse: SigningKeysInUse, now: Date): Promise<void>;
  /** Deletes the keys from the environment retired at or before `cutoff`; answers their kids. */
  deleteEnvironmentKeysRetiredBefore(cutoff: Date): Promise<string[]>;
  deleteSigningKeys(kids: string[]): Promise<number>;
}

export interface NewUser {
  username: string;
  usernameKey: string;
  /** Null for a user who logs in only through an identity provider. */
  passwordHash: string | null;
  displayName: string | null;
  email: string | null;
  emailVerified: boolean;
  grantedRoles: string[];
  defaultRole: string;
  now: Date;
}

export interface UserChanges {
  /** Null clears it. */
  displayName?: string | null;
  /** Null clears it; a new address is unverified unless `emailVerified` says otherwise. */
  email?: string | null;
  emailVerified?: boolean;
  defaultRole?: string;
  disabled?: boolean;
  sessionVariables?: Record<string, string>;
}

export interface UserStore {
  /** Inserts the user with their roles, unless the username is taken or one of the roles is gone. */
  insertUser(user: NewUser): Promise<UserInsert>;
  findUserById(id: UserId): Promise<User | undefined>;
  findUserWithPasswordHash(usernameKey: string): Promise<{ user: User; passwordHash: string | null } | undefined>;
  /** Undefined when there is no such user; null when the user has no password. */
  findPasswordHash(id: UserId): Promise<string | null | undefined>;
  /**
   * Replaces the password hash `replaced` and, in the same statement, ends every session of the
   * user; answers the user's new session epoch, or undefined when there is no such user or its
   * hash is no longer `replaced` (another change came first). Unused password-reset tokens
   * of the user die with the old password, and `notice` is queued with the change.
   */
  replacePasswordHash(
    id: UserId,
    hashes: { replaced: string; replacement: string },
    now: Date,
    notice?: QueuedMail,
  ): Promise<number | undefined>;
  /** A page of users by id; with `search`, those whose username or address contains it, in any case. */
  listUsers(limit: number, offset: number, search?: string): Promise<{ users: User[]; total: number }>;
  /**
   * Applies the changes as one, after every other change to this user. A default role must be
   * held when the change commits, not only when it was asked for. Disabling also ends every
   * session of the user. Verifying an address clears every other account's unverified claim on it.
   */
  updateUser(id: UserId, changes: UserChanges, now: Date): Promise<UserUpdate>;
  /** Deletes the user; sessions go with them. */
  deleteUser(id: UserId): Promise<boolean>;
  /** Grants the role, after every other change to this user; a role deleted meanwhile is not granted. */
  grantRole(id: UserId, role: string, now: Date, options: RoleChangeOptions): Promise<RoleGrant>;
  /** Revokes the role, after every other change to this user; a user whose default it was falls back to `user`. */
  revokeRole(id: UserId, role: string, now: Date, options: RoleChangeOptions): Promise<RoleRevocation>;
}

export type UserInsert =
  | { outcome: 'inserted'; user: User }
  | { outcome: 'username-taken' }
  /** Another account has verified the address. */
  | { outcome: 'email-taken' }
  | { outcome: 'role-not-found' };

/** Only `granted` and `revoked` changed anything, and only they end sessions. */
export type RoleGrant = 'granted' | 'already-held' | 'user-not-found' | 'role-not-found';
export type RoleRevocation = 'revoked' | 'not-held' | 'user-not-found';

export type UserUpdate =
  | { outcome: 'updated'; user: User }
  | { outcome: 'not-found' }
  | { outcome: 'default-role-not-held' }
  | { outcome: 'email-taken' };

export interface RoleChangeOptions {
  /** End the user's sessions in the same transaction as the change. */
  endSessions: boolean;
}

export interface Role {
  name: string;
  builtIn: boolean;
}

export interface RoleStore {
  listRoles(): Promise<Role[]>;
  findRole(name: string): Promise<Role | undefined>;
  /** Answers false when the role already exists. */
  insertRole(name: string, now: Date): Promise<boolean>;
  /**
   * Deletes a role that is not built in; users whose default it was fall back to `user`. With
   * `endSessions`, its holders' sessions end in the same transaction.
   */
  deleteRole(name: string, now: Date, options: RoleChangeOptions): Promise<boolean>;
}

/** One-time start-up work, recorded once it has run. */
export interface BootstrapRunStore {
  hasCompleted(name: string): Promise<boolean>;
  /** Records the run; recording it twice (two instances starting together) is harmless. */
  recordCompleted(name: string, now: Date): Promise<void>;
}

/** Secrets every instance shares, made once per database. */
export interface ServerSecretStore {
  /** The secret with this name; `generate` makes it if no instance has yet. */
  findOrCreateSecret(name: string, generate: () => Buffer): Promise<Buffer>;
}
/** How many attempts a rate limit admits in a fixed window that starts at the first attempt. */
export interface AttemptLimit {
  attempts: number;
  windowSeconds: number;
}

export type AttemptCount = { admitted: true } | { admitted: false; retryAfterSeconds: number };

/**
 * Attempts counted under keys, per limit. Where the store is the shared database, every instance
 * sees the same counts. A store that cannot count throws (DATABASE_UNAVAILABLE), and is never
 * read as "admitted".
 */
export interface AttemptCounter {
  /** Counts one attempt under the key, and answers whether the limit still admits it. */
  count(key: string): Promise<AttemptCount>;
  /** Whether anything is counted under the key in its current window. */
  isCounted(key: string): Promise<boolean>;
  /** Counts the key as seen, for a whole window from now, however often it was seen before. */
  markSeen(key: string): Promise<void>;
  /** Forgets the key's count. */
  reset(key: string): Promise<void>;
  /** Takes back one attempt that count() counted under the key. */
  uncount(key: string): Promise<void>;
}

/** Opens the counter of one named limit. */
export type AttemptCounterStore = (limitName: string, limit: AttemptLimit) => AttemptCounter;

/** What a mail says, by template; rendered (src/mail/messages.ts) only when it is sent. */
export type MailMessage =
  | { template: 'email-verification'; username: string; token: string; change: boolean }
  | { template: 'password-reset'; username: string; token: string }
  | { template: 'invitation'; username: string; token: string }
  | { template: 'password-changed'; username: string }
  | { template: 'email-changed'; username: string; newEmail: string };

export interface QueuedMail {
  to: string;
  message: MailMessage;
}

export type TokenPurpose = 'email-verification' | 'password-reset';

export interface OneTimeTokenRecord {
  purpose: TokenPurpose;
  tokenHash: string;
  userId: UserId;
  /** The address it is mailed to: what a verification proves. */
  email: string;
  createdAt: Date;
  expiresAt: Date;
}

export type EmailVerification =
  | { outcome: 'verified'; user: User; previousEmail: string | null; previousVerified: boolean }
  | { outcome: 'invalid-token' }
  | { outcome: 'email-taken' };

/** Single-use tokens, and the writes they authorise, each in one transaction with the mail it queues. */
export interface OneTimeTokenStore {
  /**
   * Voids the user's unused tokens of this purpose, stores this one and queues its mail, as one;
   * answers false when the user is gone.
   */
  issueToken(token: OneTimeTokenRecord, mail: QueuedMail): Promise<boolean>;
  /** The user and address of a token that is unused and unexpired at `now`. */
  findUsableToken(
    purpose: TokenPurpose,
    tokenHash: string,
    now: Date,
  ): Promise<{ user: User; email: string } | undefined>;
  /** Deletes tokens that expired before `cutoff`, used or not; answers how many. */
  deleteExpiredTokens(cutoff: Date): Promise<number>;
  /** The address of the user's newest unused, unexpired token of this purpose: where a resend goes. */
  findPendingTokenEmail(userId: UserId, purpose: TokenPurpose, now: Date): Promise<string | undefined>;
  /**
   * Uses a verification token: its address becomes the user's, verified, and every other
   * account's unverified claim on it is cleared; `notice` says what to mail about it, if anything.
   */
  verifyEmail(
    tokenHash: string,
    now: Date,
    notice: (verification: Extract<EmailVerification, { outcome: 'verified' }>) => QueuedMail | undefined,
  ): Promise<EmailVerification>;
  /**
   * Uses a reset token: the password is replaced, every session and every other reset token of
   * the user ends, and `notice` is queued; answers the user, or undefined when the token was not
   * usable (unknown, used, expired, superseded, or used by a request that came first). The token
   * came by mail to the user's address, which so is verified, unless another account verified it.
   */
  resetPassword(
    tokenHash: string,
    passwordHash: string,
    now: Date,
    notice: (user: User) => QueuedMail,
  ): Promise<User | undefined>;
  /**
   * Where a password reset for `login` goes: the user with that username, else the user who
   * verified that address; only if enabled and with a verified address. It reads a few plain
   * columns, so that a match costs what no match does.
   */
  findPasswordResetRecipient(login: {
    usernameKey: string;
    email: string | null;
  }): Promise<PasswordResetRecipient | undefined>;
}

export interface PasswordResetRecipient {
  id: UserId;
  username: string;
  /** Verified. */
  email: string;
}

export interface OutboxMail extends QueuedMail {
  id: string;
  createdAt: Date;
  /** Including the attempt this claim is for. */
  attempts: number;
}

/** The mail outbox, which every instance's worker sends from. */
export interface MailOutboxStore {
  /**
   * Claims up to `limit` mails that are due at `now`, for `leaseSeconds`: no other worker takes
   * them meanwhile, and if this one dies they become due again when the lease ends.
   */
  claimDue(now: Date, leaseSeconds: number, limit: number): Promise<OutboxMail[]>;
  markSent(id: string, now: Date): Promise<void>;
  /** Records a failed attempt; the mail is due again at `retryAt`. */
  markFailed(id: string, error: string, retryAt: Date): Promise<void>;
  markGivenUp(id: string, error: string, now: Date): Promise<void>;
  /** Mail waiting to be sent, and how long the oldest has waited. */
  pending(now: Date): Promise<{ count: number; oldestAgeSeconds: number }>;
  /** Deletes the records of mail sent or given up on before `cutoff`; answers how many. */
  deleteFinishedBefore(cutoff: Date): Promise<number>;
}

/** Who an identity provider says the user is. The identity is (issuer, subject), never the email. */
export interface ProviderProfile {
  issuer: string;
  subject: string;
  /** Normalised and valid, or null. */
  email: string | null;
  /** True only when the provider says so. */
  emailVerified: boolean;
  /** What a new account's username is made from: `preferred_username`, else the email's local part. */
  usernameHint: string | null;
  displayName: string | null;
}

/** An identity at a provider, linked to a local user. */
export interface LinkedIdentity {
  id: string;
  /** The id of the configured provider it came through. */
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type IdentitySignIn =
  /** A logged-in user adds the identity to their account. */
  | { kind: 'link'; provider: string; profile: ProviderProfile; userId: UserId }
  | {
      kind: 'login';
      provider: string;
      profile: ProviderProfile;
      /** The provider is trusted to link by an address both sides have verified. */
      linkByVerifiedEmail: boolean;
      /** The account to create when no user has the identity; null when signing up is closed. */
      newUser: { usernames: string[]; displayName: string | null; now: Date } | null;
    };

export type IdentitySignInOutcome =
  | { outcome: 'signed-in'; user: User; identityId: string; how: 'known' | 'linked' | 'created' }
  /** Another account holds the identity (linking), or it was just linked to another (a race). */
  | { outcome: 'identity-in-use' }
  | { outcome: 'disabled' }
  | { outcome: 'signup-closed' }
  /** The linking user is gone, or no username could be had. */
  | { outcome: 'user-not-found' };

export interface IdentityStore {
  /**
   * Finds the user that holds the identity, or links it, or creates a user with it, as one
   * transaction; records when the identity was used and the address the provider gave.
   */
  signIn(request: IdentitySignIn, now: Date): Promise<IdentitySignInOutcome>;
  listIdentities(userIds: readonly UserId[]): Promise<Map<UserId, LinkedIdentity[]>>;
  /**
   * Unlinks the identity. With `keepLastLoginMethod`, not when it is the account's last way to
   * log in (no password, no other identity), checked under the user's row lock.
   */
  deleteIdentity(
    userId: UserId,
    identityId: string,
    options: { keepLastLoginMethod: boolean },
  ): Promise<'deleted' | 'not-found' | 'last-login-method'>;
  /** Stores a login code's hash, for the user at their current session epoch. */
  insertLoginCode(code: {
    codeHash: string;
    userId: UserId;
    provider: string;
    createdAt: Date;
    expiresAt: Date;
  }): Promise<void>;
  /**
   * Uses a login code once: answers its user while the code is unexpired, unused, and the user
   * enabled at the epoch the code was made in.
   */
  consumeLoginCode(codeHash: string, now: Date): Promise<{ user: User; provider: string } | undefined>;
  /** Deletes login codes that expired; answers how many. */
  deleteExpiredLoginCodes(now: Date): Promise<number>;
}

/** What a login's second step gives once finished: a session (POST /login) or a token pair (POST /token). */
export type ChallengeIssues = 'session' | 'tokens';

/** A user's authenticator app as stored: its secret still sealed. */
export interface StoredTotpFactor {
  secretCiphertext: string;
  confirmed: boolean;
}

/** The checks a second factor's proof makes, inside the transaction that holds the login's challenge. */
export interface SecondFactorChecks {
  findTotp(userId: UserId): Promise<StoredTotpFactor | undefined>;
  /**
   * Records that a code of time step `step` was accepted, unless a code of this step or a later
   * one was accepted before (or the factor is not confirmed): answers whether it did. Of two
   * uses of one code at once, exactly one is recorded.
   */
  acceptTotpStep(userId: UserId, step: number): Promise<boolean>;
  /** Deletes the recovery code with this hash; answers whether there was one. */
  consumeRecoveryCode(userId: UserId, codeHash: string): Promise<boolean>;
}

export type ChallengeOutcome =
  /** No such challenge, or it expired, was used, ran out of attempts, or its user changed since. */
  | { outcome: 'unknown' }
  /** The proof failed; the challenge lives on while attempts are left. */
  | { outcome: 'failed'; attemptsLeft: number }
  /** The proof passed and the challenge is gone. `sessionEpoch` is the user's when the password was checked. */
  | { outcome: 'passed'; userId: UserId; sessionEpoch: number; firstStepAmr: AuthenticationMethod[] };

export interface SecondFactorStore extends SecondFactorChecks {
  /** Stores an enrolment in progress, replacing one not yet confirmed; false when a confirmed factor exists. */
  savePendingTotp(userId: UserId, secretCiphertext: string, now: Date): Promise<boolean>;
  /**
   * Confirms the enrolment with the step of its first code, and replaces the recovery codes, in
   * one transaction; false when there is no enrolment in progress or the step was used.
   */
  confirmTotp(userId: UserId, step: number, recoveryCodeHashes: string[], now: Date): Promise<boolean>;
  /** Replaces the recovery codes of a user whose factor is confirmed; false when it is not. */
  replaceRecoveryCodes(userId: UserId, codeHashes: string[]): Promise<boolean>;
  /** Deletes every factor and recovery code of the user. */
  deleteFactors(userId: UserId): Promise<void>;
  /** A page of the stored TOTP secrets, by user id, after `afterUserId`. */
  listTotpSecrets(afterUserId: UserId, limit: number): Promise<{ userId: UserId; secretCiphertext: string }[]>;
  /** Replaces a stored secret with the same secret sealed again, unless it changed meanwhile. */
  replaceTotpSecret(userId: UserId, replaced: string, replacement: string): Promise<boolean>;
  /** Of these users, those with a confirmed authenticator app. */
  usersWithTotp(userIds: readonly UserId[]): Promise<Set<UserId>>;
  countRecoveryCodes(userId: UserId): Promise<number>;

  insertChallenge(challenge: {
    challengeHash: string;
    userId: UserId;
    sessionEpoch: number;
    issues: ChallengeIssues;
    firstStepAmr: readonly AuthenticationMethod[];
    attempts: number;
    expiresAt: Date;
  }): Promise<void>;
  /**
   * A live challenge's user: their username counts its attempts against the account. Without
   * `issues`, a challenge of either family.
   */
  findChallengeUser(
    challengeHash: string,
    issues: ChallengeIssues | undefined,
    now: Date,
  ): Promise<{ userId: UserId; username: string } | undefined>;
  /**
   * Holds the live challenge (a row lock: its uses take turns, on every instance) while `prove`
   * checks the proof through the checks given to it, in the same transaction. Passed, the
   * challenge is deleted; failed, it loses an attempt, and is dead with none left.
   */
  useChallenge(
    challengeHash: string,
    issues: ChallengeIssues,
    now: Date,
    prove: (userId: UserId, checks: SecondFactorChecks) => Promise<boolean>,
  ): Promise<ChallengeOutcome>;
  deleteExpiredChallenges(now: Date): Promise<number>;
}

/** A registered passkey, as its owner sees it. */
export interface Passkey {
  /** The credential id, base64url. */
  id: string;
  name: string;
  /** `multiDevice`: synced between the owner's devices (a passkey manager); `singleDevice`: a security key. */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A passkey with what verifies its signatures. */
export interface StoredPasskey extends Passkey {
  userId: UserId;
  publicKey: Uint8Array<ArrayBuffer>;
  counter: number;
  transports: string[];
}

export type PasskeyChallengePurpose = 'registration' | 'authentication';

export interface PasskeyStore {
  insertChallenge(challenge: {
    challengeHash: string;
    purpose: PasskeyChallengePurpose;
    userId: UserId | null;
    expiresAt: Date;
  }): Promise<void>;
  /** Deletes the live challenge with this hash, purpose and user; answers whether there was one. */
  consumeChallenge(
    challengeHash: string,
    purpose: PasskeyChallengePurpose,
    userId: UserId | null,
    now: Date,
  ): Promise<boolean>;
  deleteExpiredChallenges(now: Date): Promise<number>;
  /** `exists`: the credential is registered already (to anyone). */
  insertPasskey(passkey: StoredPasskey): Promise<'inserted' | 'exists'>;
  findPasskey(id: string): Promise<StoredPasskey | undefined>;
  listPasskeys(userId: UserId): Promise<Passkey[]>;
  countPasskeys(userIds: readonly UserId[]): Promise<Map<UserId, number>>;
  /**
   * Records a use whose signature counter is `counter`, if it moves the stored one on (or both are
   * 0, an authenticator that keeps none): of two uses of one signature, or of a clone's, one wins.
   */
  recordUse(id: string, counter: number, now: Date): Promise<boolean>;
  rename(userId: UserId, id: string, name: string): Promise<Passkey | undefined>;
  /** With `keepLastLoginMethod`, refuses to delete the account's last way in. */
  deletePasskey(
    userId: UserId,
    id: string,
    options: { keepLastLoginMethod: boolean },
  ): Promise<'deleted' | 'not-found' | 'last-login-method'>;
  deleteUserPasskeys(userId: UserId): Promise<number>;
}
