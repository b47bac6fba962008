import { z } from 'zod';
import { errorCatalogue, type ErrorCode } from '../errors';
import {
  errorCodesOf,
  named,
  type Access,
  type HttpMethod,
  type RouteDefinition,
  type RouteDefinitions,
} from './route-definition';
import { accountRoutes } from './routes/accounts';
import { adminRoutes } from './routes/admin';
import { emailRoutes } from './routes/email';
import { pageRoutes } from './routes/pages';
import { accountPageRoutes } from './routes/account-pages';
import { adminPageRoutes } from './routes/admin-pages';
import { interactionRoutes } from './routes/interactions';
import { openIdClientRoutes } from './routes/openid-clients';
import { identityRoutes, providerLoginRoutes } from './routes/identities';
import { healthRoutes } from './routes/health';
import { metricsRoutes } from './routes/metrics';
import { openApiRoutes } from './routes/openapi';
import { secondFactorRoutes } from './routes/second-factors';
import { passkeyRoutes } from './routes/passkeys';
import { sessionRoutes } from './routes/sessions';
import { tokenRoutes } from './routes/tokens';
import { webhookRoutes } from './routes/webhook';
import * as schemas from './schemas';

/**
 * The OpenAPI 3.1 description of the HTTP API, built from the route definitions that the routers
 * are built from (./route-definition), the zod schemas they name, and the error catalogue.
 */

type JsonSchema = Record<string, unknown>;

interface Operation extends RouteDefinition {
  operationId: string;
}

const routeGroups: RouteDefinitions[] = [
  healthRoutes,
  metricsRoutes,
  openApiRoutes,
  webhookRoutes,
  accountRoutes,
  secondFactorRoutes,
  passkeyRoutes,
  emailRoutes,
  pageRoutes,
  accountPageRoutes,
  adminPageRoutes,
  interactionRoutes,
  providerLoginRoutes,
  identityRoutes,
  tokenRoutes,
  sessionRoutes,
  adminRoutes,
  openIdClientRoutes,
];

const operations: Operation[] = routeGroups.flatMap((group) =>
  Object.entries(group).map(([operationId, definition]) => ({ ...definition, operationId })),
);
const operationIds = operations.map(({ operationId }) => operationId);
if (new Set(operationIds).size !== operationIds.length) throw new Error('Two routes have the same operationId');

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
      // A page's errors under 500 are pages that say what went wrong; the rest are JSON, as everywhere.
      content:
        operation.page && status < 500
          ? { 'text/html': { schema: { type: 'string' } } }
          : jsonContent(toJsonSchema(schemas.errorResponse(codes))),
    };
  }
  return answers;
}

const securityOf: Record<Access, Record<string, string[]>[]> = {
  public: [],
  session: [{ sessionToken: [] }],
  admin: [{ sessionToken: [] }, { adminSecret: [] }],
  'metrics-token': [{ metricsToken: [] }],
  // A request without credentials is answered too: as the anonymous role.
  hasura: [{ sessionToken: [] }, {}],
};

/** In POST mode the client's credential travels inside the body, where no security scheme looks. */
const securityOfOperation = (operation: Operation) =>
  operation.access === 'hasura' && operation.body ? [] : securityOf[operation.access];

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
    security: securityOfOperation(operation),
    ...(parameters.length > 0 && { parameters }),
    ...(operation.body && {
      requestBody: {
        required: true,
        content: operation.page
          ? { 'application/x-www-form-urlencoded': { schema: componentRef(operation.body.name) } }
          : jsonContent(componentRef(operation.body.name)),
      },
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
export const documentedRoutes: readonly { method: HttpMethod; path: string }[] = operations.map(({ method, path }) => ({
  method,
  path,
}));

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
      {
        name: 'second-factors',
        description: 'An authenticator app (TOTP) and recovery codes, asked for at login once set up; passkeys',
      },
      { name: 'email', description: 'Verifying an email address, and resetting a forgotten password through it' },
      {
        name: 'identity-providers',
        description:
          'Logging in through OpenID Connect providers and GitHub; served only when IDENTITY_PROVIDERS lists some',
      },
      { name: 'pages', description: 'The pages that links in mail open: HTML, for people' },
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
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'METRICS_TOKEN, compared in constant time.',
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
