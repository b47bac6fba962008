import type { UserId } from './model';
import type { OneTimeTokenStore, RefreshSessionStore, RoleStore, SessionStore, UserStore } from './ports';
import type { SessionCache } from './session-cache';

/**
 * The one place that keeps the webhook's session cache true. Every write that the stores offer
 * says here what it makes stale: nothing, a session, a user's sessions, or everything. The
 * stores the domain is given are wrapped so that each write drops what it made stale from this
 * instance's cache as soon as it returns (failed or not: forgetting is never wrong); the
 * database's triggers NOTIFY every other instance of the same rows (migrations/, heard by
 * db/invalidation-listener.ts, applied by `forget` below). A store that gains a method
 * does not compile until its entry here says what that method makes stale, so a new rule that
 * ends sessions (a password reset, an identity unlinked, a factor removed) cannot forget it.
 */

type Stale = { session: string } | { user: UserId } | 'everything';

/** A method that only reads. */
const READS = 'reads';
/** A write that makes nothing in the cache stale. Neither is wrapped. */
const NOTHING = 'makes nothing stale';

type StalenessOf<Store> = {
  readonly [Method in keyof Store]: Store[Method] extends (...args: infer Args) => Promise<unknown>
    ? typeof READS | typeof NOTHING | ((...args: Args) => Stale)
    : never;
};

const sessionStoreStaleness: StalenessOf<SessionStore> = {
  insertSession: NOTHING,
  insertProviderSession: NOTHING,
  findLiveSessionByToken: READS,
  // The cache itself keeps the use it records (SessionManager.validateFromCache).
  touchSession: NOTHING,
  listLiveUserSessions: READS,
  deleteSession: (id) => ({ session: id }),
  deleteUserSession: (_userId, id) => ({ session: id }),
  endUserSessions: (userId) => ({ user: userId }),
  // Only sessions that have ended, which the cache does not answer for (it checks the end).
  deleteDeadSessions: NOTHING,
  hasSessionsWithoutTokenMac: READS,
  countLiveSessions: READS,
};

// JWT sessions are not in the cache: Hasura checks their access tokens itself.
const refreshSessionStoreStaleness: StalenessOf<RefreshSessionStore> = {
  insertRefreshSession: NOTHING,
  rotateRefreshToken: NOTHING,
  endSessionOfRefreshToken: NOTHING,
};

const userStoreStaleness: StalenessOf<UserStore> = {
  insertUser: NOTHING,
  findUserById: READS,
  findUserWithPasswordHash: READS,
  findPasswordHash: READS,
  replacePasswordHash: (id) => ({ user: id }),
  listUsers: READS,
  updateUser: (id) => ({ user: id }),
  deleteUser: (id) => ({ user: id }),
  grantRole: (id) => ({ user: id }),
  revokeRole: (id) => ({ user: id }),
};

const roleStoreStaleness: StalenessOf<RoleStore> = {
  listRoles: READS,
  findRole: READS,
  insertRole: NOTHING,
  // Any user may have held it.
  deleteRole: () => 'everything',
};

const oneTimeTokenStoreStaleness: StalenessOf<OneTimeTokenStore> = {
  issueToken: NOTHING,
  findUsableToken: READS,
  findPendingTokenEmail: READS,
  deleteExpiredTokens: NOTHING,
  findPasswordResetRecipient: READS,
  // Its address changed, and any other account's unverified claim on it: those are not
  // known here, and the database tells every instance of each (users_notify_change).
  verifyEmail: () => 'everything',
  // The password reset ends every session of the user, whose id only the token knows.
  resetPassword: () => 'everything',
};

export function forget(cache: SessionCache, stale: Stale): void {
  if (stale === 'everything') cache.forgetEverything();
  else if ('session' in stale) cache.forgetSession(stale.session);
  else cache.forgetUser(stale.user);
}

function invalidating<Store extends object>(store: Store, staleness: StalenessOf<Store>, cache: SessionCache): Store {
  const wrapped = { ...store } as Record<string, unknown>;
  const entries = Object.entries<typeof READS | typeof NOTHING | ((...args: unknown[]) => Stale)>(staleness);
  for (const [method, staleAfter] of entries) {
    if (staleAfter === READS || staleAfter === NOTHING) continue;
    const write = wrapped[method] as (...args: unknown[]) => Promise<unknown>;
    wrapped[method] = async (...args: unknown[]) => {
      try {
        return await write.apply(store, args);
      } finally {
        forget(cache, staleAfter(...args));
      }
    };
  }
  return wrapped as Store;
}

export interface Stores {
  sessions: SessionStore;
  refreshSessions: RefreshSessionStore;
  users: UserStore;
  roles: RoleStore;
  oneTimeTokens: OneTimeTokenStore;
}

/** The stores as the domain must use them: each write drops what it made stale from the cache. */
export function invalidatingStores(stores: Stores, cache: SessionCache | undefined): Stores {
  if (!cache) return stores;
  return {
    sessions: invalidating(stores.sessions, sessionStoreStaleness, cache),
    refreshSessions: invalidating(stores.refreshSessions, refreshSessionStoreStaleness, cache),
    users: invalidating(stores.users, userStoreStaleness, cache),
    roles: invalidating(stores.roles, roleStoreStaleness, cache),
    oneTimeTokens: invalidating(stores.oneTimeTokens, oneTimeTokenStoreStaleness, cache),
  };
}
