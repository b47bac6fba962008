import { AppError } from '../errors';
import type { AccessTokens } from './access-tokens';
import type { CallerIdentification, UserIdentity } from './caller-identity';
import type { Clock, Session, User, ValidatedSession } from './model';
import type { Liveness, RefreshSessionStore } from './ports';
import { endOfUnusedSession, startingSession, type SessionOrigin, type SessionPolicy } from './sessions';
import { hashSessionToken, type SessionTokens } from './session-tokens';

/**
 * JWT mode: a refresh token is a session of the sessions table, under the same limits, epoch
 * and endings as a webhook session, and every refresh answers a new access token rendered from
 * the same identity the webhook would answer.
 *
 * Every refresh rotates the token, always to the same successor (SessionTokens.successorOf), so
 * that a session's tokens form one chain: at most one of them is live. The session keeps the hash
 * of every token it was given (see RefreshSessionStore), which is what tells a replayed token
 * from a forged one: a token rotated less than the grace window ago refreshes again and answers
 * that same successor (two tabs refreshing at once both hold the one live token), one rotated
 * earlier ends the session. A thief who uses a stolen token within the window gets the owner's
 * successor, not a branch of his own: whichever of the two rotates it next makes the other's
 * copy a reused token. A wrong token is looked up by its hash and found nowhere, so it can never
 * end anyone's session.
 */

export interface TokenPair {
  user: User;
  session: Session;
  accessToken: string;
  accessTokenExpiresInSeconds: number;
  refreshToken: string;
}

export interface JwtSessionsDeps {
  store: RefreshSessionStore;
  tokens: SessionTokens;
  callers: CallerIdentification;
  accessTokens: AccessTokens;
  clock: Clock;
  policy: Pick<SessionPolicy, 'absoluteTimeoutSeconds' | 'idleTimeoutSeconds'>;
  /** How long after its rotation a refresh token still refreshes instead of counting as reused. */
  reuseGraceSeconds: number;
}

const invalidRefreshToken = () => new AppError('INVALID_REFRESH_TOKEN');

export function createJwtSessions({
  store,
  tokens,
  callers,
  accessTokens,
  clock,
  policy,
  reuseGraceSeconds,
}: JwtSessionsDeps) {
  const livenessAt = (now: Date): Liveness => ({ now, idleTimeoutSeconds: policy.idleTimeoutSeconds });

  /** What the access token of this session carries; throws FORBIDDEN when the user has no usable role. */
  function identityOf(auth: ValidatedSession): UserIdentity {
    // No cookie follows a JWT session: its use is the refresh itself.
    const decision = callers.identifySession({ ...auth, renewed: false });
    if (decision.outcome === 'identified') return decision.identity;
    // A default role that MFA_REQUIRED_ROLES keeps for sessions with a second factor; or the
    // anonymous one, which could only be answered without a user id.
    throw new AppError('FORBIDDEN', {
      message:
        decision.refusal === 'second-factor-required'
          ? 'The default role of this account needs a second factor: set one up, and log in with it.'
          : 'This account has no usable role.',
    });
  }

  async function tokenPair(auth: ValidatedSession, identity: UserIdentity, refreshToken: string): Promise<TokenPair> {
    const issued = await accessTokens.issueAccessToken(identity, auth.session.expiresAt);
    return {
      user: auth.user,
      session: auth.session,
      accessToken: issued.accessToken,
      accessTokenExpiresInSeconds: issued.expiresInSeconds,
      refreshToken,
    };
  }

  return {
    /**
     * Starts a refresh session for a user whose credentials were just checked. Throws
     * INVALID_CREDENTIALS when the user changed since (see SessionManager.createSession).
     */
    async startJwtSession(user: User, origin: SessionOrigin): Promise<TokenPair> {
      const now = clock.now();
      const refreshToken = tokens.generate();
      const session = startingSession('refresh', user.id, origin, now, policy);
      const auth = { session, user, endsAt: endOfUnusedSession(session, policy) };
      // Decided before the session is stored, so that a refused login leaves no session behind.
      const identity = identityOf(auth);
      if (
        !(await store.insertRefreshSession({
          ...session,
          tokenHash: hashSessionToken(refreshToken),
          userEpoch: user.sessionEpoch,
        }))
      ) {
        throw new AppError('INVALID_CREDENTIALS');
      }
      return tokenPair(auth, identity, refreshToken);
    },

    /** Rotates the refresh token and answers a new pair. Throws INVALID_REFRESH_TOKEN. */
    async refreshJwtSession(refreshToken: string): Promise<TokenPair> {
      if (!tokens.isGenuine(refreshToken)) throw invalidRefreshToken();
      const now = clock.now();
      const replacement = tokens.successorOf(refreshToken);
      const rotation = await store.rotateRefreshToken(hashSessionToken(refreshToken), hashSessionToken(replacement), {
        liveness: livenessAt(now),
        reuseGraceStartsAt: new Date(now.getTime() - reuseGraceSeconds * 1000),
      });
      if (rotation.outcome !== 'rotated') throw invalidRefreshToken();
      return tokenPair(rotation.auth, identityOf(rotation.auth), replacement);
    },

    /** Ends the session this refresh token belongs to; any token it was ever given will do. */
    async endJwtSession(refreshToken: string): Promise<void> {
      if (!tokens.isGenuine(refreshToken)) return;
      await store.endSessionOfRefreshToken(hashSessionToken(refreshToken));
    },
  };
}

export type JwtSessions = ReturnType<typeof createJwtSessions>;
