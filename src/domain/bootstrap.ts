import { AppError } from '../errors';
import type { Accounts } from './accounts';
import { ADMIN_ROLE, type User } from './model';

/**
 * Creates the operator's first admin (ADMIN_USERNAME / ADMIN_PASSWORD) unless that username
 * already exists, so that restarts never reset a password an admin has since changed.
 */
export async function ensureBootstrapAdmin(
  accounts: Accounts,
  admin: { username: string; password: string },
): Promise<User | undefined> {
  try {
    return await accounts.registerUser({ ...admin, grantedRoles: [ADMIN_ROLE] });
  } catch (error) {
    if (error instanceof AppError && error.code === 'USERNAME_TAKEN') return undefined;
    throw error;
  }
}
