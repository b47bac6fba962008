import type { IncomingHttpHeaders } from 'node:http';
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { anonymousSessionVariables, userSessionVariables, type HasuraSessionVariables } from '../../domain/hasura';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { authenticateSession, hasCredentials, type Authenticator } from '../passport';
import { parseRequest } from '../validation';

// Hasura's POST body. `request` may be an object, an array, null or absent; it is not needed.
const webhookPostBody = z.object({ headers: z.record(z.string(), z.string()), request: z.unknown().optional() });

/** POST mode keeps the client's spelling of header names; Node lower-cases them, so do the same. */
function lowerCaseHeaderNames(headers: Record<string, string>): IncomingHttpHeaders {
  const lowered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (key in lowered && lowered[key] !== value) {
      throw new AppError('VALIDATION_FAILED', `The header ${key} is given twice with different values.`);
    }
    lowered[key] = value;
  }
  return lowered;
}

function requestedRole(headers: IncomingHttpHeaders): string | undefined {
  const role = headers['x-hasura-role'];
  const trimmed = (Array.isArray(role) ? role[0] : role)?.trim();
  return trimmed ? trimmed : undefined;
}

/** GET /webhook and POST /webhook, as docs/hasura-webhook-contract.md describes. */
export function webhookRouter(config: Config, services: Services, passport: Authenticator): Router {
  const router = Router();

  async function sessionVariablesFor(headers: IncomingHttpHeaders): Promise<HasuraSessionVariables | undefined> {
    const role = requestedRole(headers);
    // Only a request with no credential at all is anonymous; a bad one is refused.
    if (!hasCredentials(headers)) return anonymousSessionVariables(config.webhook.anonymousRole, role);
    const auth = await authenticateSession(passport, headers);
    if (!auth) return undefined;
    const maxAgeSeconds = Math.min(config.webhook.maxAgeSeconds, services.sessions.remainingLifetimeSeconds(auth.session));
    return userSessionVariables(auth, role, maxAgeSeconds);
  }

  async function answer(headers: IncomingHttpHeaders, res: Response): Promise<void> {
    const variables = await sessionVariablesFor(headers);
    if (variables) res.json(variables);
    else res.status(401).json({});
  }

  router.get('/webhook', (req, res) => answer(req.headers, res));

  router.post('/webhook', express.json({ limit: config.webhook.bodyLimitBytes }), (req, res) => {
    const body = parseRequest(webhookPostBody, req.body);
    return answer(lowerCaseHeaderNames(body.headers), res);
  });

  return router;
}
