import type { z } from 'zod';
import type { TokenPair } from '../domain/jwt-sessions';
import type { AuthenticatedSession, Session, User } from '../domain/model';
import type { LinkedIdentity, Passkey, Role } from '../domain/ports';
import type { MfaSummary } from '../domain/second-factors';
import type {
  adminUserResponse,
  currentUserResponse,
  identityResponse,
  newSessionResponse,
  passkeyResponse,
  roleResponse,
  sessionResponse,
  tokenPairResponse,
  userResponse,
} from './schemas';

/** Domain objects as the JSON of api.md; the response schemas in ./schemas say their shapes. */

/** Who the user is: the part every answer with a user has. */
function summaryOf(user: User) {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    email: user.email,
    emailVerified: user.emailVerified,
    roles: user.roles,
    defaultRole: user.defaultRole,
  };
}

export function presentUser(user: User): z.input<typeof userResponse> {
  return {
    ...summaryOf(user),
    disabled: user.disabled,
    sessionVariables: user.sessionVariables,
    createdAt: user.createdAt.toISOString(),
  };
}

export function presentIdentity(identity: LinkedIdentity): z.input<typeof identityResponse> {
  return {
    ...identity,
    createdAt: identity.createdAt.toISOString(),
    lastUsedAt: identity.lastUsedAt?.toISOString() ?? null,
  };
}

/** A user as the admin API shows them: with the identities that log in to the account, and the second factors. */
export function presentAdminUser(
  user: User,
  identities: readonly LinkedIdentity[],
  mfa: MfaSummary,
): z.input<typeof adminUserResponse> {
  return { ...presentUser(user), identities: identities.map(presentIdentity), mfa };
}

/** Signup, login and password change: the user and the new session's token, shown this once. */
export function presentNewSession(
  user: User,
  { token, session }: { token: string; session: Session },
): z.input<typeof newSessionResponse> {
  return { ...summaryOf(user), token, expiresAt: session.expiresAt.toISOString() };
}

/** POST /token and /token/refresh: a new access token, and the refresh token that replaces the last one. */
export function presentTokenPair(pair: TokenPair): z.input<typeof tokenPairResponse> {
  return {
    accessToken: pair.accessToken,
    accessTokenExpiresIn: pair.accessTokenExpiresInSeconds,
    refreshToken: pair.refreshToken,
    refreshTokenExpiresAt: pair.session.expiresAt.toISOString(),
    user: summaryOf(pair.user),
  };
}

export function presentSession(session: Session, currentSessionId: string): z.input<typeof sessionResponse> {
  return {
    id: session.id,
    kind: session.kind,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    userAgent: session.userAgent,
    current: session.id === currentSessionId,
    amr: [...session.amr],
  };
}

/** GET /me: the signed-in user and the session the request came with. */
export function presentCurrentUser(
  { user, session }: AuthenticatedSession,
  mfa: MfaSummary,
): z.input<typeof currentUserResponse> {
  return {
    ...summaryOf(user),
    mfa,
    sessionVariables: user.sessionVariables,
    session: {
      id: session.id,
      createdAt: session.createdAt.toISOString(),
      expiresAt: session.expiresAt.toISOString(),
      amr: [...session.amr],
    },
  };
}

/** One of the signed-in user's passkeys. */
export function presentPasskey(passkey: Passkey): z.input<typeof passkeyResponse> {
  return {
    id: passkey.id,
    name: passkey.name,
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
  };
}

/** A role of the admin API. */
export function presentRole(role: Role): z.input<typeof roleResponse> {
  return { name: role.name, builtIn: role.builtIn };
}
