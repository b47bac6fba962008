import { AppError } from '../errors';

// RFC 5321's limit on a path, which holds the address.
const MAX_EMAIL_LENGTH = 254;
// One @, something on each side, a dot in the domain, and nothing a mail header would split on.
const EMAIL_PATTERN = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/u;
const CONTROL_CHARACTERS = /\p{C}/u;

/**
 * The address as stored, compared and mailed: trimmed, NFKC-normalised and lower-cased, so that
 * one mailbox typed two ways is one address. (Local parts are case-sensitive in theory; no
 * mail provider in use treats them so, and two accounts for `Ann@x` and `ann@x` help nobody.)
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

function emailProblem(normalized: string): string | undefined {
  if (normalized.length > MAX_EMAIL_LENGTH) return `must be at most ${MAX_EMAIL_LENGTH} characters long`;
  if (CONTROL_CHARACTERS.test(normalized) || !EMAIL_PATTERN.test(normalized)) return 'must be an email address';
  return undefined;
}

/** Whether the text, normalised, could be someone's address. */
export function isValidEmail(email: string): boolean {
  return emailProblem(normalizeEmail(email)) === undefined;
}

/** The normalised address; throws VALIDATION_FAILED, naming `path`, when it is not one. */
export function validEmail(email: string, path = 'email'): string {
  const normalized = normalizeEmail(email);
  const problem = emailProblem(normalized);
  if (problem)
    throw new AppError('VALIDATION_FAILED', {
      message: `The email ${problem}.`,
      details: [{ path, message: problem }],
    });
  return normalized;
}

const MAX_DISPLAY_NAME_LENGTH = 100;

/** A display name as stored: trimmed and NFKC-normalised; throws VALIDATION_FAILED when unusable. */
export function validDisplayName(displayName: string): string {
  const normalized = displayName.trim().normalize('NFKC');
  const length = [...normalized].length;
  let problem: string | undefined;
  if (length < 1 || length > MAX_DISPLAY_NAME_LENGTH)
    problem = `must be 1 to ${MAX_DISPLAY_NAME_LENGTH} characters long`;
  else if (CONTROL_CHARACTERS.test(normalized)) problem = 'must not contain control characters';
  if (problem) {
    throw new AppError('VALIDATION_FAILED', {
      message: `The display name ${problem}.`,
      details: [{ path: 'displayName', message: problem }],
    });
  }
  return normalized;
}
