import { AppError } from '../errors';
import { SIGNED_IN_ROLE, type Clock, type NewSession, type User } from './model';
import type { UserStore } from './ports';
import type { PasswordHasher } from './passwords';
import type { SessionManager, SessionOrigin } from './sessions';
import { validDisplayName, validEmail } from './emails';
import { assertValidUsername, isValidUsername, normalizeUsername, usernameKey } from './usernames';

export interface Registration {
  username: string;
  /** Absent for a user an admin invites: they choose one through the invitation mail. */
  password?: string;
  displayName?: string;
  email?: string;
  /** Only an admin may say so. */
  emailVerified?: boolean;
  /** Roles beyond `user`, which every user holds. */
  grantedRoles?: string[];
  defaultRole?: string;
}

export interface AccountsDeps {
  users: UserStore;
  sessions: SessionManager;
  passwords: PasswordHasher;
  clock: Clock;
  onMailQueued: () => void;
}

export function createAccounts({ users, sessions, passwords, clock, onMailQueued }: AccountsDeps) {
  /** Checks a signed-in user's current password; answers its hash. Throws INVALID_CREDENTIALS. */
  async function confirmPassword(userId: User['id'], password: string): Promise<string> {
    const currentHash = (await users.findPasswordHash(userId)) ?? undefined;
    const matches = await passwords.verify(password, currentHash);
    if (!matches || currentHash === undefined) {
      throw new AppError('INVALID_CREDENTIALS', { message: 'The current password is incorrect.' });
    }
    return currentHash;
  }

  return {
    confirmPassword,

    /** Sets or clears the user's display name. */
    async changeDisplayName(userId: User['id'], displayName: string | null): Promise<User> {
      const updated = await users.updateUser(
        userId,
        { displayName: displayName === null ? null : validDisplayName(displayName) },
        clock.now(),
      );
      if (updated.outcome !== 'updated') throw new AppError('UNAUTHORIZED');
      return updated.user;
    },

    /** Creates a user. Throws VALIDATION_FAILED, WEAK_PASSWORD, USERNAME_TAKEN or EMAIL_TAKEN. */
    async registerUser(registration: Registration): Promise<User> {
      assertValidUsername(registration.username);
      const email = registration.email === undefined ? null : validEmail(registration.email);
      const displayName = registration.displayName === undefined ? null : validDisplayName(registration.displayName);
      const { password } = registration;
      if (password !== undefined) passwords.assertAcceptable(password, { username: registration.username });
      const username = normalizeUsername(registration.username);
      const inserted = await users.insertUser({
        username,
        usernameKey: usernameKey(username),
        passwordHash: password === undefined ? null : await passwords.hash(password),
        displayName,
        email,
        emailVerified: email !== null && registration.emailVerified === true,
        grantedRoles: registration.grantedRoles ?? [],
        defaultRole: registration.defaultRole ?? SIGNED_IN_ROLE,
        now: clock.now(),
      });
      switch (inserted.outcome) {
        case 'inserted':
          return inserted.user;
        case 'username-taken':
          throw new AppError('USERNAME_TAKEN');
        case 'email-taken':
          throw new AppError('EMAIL_TAKEN');
        case 'role-not-found':
          throw new AppError('NOT_FOUND', { message: 'A role to grant no longer exists.' });
      }
    },

    /**
     * Answers the enabled user with this username and password, or undefined. Unknown
     * usernames, wrong passwords and disabled users cost the same bcrypt comparison.
     */
    async verifyCredentials(username: string, password: string): Promise<User | undefined> {
      // A name that could never have been registered is looked up nowhere, and still costs bcrypt.
      const found = isValidUsername(username) ? await users.findUserWithPasswordHash(usernameKey(username)) : undefined;
      // A user without a password (identity providers only) costs the same comparison, and fails.
      const matches = await passwords.verify(password, found?.passwordHash ?? undefined);
      return matches && found && !found.user.disabled ? found.user : undefined;
    },

    /**
     * Replaces the password after checking the current one, ends every session of the user
     * (in the same statement, so no login in flight with the old password survives it) and
     * starts a fresh one. A verified address is told.
     */
    async changePassword(
      user: Pick<User, 'id' | 'username' | 'email' | 'emailVerified'>,
      change: { currentPassword: string; newPassword: string; origin: SessionOrigin },
    ): Promise<NewSession> {
      const currentHash = await confirmPassword(user.id, change.currentPassword);
      passwords.assertAcceptable(change.newPassword, user);
      // Only the hash that was checked is replaced: of two changes at once, one wins, and the
      // other is told so instead of answering 200 with a password that was never set.
      const sessionEpoch = await users.replacePasswordHash(
        user.id,
        { replaced: currentHash, replacement: await passwords.hash(change.newPassword) },
        clock.now(),
        user.email !== null && user.emailVerified
          ? { to: user.email, message: { template: 'password-changed', username: user.username } }
          : undefined,
      );
      if (sessionEpoch === undefined) {
        if (!(await users.findPasswordHash(user.id))) throw new AppError('INVALID_CREDENTIALS');
        throw new AppError('PASSWORD_CHANGED');
      }
      if (user.email !== null && user.emailVerified) onMailQueued();
      return sessions.createSession({ id: user.id, sessionEpoch }, change.origin);
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
