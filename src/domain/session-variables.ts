import { AppError, type ErrorDetail } from '../errors';

/**
 * Per-user session variables: extra facts about a user (an organisation, a team) that Hasura
 * permissions can test. Admins set them; users never can.
 */

const SESSION_VARIABLE_NAME = /^x-hasura-[a-z0-9_-]+$/;
// Hasura's own, and answered by the service itself from the session: the webhook's role and
// user id, whether the session was proved with a second factor, and the role claims of JWT
// mode's access tokens.
const RESERVED_SESSION_VARIABLES = new Set([
  'x-hasura-role',
  'x-hasura-user-id',
  'x-hasura-mfa',
  'x-hasura-allowed-roles',
  'x-hasura-default-role',
]);
const MAX_SESSION_VARIABLE_LENGTH = 4096;

/** Validates and lower-cases admin-provided session variables. Throws VALIDATION_FAILED. */
export function normalizeSessionVariables(input: Record<string, string>): Record<string, string> {
  const normalized = new Map<string, string>();
  const problems: ErrorDetail[] = [];
  for (const [rawName, value] of Object.entries(input)) {
    const name = rawName.toLowerCase();
    const path = `sessionVariables.${rawName}`;
    if (!SESSION_VARIABLE_NAME.test(name)) {
      problems.push({ path, message: 'names start with x-hasura- and use letters, digits, "_" and "-"' });
    } else if (RESERVED_SESSION_VARIABLES.has(name)) {
      problems.push({ path, message: `${name} is reserved` });
    } else if (normalized.has(name)) {
      problems.push({ path, message: 'the same name is given twice' });
    } else if (value.length > MAX_SESSION_VARIABLE_LENGTH) {
      problems.push({ path, message: `values are at most ${MAX_SESSION_VARIABLE_LENGTH} characters` });
    } else if (value.includes('\u0000')) {
      problems.push({ path, message: 'values must not contain NUL characters' });
    } else {
      normalized.set(name, value);
    }
  }
  if (problems.length > 0) {
    throw new AppError('VALIDATION_FAILED', { message: 'Invalid session variables.', details: problems });
  }
  return Object.fromEntries(normalized);
}
