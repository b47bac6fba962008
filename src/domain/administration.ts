import { AppError } from '../errors';
import type { Accounts } from './accounts';
import { validDisplayName, validEmail } from './emails';
import { normalizeSessionVariables } from './session-variables';
import { ANONYMOUS_ROLE, SIGNED_IN_ROLE, isValidRoleName, type Clock, type User, type UserId } from './model';
import type { Role, RoleStore, UserStore } from './ports';
import type { SecondFactors } from './second-factors';
import type { SessionManager } from './sessions';

export interface AdministrationDeps {
  users: UserStore;
  roles: RoleStore;
  sessions: SessionManager;
  accounts: Accounts;
  secondFactors: Pick<SecondFactors, 'removeAllFactors'>;
  clock: Clock;
  /** End a user's sessions when a role is granted or revoked; otherwise the change applies from their next request. */
  endSessionsOnRoleChange: boolean;
  /** The role of requests without credentials (ANONYMOUS_ROLE), or null when there is none. */
  anonymousRole: string | null;
}

/** What admins do to users and roles. Authorisation is checked before any of this is called. */
export function createAdministration({
  users,
  roles,
  sessions,
  accounts,
  secondFactors,
  clock,
  endSessionsOnRoleChange,
  anonymousRole,
}: AdministrationDeps) {
  // The built-in `anonymous`, and whatever ANONYMOUS_ROLE names: a user holding it would carry
  // everyone's rights under their own id.
  const anonymousRoles = new Set([ANONYMOUS_ROLE, ...(anonymousRole === null ? [] : [anonymousRole])]);

  const noSuchUser = () => new AppError('NOT_FOUND', { message: 'No such user.' });
  const noSuchRole = (name: string) => new AppError('NOT_FOUND', { message: `No such role: ${name}.` });

  /** The user with this id; throws NOT_FOUND. */
  async function userOrNotFound(id: UserId): Promise<User> {
    const user = await users.findUserById(id);
    if (!user) throw noSuchUser();
    return user;
  }

  /** The role with this name; throws NOT_FOUND. */
  async function roleOrNotFound(name: string): Promise<Role> {
    const role = isValidRoleName(name) ? await roles.findRole(name) : undefined;
    if (!role) throw noSuchRole(name);
    return role;
  }

  /** Only roles a signed-in user may use can be granted; the anonymous role never is. */
  function assertGrantable(role: string, path: string): void {
    if (anonymousRoles.has(role)) {
      throw new AppError('VALIDATION_FAILED', {
        message: 'The anonymous role cannot be granted.',
        details: [{ path, message: `${role} is for requests without a session` }],
      });
    }
  }

  const roleChange = { endSessions: endSessionsOnRoleChange };

  return {
    listUsers: (limit: number, offset: number, search?: string) => users.listUsers(limit, offset, search),

    getUser: userOrNotFound,

    /** Creates a user; without a password, with an address the invitation mail goes to. */
    async createUser(input: {
      username: string;
      password?: string;
      roles?: string[];
      defaultRole?: string;
      displayName?: string;
      email?: string;
      emailVerified?: boolean;
    }): Promise<User> {
      if (input.password === undefined && input.email === undefined) {
        throw new AppError('VALIDATION_FAILED', {
          message: 'A user needs a password, or an email address to invite them to choose one.',
          details: [{ path: 'password', message: 'required unless email is given' }],
        });
      }
      const granted = [...new Set(input.roles ?? [])].filter((role) => role !== SIGNED_IN_ROLE);
      for (const [index, role] of granted.entries()) {
        assertGrantable(role, `roles.${index}`);
        await roleOrNotFound(role);
      }
      const defaultRole = input.defaultRole ?? SIGNED_IN_ROLE;
      if (defaultRole !== SIGNED_IN_ROLE && !granted.includes(defaultRole)) {
        throw new AppError('VALIDATION_FAILED', {
          message: 'The default role must be one of the user’s roles.',
          details: [{ path: 'defaultRole', message: 'not among roles' }],
        });
      }
      return accounts.registerUser({
        username: input.username,
        password: input.password,
        displayName: input.displayName,
        email: input.email,
        emailVerified: input.emailVerified,
        grantedRoles: granted,
        defaultRole,
      });
    },

    async updateUser(
      id: UserId,
      changes: {
        defaultRole?: string;
        disabled?: boolean;
        sessionVariables?: Record<string, string>;
        displayName?: string | null;
        email?: string | null;
        emailVerified?: boolean;
      },
    ): Promise<User> {
      const sessionVariables =
        changes.sessionVariables === undefined ? undefined : normalizeSessionVariables(changes.sessionVariables);
      const email = changes.email === undefined || changes.email === null ? changes.email : validEmail(changes.email);
      const displayName =
        changes.displayName === undefined || changes.displayName === null
          ? changes.displayName
          : validDisplayName(changes.displayName);
      const update = await users.updateUser(id, { ...changes, sessionVariables, email, displayName }, clock.now());
      switch (update.outcome) {
        case 'updated':
          return update.user;
        case 'not-found':
          throw noSuchUser();
        case 'default-role-not-held':
          throw new AppError('VALIDATION_FAILED', {
            message: 'The default role must be one of the user’s roles.',
            details: [{ path: 'defaultRole', message: 'the user does not hold this role' }],
          });
        case 'email-taken':
          throw new AppError('EMAIL_TAKEN');
      }
    },

    async deleteUser(id: UserId): Promise<void> {
      // Sessions go with the user (ON DELETE CASCADE).
      const deleted = await users.deleteUser(id);
      if (!deleted) throw noSuchUser();
    },

    async grantRole(id: UserId, role: string): Promise<void> {
      assertGrantable(role, 'role');
      await userOrNotFound(id);
      await roleOrNotFound(role);
      if (role === SIGNED_IN_ROLE) return; // held implicitly by everyone
      // The lookups above name what is missing; these outcomes are the same, deleted meanwhile.
      const grant = await users.grantRole(id, role, clock.now(), roleChange);
      if (grant === 'user-not-found') throw noSuchUser();
      if (grant === 'role-not-found') throw noSuchRole(role);
    },

    async revokeRole(id: UserId, role: string): Promise<void> {
      if (role === SIGNED_IN_ROLE) {
        throw new AppError('VALIDATION_FAILED', {
          message: 'Every user holds the user role; it cannot be revoked.',
          details: [{ path: 'role', message: 'user is implicit' }],
        });
      }
      await userOrNotFound(id);
      await roleOrNotFound(role);
      if ((await users.revokeRole(id, role, clock.now(), roleChange)) === 'user-not-found') throw noSuchUser();
    },

    async endUserSessions(id: UserId): Promise<void> {
      await userOrNotFound(id);
      await sessions.endUserSessions(id);
    },

    /**
     * For a user who lost their phone: every second factor goes (passkeys too), then every
     * session ends, which also voids any login waiting for its second step.
     */
    async resetSecondFactors(id: UserId): Promise<void> {
      await userOrNotFound(id);
      await secondFactors.removeAllFactors(id);
      await sessions.endUserSessions(id);
    },

    listRoles: () => roles.listRoles(),

    async createRole(name: string): Promise<Role> {
      if (!isValidRoleName(name)) {
        throw new AppError('VALIDATION_FAILED', {
          message: 'Invalid role name.',
          details: [{ path: 'name', message: 'lower-case letters, digits, "_" and "-", at most 63 characters' }],
        });
      }
      if (!(await roles.insertRole(name, clock.now()))) throw new AppError('ROLE_EXISTS');
      return { name, builtIn: false };
    },

    async deleteRole(name: string): Promise<void> {
      const role = await roleOrNotFound(name);
      if (role.builtIn) throw new AppError('ROLE_BUILT_IN', { message: `${name} is built in and cannot be deleted.` });
      const deleted = await roles.deleteRole(name, clock.now(), roleChange);
      if (!deleted) throw noSuchRole(name);
    },
  };
}

export type Administration = ReturnType<typeof createAdministration>;
