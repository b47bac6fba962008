import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { Clock, User, UserId } from './model';
import { generateOneTimeToken, hashOneTimeToken, isWellFormedOneTimeToken } from './one-time-tokens';
import type { IdentityStore, LinkedIdentity, ProviderProfile } from './ports';
import { isValidUsername, normalizeUsername } from './usernames';

/**
 * Why a login through a provider ended without a session: the stable `error=` value that the
 * callback's redirect carries back to the app. Never a provider's own message.
 */
export type ProviderLoginFailure =
  /** The flow's cookie is missing, expired, forged, or was used already. */
  | 'invalid_state'
  /** The user said no at the provider. */
  | 'access_denied'
  /** The provider answered an error, or its answer failed a check (signature, issuer, nonce…). */
  | 'provider_error'
  /** The provider could not be reached. */
  | 'provider_unavailable'
  | 'account_disabled'
  /** Linking: another account holds this identity. */
  | 'identity_in_use'
  /** No account holds the identity, and signing up is closed. */
  | 'signup_closed'
  /** Linking: the session that started it has ended. */
  | 'login_required'
  | 'server_error';

export class ProviderLoginRefused extends Error {
  constructor(readonly reason: ProviderLoginFailure) {
    super(`login through an identity provider refused: ${reason}`);
    this.name = 'ProviderLoginRefused';
  }
}

const MAX_USERNAME_BASE = 40;
// Whitespace, separators and control characters are not allowed in usernames (./usernames).
const NOT_IN_USERNAMES = /[\p{White_Space}\p{Z}\p{C}]+/gu;

/**
 * Usernames to try, in order, for a new user from a provider: the provider's hint as it is, then
 * with a random suffix, for when someone here has that name already.
 */
export function usernameCandidates(hint: string | null, providerId: string): string[] {
  const cleaned = normalizeUsername(hint ?? '')
    .replace(NOT_IN_USERNAMES, '-')
    .replace(/^-+|-+$/g, '');
  const base = [...cleaned].slice(0, MAX_USERNAME_BASE).join('');
  const stem = base !== '' && isValidUsername(base) ? base : `${providerId}-user`;
  const suffixed = () => `${stem}-${randomBytes(3).toString('hex')}`;
  return [stem, suffixed(), suffixed(), suffixed()];
}

export interface IdentityLoginsDeps {
  identities: IdentityStore;
  clock: Clock;
  signupOpen: boolean;
  loginCodeLifetimeSeconds: number;
}

/** Which local user an identity at a provider is, and the identities a user has linked. */
export function createIdentityLogins({ identities, clock, signupOpen, loginCodeLifetimeSeconds }: IdentityLoginsDeps) {
  return {
    /**
     * The user that a login through `provider` is: the one holding the identity; with
     * `linkByVerifiedEmail`, the one that verified the same address the provider verified;
     * otherwise a new user. With `linkTo`, the identity is added to that user instead.
     * Throws ProviderLoginRefused.
     */
    async signIn(
      provider: { id: string; linkByVerifiedEmail: boolean },
      profile: ProviderProfile,
      linkTo?: UserId,
    ): Promise<{ user: User; how: 'known' | 'linked' | 'created' }> {
      const now = clock.now();
      const signedIn = await identities.signIn(
        linkTo === undefined
          ? {
              kind: 'login',
              provider: provider.id,
              profile,
              linkByVerifiedEmail: provider.linkByVerifiedEmail,
              newUser: signupOpen
                ? {
                    usernames: usernameCandidates(profile.usernameHint, provider.id),
                    displayName: profile.displayName,
                    now,
                  }
                : null,
            }
          : { kind: 'link', provider: provider.id, profile, userId: linkTo },
        now,
      );
      switch (signedIn.outcome) {
        case 'signed-in':
          return { user: signedIn.user, how: signedIn.how };
        case 'identity-in-use':
          throw new ProviderLoginRefused('identity_in_use');
        case 'disabled':
          throw new ProviderLoginRefused('account_disabled');
        case 'signup-closed':
          throw new ProviderLoginRefused('signup_closed');
        case 'user-not-found':
          throw new ProviderLoginRefused(linkTo === undefined ? 'server_error' : 'login_required');
      }
    },

    /** A code that the app the login returns to trades for a session, once, within its lifetime. */
    async issueLoginCode(user: User, provider: string): Promise<string> {
      const { token, tokenHash } = generateOneTimeToken();
      const now = clock.now();
      await identities.insertLoginCode({
        codeHash: tokenHash,
        userId: user.id,
        provider,
        createdAt: now,
        expiresAt: new Date(now.getTime() + loginCodeLifetimeSeconds * 1000),
      });
      return token;
    },

    /** The user of a login code, which is used up. Throws INVALID_TOKEN. */
    async exchangeLoginCode(code: string): Promise<{ user: User; provider: string }> {
      const found = isWellFormedOneTimeToken(code)
        ? await identities.consumeLoginCode(hashOneTimeToken(code), clock.now())
        : undefined;
      if (!found) throw new AppError('INVALID_TOKEN');
      return found;
    },

    async listIdentities(userId: UserId): Promise<LinkedIdentity[]> {
      return (await identities.listIdentities([userId])).get(userId) ?? [];
    },

    /** The identities of each of the users, in one query. */
    identitiesOf: (userIds: readonly UserId[]) => identities.listIdentities(userIds),

    /**
     * Unlinks one of the user's identities; throws NOT_FOUND, or LAST_LOGIN_METHOD when the
     * account would be left with no password and no identity. An admin may leave it so.
     */
    async unlink(userId: UserId, identityId: string, by: 'user' | 'admin'): Promise<void> {
      const deleted = /^\d{1,18}$/.test(identityId)
        ? await identities.deleteIdentity(userId, identityId, { keepLastLoginMethod: by === 'user' })
        : 'not-found';
      if (deleted === 'not-found') throw new AppError('NOT_FOUND', { message: 'No such identity.' });
      if (deleted === 'last-login-method') throw new AppError('LAST_LOGIN_METHOD');
    },
  };
}

export type IdentityLogins = ReturnType<typeof createIdentityLogins>;
