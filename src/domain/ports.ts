import type { AuthenticatedSession, Session, User, UserId } from './model';

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
  insertSession(session: Session & { tokenHash: string }): Promise<void>;
  findLiveSessionByTokenHash(tokenHash: string, liveness: Liveness): Promise<AuthenticatedSession | undefined>;
  /**
   * Records use at `liveness.now`, unless use was already recorded after `staleBefore`.
   * Answers the session's new end when it wrote.
   */
  touchSession(id: string, liveness: Liveness, staleBefore: Date): Promise<Date | undefined>;
  listLiveUserSessions(userId: UserId, liveness: Liveness): Promise<Session[]>;
  deleteSession(id: string): Promise<void>;
  /** Deletes one session if it belongs to the user; answers whether it did. */
  deleteUserSession(userId: UserId, id: string): Promise<boolean>;
  deleteUserSessions(userId: UserId): Promise<number>;
  deleteDeadSessions(liveness: Liveness): Promise<number>;
}

export interface NewUser {
  username: string;
  usernameKey: string;
  passwordHash: string;
  grantedRoles: string[];
  defaultRole: string;
  now: Date;
}

export interface UserChanges {
  defaultRole?: string;
  disabled?: boolean;
  sessionVariables?: Record<string, string>;
}

export interface UserStore {
  /** Inserts the user, or answers undefined when the username is taken. */
  insertUser(user: NewUser): Promise<User | undefined>;
  findUserById(id: UserId): Promise<User | undefined>;
  findUserWithPasswordHash(usernameKey: string): Promise<{ user: User; passwordHash: string } | undefined>;
  findPasswordHash(id: UserId): Promise<string | undefined>;
  updatePasswordHash(id: UserId, passwordHash: string, now: Date): Promise<void>;
  listUsers(limit: number, offset: number): Promise<{ users: User[]; total: number }>;
  updateUser(id: UserId, changes: UserChanges, now: Date): Promise<User | undefined>;
  deleteUser(id: UserId): Promise<boolean>;
  /** Answers whether the role was newly granted. */
  grantRole(id: UserId, role: string, now: Date): Promise<boolean>;
  /** Answers whether the role was held; a user whose default it was falls back to `user`. */
  revokeRole(id: UserId, role: string, now: Date): Promise<boolean>;
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
  /** Deletes a role that is not built in; users whose default it was fall back to `user`. */
  deleteRole(name: string, now: Date): Promise<boolean>;
  /** The users who hold the role, so that their sessions can be ended when it goes. */
  listRoleHolders(name: string): Promise<UserId[]>;
}
