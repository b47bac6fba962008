import type { PGlite } from '@electric-sql/pglite';
import { Client, type ClientConfig } from 'pg';
import type { Logger } from '../logger';
import { openedDatabase, type Database } from './database';

/** The channel the triggers of migration 20261201000200 notify on. */
export const INVALIDATION_CHANNEL = 'auth_cache_invalidation';
// How often the listening connection is checked. A connection that died without a word (a
// half-open TCP connection) is noticed within this, plus the probe's own timeout.
const HEARTBEAT_MS = 2_000;
const PROBE_TIMEOUT_MS = 2_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** How the listening connection shows in pg_stat_activity, apart from the pool's. */
export const LISTENER_APPLICATION_NAME = 'hasura-auth invalidation listener';

export interface InvalidationHandlers {
  /** A session was deleted. */
  sessionChanged(sessionId: string): void;
  /** Something about a user that the webhook answers changed: their sessions, roles, variables, status. */
  userChanged(userId: number): void;
  /**
   * From now on every change is heard; anything before may have been missed. `lossless`: no
   * notice can be lost while this lasts (the database is in this process).
   */
  listening(lossless: boolean): void;
  /** From now on changes may go unheard. */
  deaf(): void;
}

export interface InvalidationListener {
  close(): Promise<void>;
}

function dispatch(payload: string | undefined, handlers: InvalidationHandlers): void {
  const [kind, id] = [payload?.slice(0, 2), payload?.slice(2) ?? ''];
  if (kind === 's:') handlers.sessionChanged(id);
  else if (kind === 'u:' && /^\d+$/.test(id)) handlers.userChanged(Number(id));
}

/**
 * Listens for the database's notices of changes that alter a webhook answer, from any instance.
 * Every change notifies from a trigger; what reaches an instance while its connection is down is
 * lost, so the handlers hear `deaf` the moment that is noticed and `listening` once it is over.
 */
export function listenForInvalidations(
  db: Database,
  handlers: InvalidationHandlers,
  logger: Logger,
): InvalidationListener {
  const opened = openedDatabase(db);
  return opened.kind === 'pglite'
    ? listenOnPglite(opened.embedded(), handlers)
    : listenOnPostgres(opened.connection, handlers, logger);
}

/** PGlite is in this process: its notices cannot be lost, only ended by its closing. */
function listenOnPglite(opening: Promise<PGlite>, handlers: InvalidationHandlers): InvalidationListener {
  let listening = false;
  let pglite: PGlite | undefined;
  const unsubscribe = opening.then(async (opened) => {
    pglite = opened;
    const stop = await opened.listen(INVALIDATION_CHANNEL, (payload) => dispatch(payload, handlers));
    listening = true;
    handlers.listening(true);
    return stop;
  });
  const heartbeat = setInterval(() => {
    if (listening && pglite?.closed) {
      listening = false;
      handlers.deaf();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async close() {
      clearInterval(heartbeat);
      handlers.deaf();
      const stop = await unsubscribe.catch(() => undefined);
      if (stop && !pglite?.closed) await stop().catch(() => undefined);
    },
  };
}

/** A connection of its own, outside the pool: LISTEN holds it for the life of the instance. */
function listenOnPostgres(
  connection: ClientConfig,
  handlers: InvalidationHandlers,
  logger: Logger,
): InvalidationListener {
  let closed = false;
  let current: Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let delayMs = RECONNECT_MIN_MS;

  const lose = (client: Client, error?: unknown) => {
    if (current !== client) return;
    current = undefined;
    clearInterval(heartbeat);
    handlers.deaf();
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (closed) return;
    logger.warn(
      { err: error, retryInMs: delayMs },
      'cache invalidation listener lost its connection; the webhook reads the database until it is back',
    );
    retryTimer = setTimeout(() => void connect(), delayMs);
    delayMs = Math.min(delayMs * 2, RECONNECT_MAX_MS);
  };

  async function connect(): Promise<void> {
    const client = new Client({
      ...connection,
      keepAlive: true,
      query_timeout: PROBE_TIMEOUT_MS,
      application_name: LISTENER_APPLICATION_NAME,
    });
    current = client;
    client.on('error', (error) => lose(client, error));
    client.on('end', () => lose(client));
    client.on('notification', (message) => {
      if (message.channel === INVALIDATION_CHANNEL) dispatch(message.payload, handlers);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      lose(client, error);
      return;
    }
    if (current !== client || closed) return;
    delayMs = RECONNECT_MIN_MS;
    heartbeat = setInterval(() => {
      client.query('select 1').catch((error: unknown) => lose(client, error));
    }, HEARTBEAT_MS);
    heartbeat.unref();
    handlers.listening(false);
  }

  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(heartbeat);
      const client = current;
      current = undefined;
      handlers.deaf();
      if (client) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        await client.end().catch(() => undefined);
      }
    },
  };
}
