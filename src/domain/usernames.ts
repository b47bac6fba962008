import { AppError } from '../errors';

const MAX_USERNAME_LENGTH = 254; // long enough for any email address
const FORBIDDEN_CHARACTERS = /[\p{White_Space}\p{Z}\p{C}]/u; // spaces, separators, control and format characters

/** The username as stored and shown: NFKC-normalised, so look-alike forms collapse into one. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC');
}

/** The key that makes usernames unique without regard to case. */
export function usernameKey(username: string): string {
  return normalizeUsername(username).toLowerCase().normalize('NFKC');
}

function usernameProblem(username: string): string | undefined {
  const normalized = normalizeUsername(username);
  const length = [...normalized].length;
  if (length < 1 || length > MAX_USERNAME_LENGTH) return `must be 1 to ${MAX_USERNAME_LENGTH} characters long`;
  if (FORBIDDEN_CHARACTERS.test(normalized)) return 'must not contain whitespace or control characters';
  return undefined;
}

/** Whether the username may be registered, and so whether any user can have it. */
export function isValidUsername(username: string): boolean {
  return usernameProblem(username) === undefined;
}

/** Throws VALIDATION_FAILED unless the username may be registered. */
export function assertValidUsername(username: string): void {
  const problem = usernameProblem(username);
  if (problem) {
    throw new AppError('VALIDATION_FAILED', {
      message: `The username ${problem}.`,
      details: [{ path: 'username', message: problem }],
    });
  }
}
