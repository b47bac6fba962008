import { provedSecondFactor, rolesOfSession, type AuthenticatedSession, type UserId } from './model';
import type { SessionManager } from './sessions';

/**
 * Who a caller is, and what Hasura may know of them: the webhook's decision, free of any
 * framework. The webhook renders an Identity as Hasura session variables; a JWT issuer would
 * render the same Identity as claims.
 */

/** Where a session token travelled: a bearer token, or a browser's cookie. */
export type CredentialSource = 'authorization-header' | 'cookie';

/** What the caller presented to prove who they are, as the HTTP layer read it from the request. */
export type SessionCredential =
  /** Nothing at all: an anonymous caller. */
  | { kind: 'none' }
  /** Something offered as a session token. It may still be malformed, unknown or dead. */
  | { kind: 'session-token'; token: string; source: CredentialSource }
  /** A credential in a form this service does not accept (another auth scheme, say). */
  | { kind: 'unreadable' };

type TokenCredential = Extract<SessionCredential, { kind: 'session-token' }>;

export interface Identity {
  /** Null for an anonymous caller. */
  userId: UserId | null;
  /** Null for an anonymous caller. */
  sessionId: string | null;
  /** The role the request runs as. */
  role: string;
  /** Every role the caller may ask for; `role` is one of them. */
  allowedRoles: readonly string[];
  /** The user's own variables, lower-case `x-hasura-*` names; never the role or the user id. */
  sessionVariables: Readonly<Record<string, string>>;
  /** Whether the session was proved with a second factor (`x-hasura-mfa`); null for an anonymous caller. */
  secondFactor: boolean | null;
  /** How long the answer may be reused; null where nothing ends it (an anonymous caller). */
  maxAgeSeconds: number | null;
  /**
   * Set when this call moved the session's idle deadline forward (once per touch interval):
   * what carried the token and the session's new remaining life, so that a cookie can follow.
   */
  renewal: { credentialSource: CredentialSource; remainingLifetimeSeconds: number } | null;
}

/** A signed-in caller's identity: a user's, through one of their sessions. */
export type UserIdentity = Identity & { userId: UserId; sessionId: string; secondFactor: boolean };

export type Refusal =
  /** No credential, and anonymous access is turned off. */
  | 'anonymous-access-disabled'
  /** No credential, and a role other than the anonymous one was asked for. */
  | 'role-not-anonymous'
  /** A credential that is malformed or unknown, whose session has ended, or whose user is disabled. */
  | 'invalid-credential'
  /** A valid session that asked for a role its user does not hold. */
  | 'role-not-held'
  /** A valid session that asked for a role its user holds, which MFA_REQUIRED_ROLES keeps for sessions with a second factor. */
  | 'second-factor-required';

type Decision<T extends Identity> = { outcome: 'identified'; identity: T } | { outcome: 'refused'; refusal: Refusal };
export type CallerDecision = Decision<Identity>;

export interface CallerIdentificationDeps {
  sessions: SessionManager;
  /** The role of callers without credentials, or null to refuse them. */
  anonymousRole: string | null;
  /** The cap of how long an answer may be reused, whatever is left of the session. */
  maxAgeSeconds: number;
  /** MFA_REQUIRED_ROLES: roles that only a session proved with a second factor acts in. */
  secondFactorRoles: ReadonlySet<string>;
}

const refused = (refusal: Refusal) => ({ outcome: 'refused', refusal }) as const;
const identified = <T extends Identity>(identity: T): Decision<T> => ({ outcome: 'identified', identity });

export function createCallerIdentification({
  sessions,
  anonymousRole,
  maxAgeSeconds,
  secondFactorRoles,
}: CallerIdentificationDeps) {
  function identifySession(
    auth: AuthenticatedSession,
    requestedRole?: string,
    credentialSource?: CredentialSource,
  ): Decision<UserIdentity> {
    const { user, session } = auth;
    const role = requestedRole ?? user.defaultRole;
    // The anonymous role is never answered with a user id, even if a user came to hold it.
    if (!user.roles.includes(role) || role === anonymousRole) return refused('role-not-held');
    const roles = rolesOfSession(user, session, secondFactorRoles);
    if (!roles.includes(role)) return refused('second-factor-required');
    return identified({
      userId: user.id,
      sessionId: session.id,
      role,
      allowedRoles: roles.filter((held) => held !== anonymousRole),
      sessionVariables: user.sessionVariables,
      secondFactor: provedSecondFactor(session.amr),
      maxAgeSeconds: Math.min(maxAgeSeconds, sessions.remainingLifetimeSeconds(auth)),
      renewal:
        auth.renewed && credentialSource
          ? { credentialSource, remainingLifetimeSeconds: sessions.remainingLifetimeSeconds(auth) }
          : null,
    });
  }

  /** A caller with no session token: anonymous, or refused. */
  function decideWithoutToken(credential: Exclude<SessionCredential, TokenCredential>, requestedRole?: string) {
    if (credential.kind === 'unreadable') return refused('invalid-credential');
    if (anonymousRole === null) return refused('anonymous-access-disabled');
    if (requestedRole !== undefined && requestedRole !== anonymousRole) return refused('role-not-anonymous');
    return identified({
      userId: null,
      sessionId: null,
      role: anonymousRole,
      allowedRoles: [anonymousRole],
      sessionVariables: {},
      secondFactor: null,
      maxAgeSeconds: null,
      renewal: null,
    });
  }

  /** A session token, decided from memory alone if it can be; undefined when only the database can tell. */
  function recallToken(credential: TokenCredential, requestedRole?: string): CallerDecision | undefined {
    const recalled = sessions.recallSessionToken(credential.token);
    if (recalled.outcome === 'not-issued') return refused('invalid-credential');
    if (recalled.outcome === 'session') return identifySession(recalled.session, requestedRole, credential.source);
    return undefined;
  }

  return {
    /**
     * The decision identifyCaller would make, when it needs no query: for a caller with no
     * credential or an unreadable one, a token this service never issued, or a session the
     * webhook's cache holds. Undefined when only the database can tell.
     */
    decideNow(credential: SessionCredential, requestedRole: string | undefined): CallerDecision | undefined {
      return credential.kind === 'session-token'
        ? recallToken(credential, requestedRole)
        : decideWithoutToken(credential, requestedRole);
    },

    /**
     * Decides who the caller is. Only a caller with no credential at all is anonymous; a bad
     * one is refused. A role is granted only when asked for and held, or as the user's default:
     * a role that is not held is refused, never swapped for another. Throws
     * DATABASE_UNAVAILABLE, never a refusal, when the answer needs a database that is down.
     */
    async identifyCaller(credential: SessionCredential, requestedRole: string | undefined): Promise<CallerDecision> {
      if (credential.kind !== 'session-token') return decideWithoutToken(credential, requestedRole);
      const recalled = recallToken(credential, requestedRole);
      if (recalled !== undefined) return recalled;
      const auth = await sessions.validateSessionToken(credential.token, 'webhook');
      if (!auth) return refused('invalid-credential');
      return identifySession(auth, requestedRole, credential.source);
    },

    /**
     * Who a live session's user is, at the requested role or else their default role. JWT mode
     * renders this same decision as the claims of an access token.
     */
    identifySession,
  };
}

export type CallerIdentification = ReturnType<typeof createCallerIdentification>;
