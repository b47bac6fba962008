import { z } from 'zod';
import { defineRoute, named, type Answer } from '../route-definition';
import * as schemas from '../schemas';
import { WEBHOOK_PATH } from '../webhook';

/**
 * The webhook's two routes. node:http answers them in front of Express (../webhook.ts), so they
 * have no router: these definitions are for the OpenAPI document, and for the test that checks
 * that it names every route served.
 */

const webhookAnswers: Answer[] = [
  {
    status: 200,
    description:
      'The caller is identified: a user (with their role and session variables), or the anonymous role for a ' +
      'request without credentials.',
    body: named('HasuraSessionVariables', schemas.hasuraSessionVariablesResponse),
  },
  {
    status: 401,
    description:
      'The caller is refused: a malformed or unknown token, one whose session has ended, a role the user does not hold, or ' +
      'no credentials while anonymous access is off. Never the anonymous role instead.',
    body: named('WebhookRefusal', schemas.webhookRefusalResponse),
  },
];

const webhookDescription =
  'Hasura calls this for every GraphQL request (HASURA_GRAPHQL_AUTH_HOOK); docs/hasura-webhook-contract.md ' +
  'is the contract. A token while the database is down is 503, never 401 and never anonymous.';

export const webhookRoutes = {
  identifyCallerByHeaders: defineRoute({
    method: 'get',
    path: WEBHOOK_PATH,
    summary: 'Hasura auth webhook, GET mode: the client headers arrive as headers',
    description: webhookDescription,
    tag: 'webhook',
    access: 'hasura',
    headers: z.object({
      'X-Hasura-Role': z.string().optional().describe('The role the client asks for; it must be one the user holds.'),
    }),
    answers: webhookAnswers,
    usesDatabase: true,
  }),
  identifyCallerByBody: defineRoute({
    method: 'post',
    path: WEBHOOK_PATH,
    summary: 'Hasura auth webhook, POST mode: the client headers arrive in the body',
    description:
      `${webhookDescription} The credential is the \`Authorization\` entry of \`headers\`, and the role asked for ` +
      'its `X-Hasura-Role` entry. A name given twice with different values is 400 VALIDATION_FAILED. The body ' +
      'limit is WEBHOOK_BODY_LIMIT_BYTES.',
    tag: 'webhook',
    access: 'hasura',
    body: named('WebhookPostRequest', schemas.webhookPostBody),
    answers: webhookAnswers,
    usesDatabase: true,
  }),
};
