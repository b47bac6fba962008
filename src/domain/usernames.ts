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

/** Throws VALIDATION_FAILED unless the username may be registered. */
export function assertValidUsername(username: string): void {
  const normalized = normalizeUsername(username);
  const length = [...normalized].length;
  const problem =
    length < 1 || length > MAX_USERNAME_LENGTH
      ? `must be 1 to ${MAX_USERNAME_LENGTH} characters long`
      : FORBIDDEN_CHARACTERS.test(normalized)
        ? 'must not contain whitespace or control characters'
        : undefined;
  if (problem) {
    throw new AppError('VALIDATION_FAILED', {
      message: `The username ${problem}.`,
      details: [{ path: 'username', message: problem }],
    });
  }
}
