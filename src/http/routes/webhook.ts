import type { IncomingHttpHeaders } from 'node:http';
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import type { CallerIdentification, Identity } from '../../domain/caller-identity';
import { AppError } from '../../errors';
import type { Metrics, WebhookOutcome } from '../../metrics';
import { readSessionCredential } from '../credentials';
import { parseRequest } from '../validation';

// Hasura's POST body. `request` may be an object, an array, null or absent; it is not needed.
const webhookPostBody = z.object({ headers: z.record(z.string(), z.string()), request: z.unknown().optional() });

/** POST mode keeps the client's spelling of header names; Node lower-cases them, so do the same. */
function lowerCaseHeaderNames(headers: Record<string, string>): IncomingHttpHeaders {
  // A Map, not an object: a client header named `constructor` must not meet Object.prototype.
  const lowered = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    const earlier = lowered.get(key);
    if (earlier !== undefined && earlier !== value) {
      throw new AppError('VALIDATION_FAILED', { message: `The header ${key} is given twice with different values.` });
    }
    lowered.set(key, value);
  }
  return Object.fromEntries(lowered);
}

function requestedRole(headers: IncomingHttpHeaders): string | undefined {
  const role = headers['x-hasura-role'];
  const trimmed = (Array.isArray(role) ? role[0] : role)?.trim();
  return trimmed ? trimmed : undefined;
}

/** `x-hasura-org-id` → `X-Hasura-Org-Id`; Hasura ignores the case, people reading logs do not. */
function displayName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** An identity as Hasura reads a webhook's 200 body: every value a string. */
export function toHasuraSessionVariables(identity: Identity): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(identity.sessionVariables)) variables[displayName(name)] = value;
  variables['X-Hasura-Role'] = identity.role;
  if (identity.userId !== null) variables['X-Hasura-User-Id'] = String(identity.userId);
  // Hasura reads expiry from the body, with this exact key.
  if (identity.maxAgeSeconds !== null) variables['Cache-Control'] = `max-age=${identity.maxAgeSeconds}`;
  return variables;
}

/** GET /webhook and POST /webhook, as docs/hasura-webhook-contract.md describes. */
export function webhookRouter(config: Config, callers: CallerIdentification, metrics: Metrics): Router {
  const router = Router();

  async function decide(headers: IncomingHttpHeaders, res: Response): Promise<WebhookOutcome> {
    const decision = await callers.identifyCaller(readSessionCredential(headers), requestedRole(headers));
    // A refusal is Hasura's protocol answer, not an error: 401 with an empty object.
    if (decision.outcome === 'refused') {
      res.status(401).json({});
      return 'refused';
    }
    res.json(toHasuraSessionVariables(decision.identity));
    return decision.identity.userId === null ? 'anonymous' : 'user';
  }

  /** Answers, and records how and how fast; a request Hasura sent malformed counts as an error. */
  async function answer(startedAt: number, readHeaders: () => IncomingHttpHeaders, res: Response): Promise<void> {
    let outcome: WebhookOutcome = 'error';
    try {
      outcome = await decide(readHeaders(), res);
    } finally {
      metrics.observeWebhook(outcome, (performance.now() - startedAt) / 1000);
    }
  }

  router.get('/webhook', (req, res) => answer(performance.now(), () => req.headers, res));

  router.post('/webhook', express.json({ limit: config.webhook.bodyLimitBytes }), (req, res) =>
    // Timed from here, after the body is read: the clock measures the decision, not the upload.
    answer(performance.now(), () => lowerCaseHeaderNames(parseRequest(webhookPostBody, req.body).headers), res),
  );

  return router;
}
