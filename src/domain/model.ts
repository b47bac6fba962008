/** The domain's own vocabulary. Storage returns these; HTTP renders them. */

export type UserId = number;

export interface User {
  id: UserId;
  username: string;
  /** Shown to people in place of the username, where the user chose one. */
  displayName: string | null;
  /**
   * The address in force, normalised: verified, or claimed at signup or by an admin and not yet
   * verified. An address the user asked to change to is not here until it is verified.
   */
  email: string | null;
  emailVerified: boolean;
  /** Every role the user holds, `user` included. */
  roles: string[];
  defaultRole: string;
  disabled: boolean;
  /** Lower-case names that start with `x-hasura-`, string values. */
  sessionVariables: Record<string, string>;
  createdAt: Date;
  /**
   * Moves on with every event that must end the user's sessions. A session lives only while it
   * carries its user's current epoch: the database enforces what no check in one process could.
   */
  sessionEpoch: number;
}

/**
 * `bearer`: its token is presented to the webhook and the API. `refresh`: a session of JWT mode,
 * whose refresh tokens are accepted by /token/refresh only, and which Hasura never sees. `op`:
 * the OpenID Provider's login session (single sign-on for apps), found through its own cookie.
 */
export type SessionKind = 'bearer' | 'refresh' | 'op';

/**
 * How a session's user proved who they are, as RFC 8176 names it: `pwd`, a password; `otp`, a
 * one-time code (an authenticator app's, or a recovery code); `hwk`, a passkey; `mfa`, more than
 * one factor at once (a passkey that verified its user, by PIN or biometrics).
 */
export type AuthenticationMethod = 'pwd' | 'otp' | 'hwk' | 'mfa';

/** Whether a session was proved with more than one factor: what `x-hasura-mfa` tells Hasura. */
export function provedSecondFactor(amr: readonly AuthenticationMethod[]): boolean {
  return amr.includes('otp') || amr.includes('mfa');
}

/**
 * The roles a session acts in: its user's, less those that MFA_REQUIRED_ROLES keeps for sessions
 * proved with a second factor, where this one was not. The webhook, JWT mode's claims and the
 * admin API all ask here.
 */
export function rolesOfSession(
  user: Pick<User, 'roles'>,
  session: Pick<Session, 'amr'>,
  secondFactorRoles: ReadonlySet<string>,
): readonly string[] {
  if (secondFactorRoles.size === 0 || provedSecondFactor(session.amr)) return user.roles;
  return user.roles.filter((role) => !secondFactorRoles.has(role));
}

export interface Session {
  id: string;
  kind: SessionKind;
  userId: UserId;
  createdAt: Date;
  lastUsedAt: Date;
  /** The absolute end of the session; the idle timeout may end it sooner. */
  expiresAt: Date;
  userAgent: string | null;
  /** How the user proved who they are when it started; empty where that is not known. */
  amr: readonly AuthenticationMethod[];
}

/** A session that was just validated, with the user it belongs to. */
export interface AuthenticatedSession {
  session: Session;
  user: User;
  /** When the session ends unless it is used again: its absolute end or its idle deadline. */
  endsAt: Date;
  /** True when this validation recorded the use and so moved the idle deadline: once per touch interval. */
  renewed: boolean;
}

/** A live session as the store answers it (and the webhook's cache keeps it), before its use is recorded. */
export type ValidatedSession = Omit<AuthenticatedSession, 'renewed'>;

/** A session just started: its token, shown this once, and when it ends unless it is used. */
export interface NewSession {
  token: string;
  session: Session;
  endsAt: Date;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Role names as Hasura and this service accept them. */
export const ROLE_NAME_PATTERN = /^[a-z0-9_-]{1,63}$/;

export function isValidRoleName(name: string): boolean {
  return ROLE_NAME_PATTERN.test(name);
}
export const ANONYMOUS_ROLE = 'anonymous';
export const SIGNED_IN_ROLE = 'user';
export const ADMIN_ROLE = 'admin';
