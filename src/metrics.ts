import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { openedDatabase, type ConnectionPool, type Database } from './db/database';
import { AppError, type ErrorCode } from './errors';
import type { Logger } from './logger';

/**
 * What an operator watches, in Prometheus terms. Each app has a registry of its own, so that two
 * instances in one process (tests, peers) never count into each other. Every label value comes
 * from a closed set: no user id, username, token or path ever becomes a label, so the number of
 * series stays fixed however many users there are.
 */

/** How the webhook answered: a signed-in user, an anonymous caller, a refusal (401), or a failure. */
const WEBHOOK_OUTCOMES = ['user', 'anonymous', 'refused', 'error'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/**
 * How a signup, a login or a password change ended: `success`, or the catalogue code it failed
 * with, lower-cased (`invalid_credentials`, `weak_password`, `database_unavailable`...). The
 * catalogue bounds the set, and a code added to it becomes an outcome here with no change to
 * this module. Each action counts every way it ends, its rate limits' refusals (`rate_limited`)
 * included: each route names what it counts as (`countedAs` in src/http/route-definition.ts).
 */
export type AccountOutcome = 'success' | Lowercase<ErrorCode>;

export type AccountAction = 'signup' | 'password_change';

/**
 * A login, by how the user proved who they are (`password`, `passkey`; identity providers count
 * theirs in hasura_auth_provider_logins_total) and what it issued: a `session` (POST /login) or JWT mode's `tokens` (POST /token).
 */
export interface LoginKind {
  /** `second_factor`: a login's second step (POST /login/mfa, /token/mfa), after its first. */
  method: 'password' | 'second_factor' | 'passkey';
  issued: 'session' | 'tokens';
}

/** What a route's outcomes are counted as: a signup or password change, or a login of some kind. */
export type CountedAction = AccountAction | LoginKind;

// From a cached answer (well under a millisecond) to the database's statement timeout.
const WEBHOOK_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

// Counting live sessions reads the whole sessions table; once per this long is plenty for a
// gauge, whatever the scrape interval and however many Prometheus servers scrape.
const READING_MAX_AGE_MS = 30_000;

/** What the gauges read from the database, once it is ready. */
export interface DatabaseSources {
  countLiveSessions(): Promise<number>;
  pendingMail(): Promise<{ count: number; oldestAgeSeconds: number }>;
  logger: Logger;
}

/** The parts of knex's pool (tarn) that the pool gauges read. */

export function accountOutcomeOf(error: unknown): AccountOutcome {
  return error instanceof AppError ? (error.code.toLowerCase() as AccountOutcome) : 'internal_error';
}

/** What the OpenID Provider counts in hasura_auth_openid_provider_events_total. */
export type OpenIdEvent = 'authorization' | 'token_grant' | 'grant_revoked' | 'logout' | 'backchannel_logout';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const webhookDuration = new Histogram({
    name: 'hasura_auth_webhook_duration_seconds',
    help: 'Time to answer a webhook call, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: WEBHOOK_BUCKETS_SECONDS,
    registers: [registry],
  });

  const accountCounters: Record<AccountAction, Counter<'outcome'>> = {
    signup: new Counter({
      name: 'hasura_auth_signups_total',
      help: 'Signups, by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    password_change: new Counter({
      name: 'hasura_auth_password_changes_total',
      help: 'Password changes, by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
  const openIdEvents = new Counter({
    name: 'hasura_auth_openid_provider_events_total',
    help: 'The OpenID Provider: authorizations, token grants (by grant type), grants revoked (a rotated refresh token used again, a code used twice, a logout), logouts and back-channel logouts, by outcome.',
    labelNames: ['event', 'grant_type', 'outcome'] as const,
    registers: [registry],
  });
  const logins = new Counter({
    name: 'hasura_auth_logins_total',
    help: 'Logins, by how the user proved who they are, what the login issued, and outcome.',
    labelNames: ['method', 'issued', 'outcome'] as const,
    registers: [registry],
  });
  // Series that exist from the start, at zero, so that rate() and alerts see the first event; each
  // outcome's series is looked up once here, not per call.
  const webhookSeries = Object.fromEntries(
    WEBHOOK_OUTCOMES.map((outcome) => {
      webhookDuration.zero({ outcome });
      return [outcome, webhookDuration.labels({ outcome })];
    }),
  ) as Record<WebhookOutcome, ReturnType<typeof webhookDuration.labels>>;
  for (const counter of Object.values(accountCounters)) counter.inc({ outcome: 'success' }, 0);
  for (const method of ['password', 'second_factor', 'passkey'] as const) {
    for (const issued of ['session', 'tokens'] as const) logins.inc({ method, issued, outcome: 'success' }, 0);
  }

  let sources: DatabaseSources | undefined;
  /**
   * A gauge that reads the database: a scrape reports the last reading and, when that is older
   * than READING_MAX_AGE_MS, starts a new one in the background, so that a scrape never waits
   * for the database, nor holds a connection the webhook needs.
   */
  const readInBackground = <T>(
    read: (from: DatabaseSources) => Promise<T>,
    apply: (value: T) => void,
    what: string,
  ) => {
    let readAt = -Infinity;
    let reading = false;
    return () => {
      if (!sources || reading || performance.now() - readAt < READING_MAX_AGE_MS) return;
      const { logger } = sources;
      reading = true;
      read(sources)
        .then((value) => {
          apply(value);
          readAt = performance.now();
        })
        .catch((error: unknown) => logger.warn({ err: error }, `could not read ${what}`))
        .finally(() => {
          reading = false;
        });
    };
  };

  const liveSessions = new Gauge({
    name: 'hasura_auth_live_sessions',
    help: `Sessions that are live, as counted at most every ${READING_MAX_AGE_MS / 1000} s.`,
    registers: [registry],
    collect: () => countLiveSessions(),
  });
  const countLiveSessions = readInBackground(
    (from) => from.countLiveSessions(),
    (count) => liveSessions.set(count),
    'the live sessions',
  );

  const mailQueued = new Counter({
    name: 'hasura_auth_mails_queued_total',
    help: 'Mails this instance queued in the outbox.',
    registers: [registry],
  });
  const mailSent = new Counter({
    name: 'hasura_auth_mails_sent_total',
    help: 'Mails this instance sent (or, in development without SMTP_URL, logged).',
    registers: [registry],
  });
  const mailGivenUp = new Counter({
    name: 'hasura_auth_mails_failed_total',
    help: 'Mails given up on after MAIL_GIVE_UP_AFTER_SECONDS of failed attempts.',
    registers: [registry],
  });
  const providerLogins = new Counter({
    name: 'hasura_auth_provider_logins_total',
    help: 'Logins through identity providers, by provider and outcome (success, or the error the callback redirects with).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  });
  const outboxPending = new Gauge({
    name: 'hasura_auth_mail_outbox_pending',
    help: `Mails waiting in the outbox, from every instance, as read at most every ${READING_MAX_AGE_MS / 1000} s.`,
    registers: [registry],
    collect: () => readOutbox(),
  });
  const outboxAge = new Gauge({
    name: 'hasura_auth_mail_outbox_oldest_age_seconds',
    help: 'How long the oldest mail waiting in the outbox has waited; 0 when none waits.',
    registers: [registry],
    collect: () => readOutbox(),
  });
  const readOutbox = readInBackground(
    (from) => from.pendingMail(),
    ({ count, oldestAgeSeconds }) => {
      outboxPending.set(count);
      outboxAge.set(oldestAgeSeconds);
    },
    'the mail outbox',
  );

  let pool: () => ConnectionPool | undefined = () => undefined;
  new Gauge({
    name: 'hasura_auth_database_pool_connections',
    help: 'Database connections held by this instance: in use, idle, or being opened.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const current = pool();
      if (!current) return;
      this.set({ state: 'in_use' }, current.numUsed());
      this.set({ state: 'idle' }, current.numFree());
      this.set({ state: 'opening' }, current.numPendingCreates());
    },
  });
  new Gauge({
    name: 'hasura_auth_database_pool_waiting',
    help: 'Queries waiting for a free database connection.',
    registers: [registry],
    collect() {
      const current = pool();
      if (current) this.set(current.numPendingAcquires());
    },
  });
  new Gauge({
    name: 'hasura_auth_database_pool_max',
    help: 'The most database connections this instance opens (DATABASE_POOL_MAX; 1 for embedded PGlite).',
    registers: [registry],
    collect() {
      const current = pool();
      if (current) this.set(current.max);
    },
  });

  return {
    registry,
    /** Records one webhook answer and how long it took. */
    observeWebhook(outcome: WebhookOutcome, seconds: number): void {
      webhookSeries[outcome].observe(seconds);
    },
    /** Counts the end of a login through a provider: `success`, or why it failed. */
    countProviderLogin(provider: string, outcome: string): void {
      providerLogins.inc({ provider, outcome });
    },
    /** Counts an event of the OpenID Provider (see its help); `grantType` for token grants only. */
    countOpenIdEvent(event: OpenIdEvent, outcome: string, grantType = ''): void {
      openIdEvents.inc({ event, grant_type: grantType, outcome });
    },
    countOutcome(action: CountedAction, outcome: AccountOutcome): void {
      if (typeof action === 'string') accountCounters[action].inc({ outcome });
      else logins.inc({ method: action.method, issued: action.issued, outcome });
    },
    /** Starts reporting a database's pool, live sessions and outbox, once the database is ready. */
    watchDatabase(db: Database, from: DatabaseSources): void {
      pool = openedDatabase(db).pool;
      sources = from;
    },
    countMailQueued: () => mailQueued.inc(),
    countMailSent: () => mailSent.inc(),
    countMailGivenUp: () => mailGivenUp.inc(),
    /** The exposition text, as Prometheus scrapes it. */
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
