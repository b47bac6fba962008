import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config';
import type { CallerDecision, CallerIdentification, Identity, Refusal } from '../domain/caller-identity';
import type { Logger } from '../logger';
import type { Metrics, WebhookOutcome } from '../metrics';
import { readSessionCredential } from './credentials';
import { COMMON_HEADERS, JSON_CONTENT_TYPE, sendError, setCommonHeaders } from './error-handler';
import { describeRequest, pathOf, requestIdOf } from './request-logging';
import { createSessionCookies } from './session-cookie';
import { readWebhookHeaders } from './webhook-body';

/**
 * GET /webhook and POST /webhook, as docs/hasura-webhook-contract.md describes, served on
 * node:http in front of Express. Hasura calls this on every GraphQL request, so it does only what
 * the answer needs: no router, no middleware chain, no log line for a success unless at debug.
 */

export const WEBHOOK_PATH = '/webhook';

function requestedRole(headers: IncomingHttpHeaders): string | undefined {
  const role = headers['x-hasura-role'];
  const trimmed = (Array.isArray(role) ? role[0] : role)?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * Whether the browser marked the client's request as cross-site, so that its cookie must not
 * count: a page on another site can make the browser send Hasura a request that carries the
 * cookie (SameSite=None, or a sibling subdomain), and Hasura forwards `Sec-Fetch-Site` in GET mode
 * and every header, `Origin` too, in POST mode. A bearer token is never sent by a browser on its
 * own, so it is unaffected.
 */
function isCrossSite(headers: IncomingHttpHeaders, allowedOrigins: ReadonlySet<string>): boolean {
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite === 'cross-site') return true;
  const origin = headers.origin;
  return origin !== undefined && fetchSite !== 'same-origin' && !allowedOrigins.has(origin);
}

/** `x-hasura-org-id` → `X-Hasura-Org-Id`; Hasura ignores the case, people reading logs do not. */
function displayName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * An identity as Hasura reads a webhook's 200 body: every value a string. Hasura v2 reads the
 * answer's expiry from the `Cache-Control` key; DDN (v3) caches nothing and would only turn that
 * key into a session variable named `cache-control`, so it is left out for v3.
 */
function toHasuraSessionVariables(identity: Identity, withMaxAge: boolean): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(identity.sessionVariables)) variables[displayName(name)] = value;
  variables['X-Hasura-Role'] = identity.role;
  if (identity.userId !== null) variables['X-Hasura-User-Id'] = String(identity.userId);
  if (identity.secondFactor !== null) variables['X-Hasura-Mfa'] = String(identity.secondFactor);
  if (withMaxAge && identity.maxAgeSeconds !== null) variables['Cache-Control'] = `max-age=${identity.maxAgeSeconds}`;
  return variables;
}

/**
 * Counts refusals and logs them as one line per interval, by reason, from the first refusal after
 * the last line: nothing is scheduled while nobody is refused.
 */
function createRefusalSummary(logger: Logger, intervalSeconds: number) {
  let counts = new Map<Refusal, number>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    logger.info(
      { refusals: Object.fromEntries(counts), intervalSeconds },
      `webhook refusals in the last ${intervalSeconds} s`,
    );
    counts = new Map();
  };
  return (refusal: Refusal) => {
    counts.set(refusal, (counts.get(refusal) ?? 0) + 1);
    timer ??= setTimeout(flush, intervalSeconds * 1000).unref();
  };
}

/**
 * Writes an answer with its headers in one call: writeHead with a flat list skips the header map
 * that setHeader fills, on the path every GraphQL request takes.
 */
function writeAnswer(res: ServerResponse, status: number, body: object, setCookie?: string): void {
  const text = JSON.stringify(body);
  const headers = [
    ...COMMON_HEADERS,
    'Content-Type',
    JSON_CONTENT_TYPE,
    'Content-Length',
    String(Buffer.byteLength(text)),
  ];
  if (setCookie !== undefined) headers.push('Set-Cookie', setCookie);
  res.writeHead(status, headers);
  res.end(text);
}

export interface WebhookDeps {
  config: Config;
  logger: Logger;
  callers: CallerIdentification;
  metrics: Metrics;
}

/** Answers whether it took the request; the rest is Express's. */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createWebhookHandler({ config, logger, callers, metrics }: WebhookDeps): WebhookHandler {
  const cookies = createSessionCookies(config.cookie);
  const allowedOrigins = new Set(config.corsOrigins);
  // DDN reads no header of the answer: no Set-Cookie reaches a browser through it (GET /session
  // renews the cookie instead), and no max-age is read.
  const answersV2 = config.webhook.engine === 'v2';
  const countRefusal = createRefusalSummary(logger, config.webhook.refusalSummarySeconds);
  const credentialOf = (headers: IncomingHttpHeaders) =>
    readSessionCredential(headers, cookies, { cookieAllowed: !isCrossSite(headers, allowedOrigins) });

  /** Writes Hasura's answer to a decision. */
  function respond(res: ServerResponse, headers: IncomingHttpHeaders, decision: CallerDecision): WebhookOutcome {
    // A refusal is Hasura's protocol answer, not an error: 401 with an empty object.
    if (decision.outcome === 'refused') {
      countRefusal(decision.refusal);
      writeAnswer(res, 401, {});
      return 'refused';
    }
    // Hasura copies the webhook's Set-Cookie onto its own answer: the browser's cookie follows
    // the session's new idle deadline, once per touch interval. Hasura's own call says nothing of
    // how the browser reached Hasura, so only COOKIE_SECURE or a __Host- cookie make it Secure.
    const renewal = answersV2 ? cookies.renewal(headers, decision.identity, false) : undefined;
    writeAnswer(res, 200, toHasuraSessionVariables(decision.identity, answersV2), renewal);
    return decision.identity.userId === null ? 'anonymous' : 'user';
  }

  /** GET mode reads the client's headers from the request itself; POST mode from the body. */
  async function answerLater(req: IncomingMessage, res: ServerResponse): Promise<WebhookOutcome> {
    const headers =
      req.method === 'POST'
        ? Object.fromEntries(await readWebhookHeaders(req, config.webhook.bodyLimitBytes))
        : req.headers;
    const decision = await callers.identifyCaller(credentialOf(headers), requestedRole(headers));
    return respond(res, headers, decision);
  }

  return (req, res) => {
    // Hasura calls the URL as configured, query string included.
    if (pathOf(req) !== WEBHOOK_PATH || (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST')) {
      return false;
    }
    const startedAt = process.hrtime.bigint();

    // Made only for a line that is logged: a success at info level needs none.
    let id: string | undefined;
    const describe = () => describeRequest(req, (id ??= requestIdOf(req)));
    const completed = (outcome: WebhookOutcome) => {
      const elapsedMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      metrics.observeWebhook(outcome, elapsedMs / 1000);
      // Successes and refusals are the hot path, logged at debug; refusals are summed up at info
      // (countRefusal). Failures, and bodies refused as malformed, at error and info.
      const level =
        res.statusCode >= 500 ? 'error' : res.statusCode === 200 || res.statusCode === 401 ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        { req: describe(), res: { statusCode: res.statusCode }, responseTime: elapsedMs },
        'request completed',
      );
    };
    const failed = (error: unknown): WebhookOutcome => {
      setCommonHeaders(res);
      sendError(res, error, logger.child({ req: describe() }));
      return 'error';
    };

    // Most GET calls are decided from memory (decideNow) and answered at once, with no promise.
    if (req.method !== 'POST') {
      let outcome: WebhookOutcome | undefined;
      try {
        const decision = callers.decideNow(credentialOf(req.headers), requestedRole(req.headers));
        if (decision !== undefined) outcome = respond(res, req.headers, decision);
      } catch (error) {
        outcome = failed(error);
      }
      if (outcome !== undefined) {
        completed(outcome);
        return true;
      }
    }
    void answerLater(req, res).catch(failed).then(completed);
    return true;
  };
}
