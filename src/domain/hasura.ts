import { AppError } from '../errors';
import type { AuthenticatedSession } from './model';

/**
 * Hasura's side of a session: which role a request runs as and the session variables it
 * carries. Every value is a string, as Hasura requires.
 */
export type HasuraSessionVariables = Record<string, string>;

const SESSION_VARIABLE_NAME = /^x-hasura-[a-z0-9_-]+$/;
const RESERVED_SESSION_VARIABLES = new Set(['x-hasura-role', 'x-hasura-user-id']);
const MAX_SESSION_VARIABLE_LENGTH = 4096;

/** Anonymous requests may use only the anonymous role; answers undefined where they are refused. */
export function anonymousSessionVariables(
  anonymousRole: string | null,
  requestedRole: string | undefined,
): HasuraSessionVariables | undefined {
  if (anonymousRole === null) return undefined;
  if (requestedRole !== undefined && requestedRole !== anonymousRole) return undefined;
  return { 'X-Hasura-Role': anonymousRole };
}

/**
 * The session's variables for the requested role, or for the user's default role when none
 * is requested. A role the user does not hold is refused, never swapped for another.
 */
export function userSessionVariables(
  { user }: AuthenticatedSession,
  requestedRole: string | undefined,
  maxAgeSeconds: number,
): HasuraSessionVariables | undefined {
  const role = requestedRole ?? user.defaultRole;
  if (!user.roles.includes(role)) return undefined;
  const variables: HasuraSessionVariables = {};
  for (const [name, value] of Object.entries(user.sessionVariables)) variables[displayName(name)] = value;
  return {
    ...variables,
    'X-Hasura-Role': role,
    'X-Hasura-User-Id': String(user.id),
    // Hasura reads expiry from the body, with this exact key.
    'Cache-Control': `max-age=${maxAgeSeconds}`,
  };
}

/** `x-hasura-org-id` → `X-Hasura-Org-Id`; Hasura ignores the case, people reading logs do not. */
function displayName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Validates and lower-cases admin-provided session variables. Throws VALIDATION_FAILED. */
export function normalizeSessionVariables(input: Record<string, string>): Record<string, string> {
  const normalized: Record<string, string> = {};
  const problems: { path: string; message: string }[] = [];
  for (const [rawName, value] of Object.entries(input)) {
    const name = rawName.toLowerCase();
    const path = `sessionVariables.${rawName}`;
    if (!SESSION_VARIABLE_NAME.test(name)) {
      problems.push({ path, message: 'names start with x-hasura- and use letters, digits, "_" and "-"' });
    } else if (RESERVED_SESSION_VARIABLES.has(name)) {
      problems.push({ path, message: `${name} is reserved` });
    } else if (name in normalized) {
      problems.push({ path, message: 'the same name is given twice' });
    } else if (value.length > MAX_SESSION_VARIABLE_LENGTH) {
      problems.push({ path, message: `values are at most ${MAX_SESSION_VARIABLE_LENGTH} characters` });
    } else {
      normalized[name] = value;
    }
  }
  if (problems.length > 0) throw new AppError('VALIDATION_FAILED', 'Invalid session variables.', problems);
  return normalized;
}
