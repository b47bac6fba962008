import { randomBytes } from 'node:crypto';
import net from 'node:net';
import request from 'supertest';
import {
  INVALIDATION_CHANNEL,
  LISTENER_APPLICATION_NAME,
  listenForInvalidations,
  type InvalidationHandlers,
} from '../src/db/invalidation-listener';
import type { Database } from '../src/db/database';
import { hashSessionToken } from '../src/domain/session-tokens';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { statementsDuring } from './support/database';
import { eventually } from './support/eventually';
import { changePassword, logInToken, webhookGet, type HttpTarget } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody, statusAndCode } from './support/responses';
import { bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';
import { testDatabaseUrl, withAdminClient } from './support/postgres';

// The webhook answers a token it has validated from memory. These are the promises that cache
// keeps: every change that alters an answer shows on the very next call to the instance that made
// it, and within a second on every other instance.

interface Subject {
  id: number;
  token: string;
  role: string;
}

/** A user holding an extra role, whose token the webhook (of `target`) has already answered, so that it is cached. */
async function cachedSubject(app: TestApp, target: HttpTarget = app): Promise<Subject> {
  const role = uniqueRoleName();
  await createRole(app, role);
  const user = await createUserAsAdmin(app, { roles: [role] });
  for (let call = 0; call < 2; call += 1) expect((await webhookGet(target, user.token, { role })).status).toBe(200);
  return { id: user.id, token: user.token, role };
}

/**
 * Disables the subject in SQL, as an operator would, so that no instance forgets it itself: only
 * a notice, a time limit or a recorded use can show it. Polls the webhook (never timed) until it
 * refuses the subject, for at most `withinMs`; answers its last answer.
 */
async function answerAfterDisablingInSql(app: TestApp, subject: Subject, withinMs?: number) {
  await app.database.db('users').update({ disabled: true }).where({ id: subject.id });
  return eventually(
    async () => statusAndBody(await webhookGet(app, subject.token, { role: subject.role })),
    (res) => res.status === 401,
    withinMs,
  );
}

const admin = (app: TestApp) => ({
  patch: (id: number, body: object) => request(app.http).patch(`/admin/users/${id}`).set(withAdminSecret).send(body),
  delete: (path: string) => request(app.http).delete(path).set(withAdminSecret),
});

/** Each change, with what the webhook must answer for the subject (asking for the subject's extra role) afterwards. */
const changes: [string, (app: TestApp, subject: Subject) => Promise<unknown>, (res: request.Response) => void][] = [
  [
    'logout',
    (app, s) => request(app.http).post('/logout').set(bearer(s.token)),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    'logout everywhere',
    (app, s) => request(app.http).post('/logout/all').set(bearer(s.token)),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    'a password change',
    (app, s) => changePassword(app, s.token, { newPassword: 'another long password' }),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    'the revocation of the role',
    (app, s) => admin(app).delete(`/admin/users/${s.id}/roles/${s.role}`),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    'the deletion of the role',
    (app, s) => admin(app).delete(`/admin/roles/${s.role}`),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    'a change of session variables',
    (app, s) => admin(app).patch(s.id, { sessionVariables: { 'x-hasura-org-id': 'org-7' } }),
    (res) => expect(res.body['X-Hasura-Org-Id']).toBe('org-7'),
  ],
  [
    'disabling the user',
    (app, s) => admin(app).patch(s.id, { disabled: true }),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    'deleting the user',
    (app, s) => admin(app).delete(`/admin/users/${s.id}`),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
  [
    "an admin's order to end the sessions",
    (app, s) => admin(app).delete(`/admin/users/${s.id}/sessions`),
    (res) => expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL),
  ],
];

/** Changes an operator makes in SQL to a session itself, each of which ends it; no instance makes them itself. */
const sessionChangesInSql: [string, (app: TestApp, subject: Subject) => Promise<unknown>][] = [
  [
    'an expiry shortened',
    (app, s) =>
      app.database
        .db('sessions')
        .update({ expires_at: new Date(app.clock.now().getTime() - 1000) })
        .where({ token_hash: hashSessionToken(s.token) }),
  ],
  [
    'a last use moved back past the idle timeout',
    (app, s) =>
      app.database
        .db('sessions')
        .update({ last_used_at: new Date(app.clock.now().getTime() - 3650 * 86400_000) })
        .where({ token_hash: hashSessionToken(s.token) }),
  ],
  [
    'a session given to another user',
    async (app, s) => {
      const other = await signUp(app);
      await app.database
        .db('sessions')
        .update({ user_id: other.id })
        .where({ token_hash: hashSessionToken(s.token) });
    },
  ],
];

describe('the webhook cache', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  it.each(changes)('shows %s on the very next call to the same instance', async (_change, change, expectAnswer) => {
    const subject = await cachedSubject(app);
    await change(app, subject);
    expectAnswer(await webhookGet(app, subject.token, { role: subject.role }));
  });

  it('shows a change of default role on the very next call', async () => {
    const subject = await cachedSubject(app);
    expect((await webhookGet(app, subject.token)).body['X-Hasura-Role']).toBe('user');
    expect((await admin(app).patch(subject.id, { defaultRole: subject.role })).status).toBe(200);
    expect((await webhookGet(app, subject.token)).body['X-Hasura-Role']).toBe(subject.role);
  });

  it('shows a role granted after the token was cached on the very next call', async () => {
    const user = await signUp(app);
    const role = uniqueRoleName();
    await createRole(app, role);
    expect(statusAndBody(await webhookGet(app, user.token, { role }))).toEqual(WEBHOOK_REFUSAL);
    expect((await webhookGet(app, user.token)).status).toBe(200);
    expect((await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
      204,
    );
    // Granting a role ends the sessions by default; a new login holds it.
    const token = await logInToken(app, user.username);
    expect((await webhookGet(app, token, { role })).body['X-Hasura-Role']).toBe(role);
  });

  it('refuses a token on every call after its logout answered, while calls with it are in flight and recording its use', async () => {
    for (let round = 0; round < 5; round += 1) {
      const user = await signUp(app);
      expect((await webhookGet(app, user.token)).status).toBe(200);
      // Due for its use to be recorded: the calls in flight write while the logout deletes.
      app.clock.advanceSeconds(app.config.sessions.touchIntervalSeconds + 1);
      const inFlight = Array.from({ length: 20 }, () => webhookGet(app, user.token).then((res) => res.status));
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);
      const after = await Promise.all(Array.from({ length: 20 }, () => webhookGet(app, user.token)));
      expect(after.map((res) => res.status)).toEqual(Array(20).fill(401));
      for (const status of await Promise.all(inFlight)) expect([200, 401]).toContain(status);
    }
  });

  it('shows a change an operator made in SQL within a second', async () => {
    const subject = await cachedSubject(app);
    const answer = await answerAfterDisablingInSql(app, subject);
    expect(answer).toEqual(WEBHOOK_REFUSAL);
  });

  it('answers a cached token without a query until its use is due to be recorded, then with one write', async () => {
    const subject = await cachedSubject(app);
    const answerCalls = (calls: number) =>
      statementsDuring(app.database.db, async () => {
        for (let call = 0; call < calls; call += 1) expect((await webhookGet(app, subject.token)).status).toBe(200);
      });
    expect(await answerCalls(5)).toEqual([]);
    app.clock.advanceSeconds(app.config.sessions.touchIntervalSeconds);
    expect(await answerCalls(1)).toEqual(['update']);
    // The cache now holds the session as that write left it: no query again for a while.
    expect(await answerCalls(3)).toEqual([]);
  });

  // Lookups and recorded uses come in bursts (when cached sessions' time limits run out together,
  // after a quiet spell): those asked for in one turn of the event loop share one statement.
  it('looks up the tokens asked for in one turn with one statement, and answers each asker for its own token', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => signUp(app)));
    const loggedOut = await signUp(app);
    expect((await request(app.http).post('/logout').set(bearer(loggedOut.token))).status).toBe(204);
    const validate = (token: string) => app.services.sessions.validateSessionToken(token);
    const lookups = await statementsDuring(app.database.db, async () => {
      const answers = await Promise.all([...users, loggedOut].map((user) => validate(user.token)));
      expect(answers.map((answer) => answer?.user.id)).toEqual([...users.map((user) => user.id), undefined]);
    });
    expect(lookups).toEqual(['select']);

    // Their uses come due together: one write records them all, each once.
    app.clock.advanceSeconds(app.config.sessions.touchIntervalSeconds);
    const renewals = await statementsDuring(app.database.db, async () => {
      const renewed = await Promise.all([...users, users[0]!].map((user) => validate(user.token)));
      expect(renewed.map((answer) => answer?.user.id)).toEqual([...users, users[0]!].map((user) => user.id));
      expect(renewed.map((answer) => answer?.renewed)).toEqual([...users.map(() => true), false]);
    });
    expect(renewals).toEqual(['select', 'update']);
  });

  it('forgets the session or the user a notice names, and nothing for a notice it cannot read', async () => {
    const [subject, witness] = [await cachedSubject(app), await cachedSubject(app)];
    const sessionOf = async ({ token }: Subject) =>
      (
        await app.database
          .db('sessions')
          .select('id')
          .where({ token_hash: hashSessionToken(token) })
          .first<{ id: string }>()
      ).id;
    const witnessSession = await sessionOf(witness);
    // Changes that no trigger reports (replica mode turns triggers off), so that only the notices
    // sent below can show them.
    await app.database.db.transaction(async (trx) => {
      await trx.raw('set local session_replication_role = replica');
      await trx('users').update({ disabled: true }).where({ id: subject.id });
      await trx('sessions')
        .update({ expires_at: new Date(app.clock.now().getTime() - 1000) })
        .where({ id: witnessSession });
    });
    const notify = (payload: string) => app.database.db.raw('select pg_notify(?, ?)', [INVALIDATION_CHANNEL, payload]);
    const answer = async ({ token, role }: Subject) => statusAndBody(await webhookGet(app, token, { role }));

    for (const payload of [`u:${subject.id}0`, `u:${subject.id}x`, `U:${subject.id}`, `${subject.id}`, 'u:', 's:']) {
      await notify(payload);
    }
    // Notices arrive in the order they were sent: once this one is heard, so were those above.
    await notify(`s:${witnessSession}`);
    expect(
      await eventually(
        () => answer(witness),
        (res) => res.status === 401,
      ),
    ).toEqual(WEBHOOK_REFUSAL);
    expect((await answer(subject)).status).toBe(200);

    await notify(`u:${subject.id}`);
    expect(
      await eventually(
        () => answer(subject),
        (res) => res.status === 401,
      ),
    ).toEqual(WEBHOOK_REFUSAL);
  });

  it('refuses a spray of tokens it never issued without a query and without caching any', async () => {
    const subject = await cachedSubject(app);
    const cachedBefore = app.services.sessionCache!.size;
    const forged = [
      ...Array.from({ length: 50 }, () => randomBytes(48).toString('base64url')),
      // The length of a token from before tokens carried a MAC; none is left in this database.
      ...Array.from({ length: 50 }, () => randomBytes(32).toString('base64url')),
    ];
    const statements = await statementsDuring(app.database.db, async () => {
      for (const token of forged) expect(statusAndBody(await webhookGet(app, token))).toEqual(WEBHOOK_REFUSAL);
    });
    expect(statements).toEqual([]);
    expect(app.services.sessionCache!.size).toBe(cachedBefore);
    expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
  });

  it('refuses a token it never issued on the API routes too, without a query', async () => {
    const forged = randomBytes(48).toString('base64url');
    const statements = await statementsDuring(app.database.db, async () => {
      const res = await request(app.http).get('/me').set(bearer(forged));
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });
    expect(statements).toEqual([]);
  });
});

/**
 * The real listener, except that every notice of a change is held until `release()`, as from a
 * database whose notices are slow to come: only what the instance itself does about its own
 * changes can show them.
 */
function heldNotices() {
  const held: (() => void)[] = [];
  const listen: typeof listenForInvalidations = (db, handlers, logger) => {
    const holding: InvalidationHandlers = {
      ...handlers,
      sessionChanged: (sessionId) => void held.push(() => handlers.sessionChanged(sessionId)),
      userChanged: (userId) => void held.push(() => handlers.userChanged(userId)),
    };
    return listenForInvalidations(db, holding, logger);
  };
  return {
    listen,
    held: () => held.length,
    release: () => held.splice(0).forEach((deliver) => deliver()),
  };
}

describe('the webhook cache of the instance that made a change, before any notice of it arrives', () => {
  const notices = heldNotices();
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET }, { listenForInvalidations: notices.listen });
  });
  afterAll(() => app.close());
  afterEach(() => notices.release());

  /** A subject cached after every notice so far was delivered: what the change does is all that is held. */
  async function subjectCachedWithNothingHeld(): Promise<Subject> {
    const subject = await cachedSubject(app);
    notices.release();
    expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
    return subject;
  }

  /**
   * The change did send notices, which other instances rely on, and none was delivered here. A
   * notice can reach the listener after the change has answered: PostgreSQL sends it on commit.
   */
  async function expectNoticesHeld() {
    expect(
      await eventually(
        () => Promise.resolve(notices.held()),
        (held) => held > 0,
      ),
    ).toBeGreaterThan(0);
  }

  it.each(changes)('shows %s on the very next call', async (_change, change, expectAnswer) => {
    const subject = await subjectCachedWithNothingHeld();
    await change(app, subject);
    expectAnswer(await webhookGet(app, subject.token, { role: subject.role }));
    await expectNoticesHeld();
  });

  it('shows a change of default role on the very next call', async () => {
    const subject = await subjectCachedWithNothingHeld();
    expect((await webhookGet(app, subject.token)).body['X-Hasura-Role']).toBe('user');
    expect((await admin(app).patch(subject.id, { defaultRole: subject.role })).status).toBe(200);
    expect((await webhookGet(app, subject.token)).body['X-Hasura-Role']).toBe(subject.role);
    await expectNoticesHeld();
  });

  // The write that records a use checks the session as the lookup would: it never keeps alive,
  // nor caches afresh, a session that ended while its notice was on the way.
  it.each([
    [
      'its user was disabled',
      (db: TestApp['database']['db'], s: Subject) => db('users').update({ disabled: true }).where({ id: s.id }),
    ],
    [
      'its sessions were ended',
      (db: TestApp['database']['db'], s: Subject) => db('users').increment('session_epoch', 1).where({ id: s.id }),
    ],
  ])('refuses a cached session whose use is due once %s in SQL, notice or not', async (_change, change) => {
    const subject = await subjectCachedWithNothingHeld();
    // Another user just like the subject, left alone: the write must look at the subject's own row.
    await subjectCachedWithNothingHeld();
    await change(app.database.db, subject);
    // Within the touch interval the cache answers, as it may until the notice comes.
    expect((await webhookGet(app, subject.token)).status).toBe(200);
    app.clock.advanceSeconds(app.config.sessions.touchIntervalSeconds);
    expect(statusAndBody(await webhookGet(app, subject.token))).toEqual(WEBHOOK_REFUSAL);
    expect(statusAndBody(await webhookGet(app, subject.token))).toEqual(WEBHOOK_REFUSAL);
  });
});

describe('tokens issued before tokens carried a MAC', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('are answered while such a session lives, and refused without a query once none is left', async () => {
    const legacyToken = randomBytes(32).toString('base64url');
    const user = await signUp(app);
    const now = app.clock.now();
    const id = '00000000-0000-4000-8000-000000000001';
    await app.database.db('sessions').insert({
      id,
      token_hash: hashSessionToken(legacyToken),
      user_id: user.id,
      created_at: now,
      last_used_at: now,
      expires_at: new Date(now.getTime() + 3600_000),
      user_epoch: 0,
      token_mac: false,
    });
    // Whether any is left is read at start and after each purge.
    await app.services.purgeDeadSessions();
    expect((await webhookGet(app, legacyToken)).body['X-Hasura-User-Id']).toBe(String(user.id));

    await app.database.db('sessions').delete().where({ id });
    await app.services.purgeDeadSessions();
    // The answer above was cached; PostgreSQL sends the deletion's notice on commit, so it may
    // come after the next call. Once the cache has heard it, no query is left to make.
    await eventually(
      async () => statusAndBody(await webhookGet(app, legacyToken)),
      (res) => res.status === 401,
    );
    const statements = await statementsDuring(app.database.db, async () => {
      expect(statusAndBody(await webhookGet(app, legacyToken))).toEqual(WEBHOOK_REFUSAL);
    });
    expect(statements).toEqual([]);
  });
});

describe('the webhook cache across instances sharing the database', () => {
  let app: TestApp;
  let peer: HttpTarget;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
    peer = { http: await startPeerInstance(app) };
  });
  afterAll(() => app.close());

  it.each(changes)(
    'shows %s made on one instance on the other within a second',
    async (_change, change, expectAnswer) => {
      const subject = await cachedSubject(app, peer);
      await change(app, subject);
      let last: request.Response | undefined;
      await eventually(
        async () => (last = await webhookGet(peer, subject.token, { role: subject.role })),
        (res) => {
          try {
            expectAnswer(res);
            return true;
          } catch {
            return false;
          }
        },
      );
      expectAnswer(last!);
    },
  );

  it.each(sessionChangesInSql)('shows %s in SQL on both instances within a second', async (_change, change) => {
    const subject = await cachedSubject(app, peer);
    expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
    await change(app, subject);
    for (const target of [peer, app]) {
      const answer = await eventually(
        async () => statusAndBody(await webhookGet(target, subject.token, { role: subject.role })),
        (res) => res.status === 401,
      );
      expect(answer).toEqual(WEBHOOK_REFUSAL);
    }
  });

  if (globalThis.TEST_DATABASE_KIND === 'postgres') {
    it('reads the database, and so misses no change, while its listening connection is lost', async () => {
      const subject = await cachedSubject(app, peer);
      // Every instance's listener; the one the peer depends on is among them.
      const database = new URL(app.database.env.DATABASE_URL!).pathname.slice(1);
      await withAdminClient((client) =>
        client.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2',
          [database, LISTENER_APPLICATION_NAME],
        ),
      );
      expect((await admin(app).patch(subject.id, { disabled: true })).status).toBe(200);
      const answer = await eventually(
        async () => statusAndBody(await webhookGet(peer, subject.token, { role: subject.role })),
        (res) => res.status === 401,
      );
      expect(answer).toEqual(WEBHOOK_REFUSAL);
    });

    it('listens again after losing its connection, then answers from its cache again and hears changes again', async () => {
      const subject = await cachedSubject(app);
      const cache = app.services.sessionCache!;
      const cachedAfterACall = async () => {
        expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
        return cache.size;
      };
      // Listening now (the cache holds only while it is), even if an earlier test cut the connection.
      expect(await eventually(cachedAfterACall, (size) => size > 0, 5_000)).toBeGreaterThan(0);
      const database = new URL(app.database.env.DATABASE_URL!).pathname.slice(1);
      const logged = app.logLines.length;
      await withAdminClient((client) =>
        client.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2',
          [database, LISTENER_APPLICATION_NAME],
        ),
      );
      // The listener stops trusting the cache, and empties it, before it logs the loss.
      const lossLogged = () =>
        Promise.resolve(app.logLines.slice(logged).find((line) => line.includes('listener lost its connection')));
      const lossLine = await eventually(lossLogged, (line) => line !== undefined, 5_000);
      // The operator reads when it tries again: the first retry comes after 100 ms.
      expect(JSON.parse(lossLine!)).toMatchObject({ level: 40, retryInMs: 100 });
      // Listening again: calls fill the cache once more.
      expect(await eventually(cachedAfterACall, (size) => size > 0, 5_000)).toBeGreaterThan(0);
      // And it listens on its own database and channel: a change no instance made, in SQL, ends
      // the cached session within a second, long before the cache's time limit (10 s).
      const answer = await answerAfterDisablingInSql(app, subject);
      expect(answer).toEqual(WEBHOOK_REFUSAL);
    });
  }
});

/**
 * The real listener, connecting through 127.0.0.1:`port` (a proxy) instead of to the database
 * itself; the pool still reaches the database directly.
 */
function listenerThrough(port: number): typeof listenForInvalidations {
  return (db, handlers, logger) => {
    const connection = (db.client as { config: { connection: { connectionString: string } } }).config.connection;
    const url = new URL(connection.connectionString);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const proxied = { client: { config: { connection: { ...connection, connectionString: url.toString() } } } };
    return listenForInvalidations(proxied as unknown as Database, handlers, logger);
  };
}

/** A port on 127.0.0.1 that nothing listens on, for now. */
async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP proxy to the test database that can stop passing bytes without closing anything, as a
 * connection does whose far end is gone without a word (a half-open TCP connection).
 */
async function stallingProxy(to: URL, port = 0) {
  let stalled = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(to.port || 5432), to.hostname);
    for (const [from, into] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => void (stalled || into.write(chunk)));
      from.on('error', () => into.destroy());
      from.on('close', () => into.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const via = new URL(to);
  via.hostname = '127.0.0.1';
  via.port = String((server.address() as net.AddressInfo).port);
  return {
    url: via.toString(),
    stall: () => void (stalled = true),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (globalThis.TEST_DATABASE_KIND === 'postgres') {
  describe('the webhook cache of an instance whose listening connection stops answering', () => {
    let app: TestApp;
    let proxy: Awaited<ReturnType<typeof stallingProxy>>;
    beforeAll(async () => {
      proxy = await stallingProxy(new URL(testDatabaseUrl()));
      // A time limit far beyond the test: only the heartbeat can end the cache's trust.
      app = await startTestApp(
        { ADMIN_SECRET, WEBHOOK_CACHE_TTL_SECONDS: '3600' },
        { listenForInvalidations: listenerThrough(Number(new URL(proxy.url).port)) },
      );
    });
    afterAll(async () => {
      await proxy.close();
      await app.close();
    });

    it('stops trusting its cache within seconds, and so shows a change whose notice cannot reach it', async () => {
      const subject = await cachedSubject(app);
      const cache = app.services.sessionCache!;
      // Listening (the cache holds only then), and the subject cached.
      const cachedAfterACall = async () => {
        expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
        return cache.size;
      };
      expect(await eventually(cachedAfterACall, (size) => size > 0, 5_000)).toBeGreaterThan(0);
      proxy.stall();
      // A heartbeat every 2 s that gives up after 2 s: about 4 s. Polled for longer, never timed.
      const answer = await answerAfterDisablingInSql(app, subject, 15_000);
      expect(answer).toEqual(WEBHOOK_REFUSAL);
    });
  });
}

if (globalThis.TEST_DATABASE_KIND === 'postgres') {
  describe('the webhook cache of an instance whose notices are lost', () => {
    // Held and never delivered, as notices sent while a connection reconnects are lost.
    const notices = heldNotices();
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(
        { ADMIN_SECRET, WEBHOOK_CACHE_TTL_SECONDS: '1' },
        { listenForInvalidations: notices.listen },
      );
    });
    afterAll(() => app.close());

    it('shows a change made in SQL once the time limit of its cached answer (WEBHOOK_CACHE_TTL_SECONDS) runs out', async () => {
      const subject = await cachedSubject(app);
      // The test's clock stands still, so no use of the session is due to be recorded (and checked).
      const answer = await answerAfterDisablingInSql(app, subject, 5_000);
      expect(answer).toEqual(WEBHOOK_REFUSAL);
      // Its notice came and was lost: the time limit alone ended the cached answer.
      expect(notices.held()).toBeGreaterThan(0);
    });
  });
}

if (globalThis.TEST_DATABASE_KIND === 'postgres') {
  describe('the webhook cache of an instance whose listener cannot connect at start', () => {
    it('reads the database until its listener connects, then answers from its cache; each refusal doubles the wait, a connection resets it', async () => {
      const port = await unusedPort();
      const app = await startTestApp({ ADMIN_SECRET }, { listenForInvalidations: listenerThrough(port) });
      const retriesLogged = (from: number) => () =>
        Promise.resolve(
          app.logLines
            .slice(from)
            .filter((line) => line.includes('listener lost its connection'))
            .map((line) => (JSON.parse(line) as { retryInMs: number }).retryInMs),
        );
      try {
        const subject = await cachedSubject(app);
        const cache = app.services.sessionCache!;
        // Refused at every try so far: the cache is not trusted, so it keeps nothing.
        expect(cache.size).toBe(0);
        // It keeps trying, every 100 ms at first, doubling up to 5 s: what each refusal logs.
        const refused = await eventually(retriesLogged(0), (delays) => delays.length >= 4, 10_000);
        expect(refused.slice(0, 4)).toEqual([100, 200, 400, 800]);
        const proxy = await stallingProxy(new URL(testDatabaseUrl()), port);
        try {
          const cachedAfterACall = async () => {
            expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
            return cache.size;
          };
          // Polled, never timed.
          expect(await eventually(cachedAfterACall, (size) => size > 0, 15_000)).toBeGreaterThan(0);
          // Connected, the next loss is retried soon again, not after the longest wait so far.
          const logged = app.logLines.length;
          const database = new URL(app.database.env.DATABASE_URL!).pathname.slice(1);
          await withAdminClient((client) =>
            client.query(
              'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2',
              [database, LISTENER_APPLICATION_NAME],
            ),
          );
          const [retryAfterLoss] = await eventually(retriesLogged(logged), (delays) => delays.length >= 1, 5_000);
          expect(retryAfterLoss).toBe(100);
        } finally {
          await proxy.close();
        }
      } finally {
        await app.close();
      }
    });
  });
}

if (globalThis.TEST_DATABASE_KIND === 'pglite') {
  describe('the webhook cache on embedded PGlite', () => {
    // Its notices come from this very process and cannot be lost, so the time limit, a backstop
    // for lost notices, is off: a cached session costs no query however long it stays cached,
    // and a change is still heard at once. (The app starts in the test, so that mutation testing
    // sees which tests its listener's start-up serves.)
    it('keeps a cached answer past WEBHOOK_CACHE_TTL_SECONDS and a listener heartbeat with no query, and still hears a change made in SQL', async () => {
      const app = await startTestApp({ ADMIN_SECRET, WEBHOOK_CACHE_TTL_SECONDS: '1' });
      try {
        const subject = await cachedSubject(app);
        // Past the time limit (1 s) and the listener's first heartbeat (2 s).
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        const statements = await statementsDuring(app.database.db, async () => {
          expect((await webhookGet(app, subject.token, { role: subject.role })).status).toBe(200);
        });
        expect(statements).toEqual([]);

        const answer = await answerAfterDisablingInSql(app, subject);
        expect(answer).toEqual(WEBHOOK_REFUSAL);
      } finally {
        await app.close();
      }
    });
  });
}
