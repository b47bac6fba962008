import { createHash } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { AppError } from '../errors';
import type { AuthenticatedSession, AuthenticationMethod, Clock, User, UserId } from './model';
import type { Passkey, PasskeyChallengePurpose, PasskeyStore, StoredPasskey, UserStore } from './ports';
import { usernameKey } from './usernames';

/**
 * Passkeys (WebAuthn), through @simplewebauthn/server: registering one to the signed-in account,
 * and logging in with one alone, also without a username (discoverable credentials). Every
 * ceremony's challenge is stored server side (its hash), used once, within 5 minutes; the
 * signature counter is checked and stored, so a clone that lags behind its original is refused.
 */

const CHALLENGE_LIFETIME_SECONDS = 5 * 60;
const MAX_PASSKEY_NAME_LENGTH = 100;

export interface RelyingParty {
  /** The domain passkeys belong to (WEBAUTHN_RP_ID). */
  relyingPartyId: string;
  relyingPartyName: string;
  /** The origins of the pages that may use them (WEBAUTHN_ORIGINS). */
  origins: readonly string[];
}

export interface PasskeysDeps {
  store: PasskeyStore;
  users: Pick<UserStore, 'findUserById'>;
  clock: Clock;
  relyingParty: RelyingParty;
  /** A change to an account's ways in from an old session needs the password again (see SecondFactors). */
  confirmFreshness: (auth: AuthenticatedSession, password: string | undefined) => Promise<void>;
}

const hashChallenge = (challenge: string) => createHash('sha256').update(challenge).digest('hex');

function validName(name: string | undefined, fallback: string): string {
  const trimmed = name?.trim() ?? '';
  if (trimmed.length > MAX_PASSKEY_NAME_LENGTH) {
    throw new AppError('VALIDATION_FAILED', {
      message: 'Invalid passkey name.',
      details: [{ path: 'name', message: `at most ${MAX_PASSKEY_NAME_LENGTH} characters` }],
    });
  }
  return trimmed === '' ? fallback : trimmed;
}

export function createPasskeys({ store, users, clock, relyingParty, confirmFreshness }: PasskeysDeps) {
  const { relyingPartyId, relyingPartyName, origins } = relyingParty;
  const expectedOrigin = [...origins];

  async function rememberChallenge(challenge: string, purpose: PasskeyChallengePurpose, userId: UserId | null) {
    await store.insertChallenge({
      challengeHash: hashChallenge(challenge),
      purpose,
      userId,
      expiresAt: new Date(clock.now().getTime() + CHALLENGE_LIFETIME_SECONDS * 1000),
    });
  }

  /**
   * Uses up the challenge the response says it signed, if this service issued it for this purpose
   * and user; the library then checks that it was signed. Done here rather than in the library's
   * callback, so that a database failure is an outage (5xx), never a refused passkey.
   */
  async function consumeSignedChallenge(
    response: { response: { clientDataJSON: string } },
    purpose: PasskeyChallengePurpose,
    userId: UserId | null,
  ): Promise<string | undefined> {
    let challenge: unknown;
    try {
      ({ challenge } = decodeClientDataJSON(response.response.clientDataJSON));
    } catch {
      return undefined;
    }
    if (typeof challenge !== 'string') return undefined;
    return (await store.consumeChallenge(hashChallenge(challenge), purpose, userId, clock.now()))
      ? challenge
      : undefined;
  }

  /**
   * Whether `passkey` signed a challenge this service issued to log in (for `challengeUserId`,
   * or for anyone), and its counter moved on; the challenge is used up either way. A database
   * failure throws (an outage); anything wrong with the answer is false.
   */
  async function verifyAssertion(
    passkey: StoredPasskey,
    response: AuthenticationResponseJSON,
    challengeUserId: UserId | null,
    requireUserVerification: boolean,
  ): Promise<boolean> {
    const challenge = await consumeSignedChallenge(response, 'authentication', challengeUserId);
    if (challenge === undefined) return false;
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin,
        expectedRPID: relyingPartyId,
        credential: { id: passkey.id, publicKey: passkey.publicKey, counter: passkey.counter },
        requireUserVerification,
      });
    } catch {
      // A bad signature, a counter that went back (a clone), a user not verified.
      return false;
    }
    // Of two uses racing with one signature counter, the second finds it moved on.
    return verified.verified && store.recordUse(passkey.id, verified.authenticationInfo.newCounter, clock.now());
  }

  return {
    /** The options for navigator.credentials.create(); its challenge is good once, for 5 minutes. */
    async registrationOptions(
      auth: AuthenticatedSession,
      password: string | undefined,
    ): Promise<PublicKeyCredentialCreationOptionsJSON> {
      await confirmFreshness(auth, password);
      const { user } = auth;
      const existing = await store.listPasskeys(user.id);
      const options = await generateRegistrationOptions({
        rpName: relyingPartyName,
        rpID: relyingPartyId,
        userName: user.username,
        userDisplayName: user.displayName ?? user.username,
        // The user handle a discoverable passkey keeps: the user id, which is no secret.
        userID: new TextEncoder().encode(String(user.id)),
        attestationType: 'none',
        // The same authenticator twice is refused by the browser before it is by the database.
        excludeCredentials: existing.map(({ id }) => ({ id })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      });
      await rememberChallenge(options.challenge, 'registration', user.id);
      return options;
    },

    /** Registers the passkey that answered the options. Throws PASSKEY_REJECTED or PASSKEY_EXISTS. */
    async register(userId: UserId, response: RegistrationResponseJSON, name: string | undefined): Promise<Passkey> {
      const passkeyName = validName(name, 'Passkey');
      const challenge = await consumeSignedChallenge(response, 'registration', userId);
      if (challenge === undefined) throw new AppError('PASSKEY_REJECTED');
      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin,
          expectedRPID: relyingPartyId,
          requireUserVerification: false,
        });
      } catch (error) {
        throw new AppError('PASSKEY_REJECTED', { cause: error });
      }
      if (!verified.verified) throw new AppError('PASSKEY_REJECTED');
      const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
      const passkey = {
        id: credential.id,
        userId,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: credential.transports ?? [],
        name: passkeyName,
        deviceType: credentialDeviceType,
        backedUp: credentialBackedUp,
        createdAt: clock.now(),
        lastUsedAt: null,
      };
      if ((await store.insertPasskey(passkey)) === 'exists') throw new AppError('PASSKEY_EXISTS');
      return passkey;
    },

    list: (userId: UserId) => store.listPasskeys(userId),

    countOf: (userIds: readonly UserId[]) => store.countPasskeys(userIds),

    async rename(userId: UserId, id: string, name: string): Promise<Passkey> {
      const renamed = await store.rename(userId, id, validName(name, 'Passkey'));
      if (!renamed) throw new AppError('NOT_FOUND', { message: 'No such passkey.' });
      return renamed;
    },

    /** Throws NOT_FOUND, or LAST_LOGIN_METHOD when a user would remove their last way in. */
    async remove(userId: UserId, id: string): Promise<void> {
      const deleted = await store.deletePasskey(userId, id, { keepLastLoginMethod: true });
      if (deleted === 'not-found') throw new AppError('NOT_FOUND', { message: 'No such passkey.' });
      if (deleted === 'last-login-method') throw new AppError('LAST_LOGIN_METHOD');
    },

    /** The admin's order for a user who lost their device: every passkey goes. */
    removeAll: (userId: UserId) => store.deleteUserPasskeys(userId),

    /**
     * The options for navigator.credentials.get(). They name no passkey: the browser offers the
     * ones it holds for this site, so the answer reveals nothing of any account.
     */
    async loginOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const options = await generateAuthenticationOptions({ rpID: relyingPartyId, userVerification: 'required' });
      await rememberChallenge(options.challenge, 'authentication', null);
      return options;
    },

    /**
     * A login with a passkey alone: answers its user and how they proved it. The authenticator
     * must have verified its user (PIN, biometrics), so the passkey is two factors (`hwk`, `mfa`):
     * browsers refuse a discoverable login without that anyway, and a key that anyone holding it
     * can use is no more than a password. With `username`, the passkey must be that user's.
     * Throws INVALID_PASSKEY for anything else, in the same words.
     */
    async logIn(
      response: AuthenticationResponseJSON,
      username: string | undefined,
    ): Promise<{ user: User; amr: AuthenticationMethod[] }> {
      const passkey = await store.findPasskey(response.id);
      if (!passkey || !(await verifyAssertion(passkey, response, null, true))) throw new AppError('INVALID_PASSKEY');
      const user = await users.findUserById(passkey.userId);
      if (!user || user.disabled || (username !== undefined && usernameKey(user.username) !== usernameKey(username))) {
        throw new AppError('INVALID_PASSKEY');
      }
      return { user, amr: ['hwk', 'mfa'] };
    },

    /**
     * The options for a login's second step after the password: they name the user's passkeys,
     * which only someone who knew the password learns. Throws NOT_FOUND when there are none.
     */
    async secondStepOptions(userId: UserId): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const registered = await store.listPasskeys(userId);
      if (registered.length === 0) throw new AppError('NOT_FOUND', { message: 'This account has no passkey.' });
      const options = await generateAuthenticationOptions({
        rpID: relyingPartyId,
        allowCredentials: registered.map(({ id }) => ({ id })),
        // The password was the first factor: the key's presence is the second.
        userVerification: 'preferred',
      });
      await rememberChallenge(options.challenge, 'authentication', userId);
      return options;
    },

    /**
     * Whether the assertion proves a second step for this user: one of their passkeys signed a
     * challenge issued for them, and its counter moved on. Used up either way.
     */
    async proveSecondStep(userId: UserId, response: AuthenticationResponseJSON): Promise<boolean> {
      const passkey = await store.findPasskey(response.id);
      return passkey?.userId === userId && verifyAssertion(passkey, response, userId, false);
    },

    purgeExpiredChallenges: () => store.deleteExpiredChallenges(clock.now()),
  };
}

export type Passkeys = ReturnType<typeof createPasskeys>;
