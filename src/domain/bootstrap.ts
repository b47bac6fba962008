import { AppError } from '../errors';
import type { Accounts } from './accounts';
import { ADMIN_ROLE, type Clock, type User } from './model';
import type { BootstrapRunStore } from './ports';

const ADMIN_BOOTSTRAP = 'admin-from-environment';

export interface BootstrapDeps {
  accounts: Accounts;
  runs: BootstrapRunStore;
  clock: Clock;
}

/**
 * Creates the operator's first admin (ADMIN_USERNAME / ADMIN_PASSWORD) once per database.
 * Once it has run, it never runs again: restarts never reset a password an admin has since
 * changed, and never bring back an admin who was deleted. A username that is already taken
 * counts as done.
 */
export async function ensureBootstrapAdmin(
  { accounts, runs, clock }: BootstrapDeps,
  admin: { username: string; password: string },
): Promise<User | undefined> {
  if (await runs.hasCompleted(ADMIN_BOOTSTRAP)) return undefined;
  let created: User | undefined;
  try {
    created = await accounts.registerUser({ ...admin, grantedRoles: [ADMIN_ROLE] });
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'USERNAME_TAKEN')) throw error;
  }
  await runs.recordCompleted(ADMIN_BOOTSTRAP, clock.now());
  return created;
}
