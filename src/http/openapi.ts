import { z } from 'zod';
import { errorCatalogue, type ErrorCode } from '../errors';
import type { ServedRoute } from './framework-free-routes';
import * as schemas from './schemas';

/**
 * The OpenAPI 3.1 description of the HTTP API, generated from the zod schemas that the routes
 * validate with (./schemas) and from the error catalogue. Only what zod cannot know is written
 * here: which route takes which schema, who may call it, and the errors its handler raises
 * itself. The errors that follow from the route's shape (a body, a session, the database) are
 * derived, so that a new route cannot forget them.
 */

type JsonSchema = Record<string, unknown>;

type Access =
  /** Anyone. */
  | 'public'
  /** A session: `Authorization: Bearer <token>`. */
  | 'session'
  /** A session of a user holding `admin`, or the admin secret. */
  | 'admin'
  /** Hasura, forwarding the client's headers. */
  | 'hasura';

interface NamedSchema {
  /** The name under components/schemas. */
  name: string;
  schema: z.ZodType;
}

interface Answer {
  status: number;
  description: string;
  body?: NamedSchema;
  /** The body's media type, when it is not JSON. */
  mediaType?: string;
}

interface Operation extends ServedRoute {
  operationId: string;
  summary: string;
  description?: string;
  tag: 'accounts' | 'sessions' | 'webhook' | 'administration' | 'operations';
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: NamedSchema;
  answers: Answer[];
  /** The errors the handler or the domain raises, beyond those derived from the route's shape. */
  errors?: ErrorCode[];
  /** Whether an answer needs the database: then it can be 503 DATABASE_UNAVAILABLE. */
  usesDatabase: boolean;
}

const named = (name: string, schema: z.ZodType): NamedSchema => ({ name, schema });

const user = named('User', schemas.userResponse);
const newSession = named('NewSession', schemas.newSessionResponse);
const hasuraSessionVariables = named('HasuraSessionVariables', schemas.hasuraSessionVariablesResponse);
const webhookRefusal = named('WebhookRefusal', schemas.webhookRefusalResponse);

const noContent = (description: string): Answer => ({ status: 204, description });

const webhookAnswers: Answer[] = [
  {
    status: 200,
    description:
      'The caller is identified: a user (with their role and session variables), or the anonymous role for a ' +
      'request without credentials.',
    body: hasuraSessionVariables,
  },
  {
    status: 401,
    description:
      'The caller is refused: a malformed, unknown, expired or revoked token, a role the user does not hold, or ' +
      'no credentials while anonymous access is off. Never the anonymous role instead.',
    body: webhookRefusal,
  },
];

const webhookDescription =
  'Hasura calls this for every GraphQL request (HASURA_GRAPHQL_AUTH_HOOK); docs/hasura-webhook-contract.md ' +
  'is the contract. A token while the database is down is 503, never 401 and never anonymous.';

const webhookRoleHeader = z.object({
  'X-Hasura-Role': z.string().optional().describe('The role the client asks for; it must be one the user holds.'),
});

const operations: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getLiveness',
    summary: 'Liveness: answers while the process lives',
    tag: 'operations',
    access: 'public',
    answers: [{ status: 200, description: 'Alive.', body: named('Liveness', schemas.livenessResponse) }],
    usesDatabase: false,
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: the database answers and the instance is not draining',
    tag: 'operations',
    access: 'public',
    answers: [{ status: 200, description: 'Ready for traffic.', body: named('Readiness', schemas.readinessResponse) }],
    errors: ['SHUTTING_DOWN'],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics: webhook latency by outcome, account outcomes, sessions, the pool, the process',
    description:
      'It needs `Authorization: Bearer <METRICS_TOKEN>`; with no METRICS_TOKEN configured it answers 401 to ' +
      'everyone, and with METRICS_ENABLED=false it is 404.',
    tag: 'operations',
    access: 'public',
    answers: [
      {
        status: 200,
        description: 'The Prometheus text exposition format.',
        body: named('PrometheusText', z.string()),
        mediaType: 'text/plain',
      },
    ],
    errors: ['UNAUTHORIZED'],
    usesDatabase: false,
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    tag: 'operations',
    access: 'public',
    answers: [
      {
        status: 200,
        description: 'The OpenAPI 3.1 document.',
        body: named('OpenApiDocument', schemas.openApiDocumentResponse),
      },
    ],
    usesDatabase: false,
  },
  {
    method: 'get',
    path: '/webhook',
    operationId: 'identifyCallerByHeaders',
    summary: 'Hasura auth webhook, GET mode: the client headers arrive as headers',
    description: webhookDescription,
    tag: 'webhook',
    access: 'hasura',
    headers: webhookRoleHeader,
    answers: webhookAnswers,
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/webhook',
    operationId: 'identifyCallerByBody',
    summary: 'Hasura auth webhook, POST mode: the client headers arrive in the body',
    description:
      `${webhookDescription} The credential is the \`Authorization\` entry of \`headers\`, and the role asked for ` +
      'its `X-Hasura-Role` entry. A name given twice with different values is 400 VALIDATION_FAILED. The body ' +
      'limit is WEBHOOK_BODY_LIMIT_BYTES.',
    tag: 'webhook',
    access: 'public',
    body: named('WebhookPostRequest', schemas.webhookPostBody),
    answers: webhookAnswers,
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/signup',
    operationId: 'signUp',
    summary: 'Create an account, and a first session',
    tag: 'accounts',
    access: 'public',
    body: named('SignupRequest', schemas.signupBody),
    answers: [{ status: 201, description: 'The new user, and the token of their first session.', body: newSession }],
    errors: ['WEAK_PASSWORD', 'USERNAME_TAKEN', 'RATE_LIMITED', 'OVERLOADED', 'CSRF_REJECTED'],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/login',
    operationId: 'logIn',
    summary: 'Log in: a new session each time',
    tag: 'accounts',
    access: 'public',
    body: named('LoginRequest', schemas.loginBody),
    answers: [{ status: 200, description: 'The user, and the token of the new session.', body: newSession }],
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED', 'OVERLOADED', 'CSRF_REJECTED'],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/token',
    operationId: 'obtainTokens',
    summary: 'JWT mode: log in for an access token and a refresh token (a new session)',
    tag: 'accounts',
    access: 'public',
    body: named('LoginRequest', schemas.loginBody),
    answers: [{ status: 200, description: 'The token pair.', body: named('TokenPair', schemas.tokenPairResponse) }],
    errors: ['INVALID_CREDENTIALS', 'FORBIDDEN', 'RATE_LIMITED', 'OVERLOADED'],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/token/refresh',
    operationId: 'refreshTokens',
    summary: 'JWT mode: a new pair; the refresh token sent is rotated (replayed late, it ends its session)',
    tag: 'accounts',
    access: 'public',
    body: named('RefreshTokenRequest', schemas.refreshTokenBody),
    answers: [{ status: 200, description: 'The new token pair.', body: named('TokenPair', schemas.tokenPairResponse) }],
    errors: ['INVALID_REFRESH_TOKEN', 'FORBIDDEN'],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/token/logout',
    operationId: 'endTokenSession',
    summary: 'JWT mode: end the session of a refresh token (204 whatever the token)',
    tag: 'sessions',
    access: 'public',
    body: named('RefreshTokenRequest', schemas.refreshTokenBody),
    answers: [{ status: 204, description: 'The session, if there was one, has ended.' }],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'getJsonWebKeySet',
    summary: "JWT mode: the public keys that verify access tokens (Hasura's jwk_url)",
    tag: 'operations',
    access: 'public',
    answers: [{ status: 200, description: 'The key set.', body: named('JsonWebKeySet', schemas.jwksResponse) }],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/me',
    operationId: 'getCurrentUser',
    summary: 'The signed-in user and the calling session',
    tag: 'accounts',
    access: 'session',
    answers: [
      { status: 200, description: 'The user and session.', body: named('CurrentUser', schemas.currentUserResponse) },
    ],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/password',
    operationId: 'changePassword',
    summary: "Change the signed-in user's password",
    description: 'Every session of the user ends; the answer carries a fresh one.',
    tag: 'accounts',
    access: 'session',
    body: named('PasswordChangeRequest', schemas.passwordChangeBody),
    answers: [{ status: 200, description: 'The user, and the token of the fresh session.', body: newSession }],
    errors: ['INVALID_CREDENTIALS', 'WEAK_PASSWORD', 'PASSWORD_CHANGED', 'RATE_LIMITED', 'OVERLOADED', 'CSRF_REJECTED'],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/logout',
    operationId: 'logOut',
    summary: 'End the calling session',
    tag: 'sessions',
    access: 'session',
    answers: [noContent('The session is dead everywhere.')],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/logout/all',
    operationId: 'logOutEverywhere',
    summary: 'End every session of the signed-in user',
    tag: 'sessions',
    access: 'session',
    answers: [noContent('Every session of the user is dead.')],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/sessions',
    operationId: 'listSessions',
    summary: "The signed-in user's live sessions",
    tag: 'sessions',
    access: 'session',
    answers: [
      {
        status: 200,
        description: 'The live sessions, newest first.',
        body: named('SessionList', schemas.sessionListResponse),
      },
    ],
    usesDatabase: true,
  },
  {
    method: 'delete',
    path: '/sessions/{id}',
    operationId: 'endSession',
    summary: "End one of the signed-in user's own sessions",
    description: "A malformed id, an unknown one and another user's session are all 404.",
    tag: 'sessions',
    access: 'session',
    params: schemas.sessionIdParams,
    answers: [noContent('That session is dead.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/admin/users',
    operationId: 'listUsers',
    summary: 'List users',
    tag: 'administration',
    access: 'admin',
    query: schemas.userListQuery,
    answers: [
      {
        status: 200,
        description: 'A page of users, and how many there are.',
        body: named('UserList', schemas.userListResponse),
      },
    ],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/admin/users',
    operationId: 'createUser',
    summary: 'Create a user',
    tag: 'administration',
    access: 'admin',
    body: named('CreateUserRequest', schemas.createUserBody),
    answers: [{ status: 201, description: 'The new user.', body: user }],
    errors: ['WEAK_PASSWORD', 'NOT_FOUND', 'USERNAME_TAKEN', 'OVERLOADED'],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/admin/users/{id}',
    operationId: 'getUser',
    summary: 'One user',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [{ status: 200, description: 'The user.', body: user }],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'patch',
    path: '/admin/users/{id}',
    operationId: 'updateUser',
    summary: "Change a user's default role, disabled flag or session variables",
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    body: named('UpdateUserRequest', schemas.updateUserBody),
    answers: [{ status: 200, description: 'The user as changed.', body: user }],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'delete',
    path: '/admin/users/{id}',
    operationId: 'deleteUser',
    summary: 'Delete a user, and end their sessions',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [noContent('The user is gone.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'put',
    path: '/admin/users/{id}/roles/{role}',
    operationId: 'grantRole',
    summary: 'Grant a role',
    tag: 'administration',
    access: 'admin',
    params: schemas.userRoleParams,
    answers: [noContent('The user holds the role.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'delete',
    path: '/admin/users/{id}/roles/{role}',
    operationId: 'revokeRole',
    summary: 'Revoke a role',
    tag: 'administration',
    access: 'admin',
    params: schemas.userRoleParams,
    answers: [noContent('The user no longer holds the role.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'delete',
    path: '/admin/users/{id}/sessions',
    operationId: 'endUserSessions',
    summary: 'End every session of a user',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [noContent('Every session of that user is dead.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  },
  {
    method: 'get',
    path: '/admin/roles',
    operationId: 'listRoles',
    summary: 'List roles',
    tag: 'administration',
    access: 'admin',
    answers: [{ status: 200, description: 'Every role.', body: named('RoleList', schemas.roleListResponse) }],
    usesDatabase: true,
  },
  {
    method: 'post',
    path: '/admin/roles',
    operationId: 'createRole',
    summary: 'Create a role',
    tag: 'administration',
    access: 'admin',
    body: named('CreateRoleRequest', schemas.createRoleBody),
    answers: [{ status: 201, description: 'The new role.', body: named('Role', schemas.roleResponse) }],
    errors: ['ROLE_EXISTS'],
    usesDatabase: true,
  },
  {
    method: 'delete',
    path: '/admin/roles/{name}',
    operationId: 'deleteRole',
    summary: 'Delete a role',
    description: 'Built-in roles cannot be deleted. Users holding the role lose it, and their sessions end.',
    tag: 'administration',
    access: 'admin',
    params: schemas.roleNameParams,
    answers: [noContent('The role is gone.')],
    errors: ['NOT_FOUND', 'ROLE_BUILT_IN'],
    usesDatabase: true,
  },
];

/** The errors that follow from a route's shape, with those its handler raises. */
function errorCodesOf(operation: Operation): Set<ErrorCode> {
  const codes = new Set<ErrorCode>(operation.errors);
  if (operation.body) {
    for (const code of ['VALIDATION_FAILED', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) {
      codes.add(code);
    }
  }
  if (operation.params || operation.query) codes.add('VALIDATION_FAILED');
  if (operation.access === 'session' || operation.access === 'admin') codes.add('UNAUTHORIZED');
  if (operation.access === 'admin') codes.add('FORBIDDEN');
  if (operation.usesDatabase) codes.add('DATABASE_UNAVAILABLE');
  codes.add('INTERNAL_ERROR');
  return codes;
}

const toJsonSchema = (schema: z.ZodType): JsonSchema => {
  // Requests are described as clients send them (before coercion and defaults); answers are
  // what the presenters produce, which is the input of their schemas, too.
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
  return jsonSchema;
};

const componentRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const jsonContent = (schema: JsonSchema) => ({ 'application/json': { schema } });

function parametersOf(operation: Operation): JsonSchema[] {
  const located = [
    ['path', operation.params],
    ['query', operation.query],
    ['header', operation.headers],
  ] as const;
  return located.flatMap(([location, object]) => {
    if (!object) return [];
    const jsonSchema = toJsonSchema(object) as { properties: Record<string, JsonSchema>; required?: string[] };
    return Object.entries(jsonSchema.properties).map(([name, { description, ...schema }]) => ({
      name,
      in: location,
      required: location === 'path' || (jsonSchema.required ?? []).includes(name),
      ...(description === undefined ? {} : { description }),
      schema,
    }));
  });
}

function errorAnswersOf(operation: Operation): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(operation)) {
    const { status } = errorCatalogue[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const answers: Record<string, JsonSchema> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    answers[String(status)] = {
      description: codes.map((code) => `${code}: ${errorCatalogue[code].message}`).join(' '),
      ...(codes.includes('UNAUTHORIZED') && {
        headers: {
          'WWW-Authenticate': {
            description: 'With UNAUTHORIZED: `Bearer`, the scheme to authenticate with.',
            schema: { type: 'string' },
          },
        },
      }),
      content: jsonContent(toJsonSchema(schemas.errorResponse(codes))),
    };
  }
  return answers;
}

const securityOf: Record<Access, Record<string, string[]>[]> = {
  public: [],
  session: [{ sessionToken: [] }],
  admin: [{ sessionToken: [] }, { adminSecret: [] }],
  // A request without credentials is answered too: as the anonymous role.
  hasura: [{ sessionToken: [] }, {}],
};

function operationObject(operation: Operation): JsonSchema {
  const parameters = parametersOf(operation);
  const answers: Record<string, JsonSchema> = {};
  for (const answer of operation.answers) {
    answers[String(answer.status)] = {
      description: answer.description,
      ...(answer.body && {
        content: { [answer.mediaType ?? 'application/json']: { schema: componentRef(answer.body.name) } },
      }),
    };
  }
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description && { description: operation.description }),
    tags: [operation.tag],
    security: securityOf[operation.access],
    ...(parameters.length > 0 && { parameters }),
    ...(operation.body && {
      requestBody: { required: true, content: jsonContent(componentRef(operation.body.name)) },
    }),
    responses: { ...answers, ...errorAnswersOf(operation) },
  };
}

/** Every schema that operations name, once, with references between them kept as references. */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  // Named although no operation answers it alone, so that it is a reference where it is nested.
  const nested = [named('Session', schemas.sessionResponse)];
  for (const operation of operations) {
    for (const each of [...nested, operation.body, ...operation.answers.map((answer) => answer.body)]) {
      if (!each) continue;
      const registered = registry.get(each.schema);
      if (registered && registered.id !== each.name) throw new Error(`${registered.id} is also named ${each.name}`);
      if (!registered) registry.add(each.schema, { id: each.name });
    }
  }
  const { schemas: converted } = z.toJSONSchema(registry, {
    io: 'input',
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
  });
  // Each comes with the dialect and an $id that is only a fragment; OpenAPI 3.1 needs neither.
  return Object.fromEntries(
    Object.entries(converted).map(([name, { $schema: _dialect, $id: _id, ...schema }]) => [name, schema]),
  );
}

/** The method and path of every documented route. */
export const documentedRoutes: readonly ServedRoute[] = operations.map(({ method, path }) => ({ method, path }));

export function buildOpenApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of operations) {
    paths[operation.path] = { ...paths[operation.path], [operation.method]: operationObject(operation) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hasura-auth-webhook',
      // The version of the API that this describes, not of the package.
      version: '1.0.0',
      description:
        'Username and password authentication for Hasura GraphQL Engine, as its auth webhook. Every error is ' +
        '`{"error": {"code", "message"}}`, with `details` for validation errors; the codes are stable.',
    },
    tags: [
      { name: 'accounts', description: 'Signing up, logging in, the signed-in user' },
      { name: 'sessions', description: "The signed-in user's sessions" },
      { name: 'webhook', description: "Hasura's auth webhook, in both modes" },
      { name: 'administration', description: 'Users, roles and sessions, for admins' },
      { name: 'operations', description: 'Health checks and this document' },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        sessionToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The opaque token that signup, login or a password change answered.',
        },
        adminSecret: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Hasura-Admin-Secret',
          description: 'ADMIN_SECRET, compared in constant time; unset, the header is ignored.',
        },
      },
    },
  };
}
