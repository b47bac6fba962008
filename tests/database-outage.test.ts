import { Client } from 'pg';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { silentLogger } from './support/logs';
import { startServer, type RunningServer } from '../src/server';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { createTestDatabase, type TestDatabase } from './support/database';
import { eventually } from './support/eventually';
import { capturingLogger } from './support/logs';
import { WEBHOOK_MODES, logIn, webhookGet } from './support/requests';
import { expectCleanErrorBody } from './support/responses';
import {
  PASSWORD,
  bearer,
  signUp,
  startTestApp,
  uniqueUsername,
  type SignedUpUser,
  type TestApp,
} from './support/test-app';

describe('a session the webhook has cached, when the database goes away', () => {
  let app: TestApp;
  afterAll(() => app.close());

  // Its cache is trusted only while it hears of every change, which it cannot once the database
  // is gone: the answer then needs the database, so it is a 503, not a stale 200.
  it('is answered 503 DATABASE_UNAVAILABLE once the instance notices, not from memory', async () => {
    app = await startTestApp();
    const user = await signUp(app);
    expect((await webhookGet(app, user.token)).status).toBe(200);
    expect(app.services.sessionCache!.size).toBe(1);
    await app.database.simulateOutage();
    // Noticed at once on PostgreSQL (the listening connection ends), within a heartbeat (2 s) on
    // PGlite. Polled for longer, never timed.
    const res = await eventually(
      () => webhookGet(app, user.token),
      (answer) => answer.status !== 200,
      10_000,
    );
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });
});

describe('during a database outage', () => {
  // The outage breaks the database for good, so this app is used for nothing else.
  let app: TestApp;
  let user: SignedUpUser;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
    user = await signUp(app);
    await app.database.simulateOutage();
  });
  afterAll(() => app.close());

  // Each of these reads a failed write as a client's mistake when it misclassifies the failure.
  it.each<[string, () => request.Test]>([
    ['a role created (not 409)', () => request(app.http).post('/admin/roles').send({ name: 'outage-role' })],
    [
      'a user created (not 409 or 404)',
      () => request(app.http).post('/admin/users').send({ username: uniqueUsername(), password: PASSWORD }),
    ],
    ['a user changed (not 404)', () => request(app.http).patch(`/admin/users/${user.id}`).send({ disabled: true })],
    ['a user deleted (not 404)', () => request(app.http).delete(`/admin/users/${user.id}`)],
    ['a role granted (not 404)', () => request(app.http).put(`/admin/users/${user.id}/roles/admin`)],
    ['a role deleted (not 404)', () => request(app.http).delete('/admin/roles/outage-role')],
  ])('answers the admin API with %s with 503 DATABASE_UNAVAILABLE', async (_label, send) => {
    const res = await send().set(withAdminSecret);
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it.each([
    ['the right', PASSWORD],
    ['a wrong', 'wrong password'],
  ])('answers /login with %s password with 503 DATABASE_UNAVAILABLE, not 401', async (_label, password) => {
    const res = await logIn(app, user.username, password);
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    // The operator's line names the failure underneath, not a second-hand "unavailable".
    const logged = app.logLines
      .map((line) => JSON.parse(line) as { code?: string; err?: { type?: string } })
      .filter((record) => record.code === 'DATABASE_UNAVAILABLE');
    expect(logged.at(-1)?.err?.type).toBe('DatabaseError');
  });

  it('answers /signup with 503 DATABASE_UNAVAILABLE, not 401 or 409', async () => {
    const res = await request(app.http).post('/signup').send({ username: uniqueUsername(), password: PASSWORD });
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers /me with a valid token with 503 DATABASE_UNAVAILABLE, not 401, and no WWW-Authenticate header', async () => {
    const res = await request(app.http).get('/me').set(bearer(user.token));
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it.each(WEBHOOK_MODES)(
    'answers the webhook in %s mode with a valid token with 503 DATABASE_UNAVAILABLE, never 401 or anonymous',
    async (_mode, send) => {
      const res = await send(app, user.token);
      expect(res.status).toBe(503);
      expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    },
  );

  it.each(WEBHOOK_MODES)(
    'answers the webhook in %s mode without credentials with the anonymous role, which needs no database',
    async (_mode, send) => {
      const res = await send(app);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ 'X-Hasura-Role': 'anonymous' });
    },
  );

  it.each(WEBHOOK_MODES)(
    'answers the webhook in %s mode with a token of the wrong shape with 401 {}, which needs no database',
    async (_mode, send) => {
      const res = await send(app, 'not-a-token');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({});
    },
  );

  it('still refuses a malformed request with 400 VALIDATION_FAILED before touching the database', async () => {
    const res = await request(app.http).post('/login').send({ username: user.username });
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
  });
});

// PostgreSQL only: embedded PGlite runs in this process, one query at a time, and has no
// statement timeout to test.
if (globalThis.TEST_DATABASE_KIND === 'postgres') {
  describe('when the database is stuck', () => {
    let database: TestDatabase;
    let server: RunningServer;
    let lockHolder: Client;
    let logLines: string[] = [];
    beforeAll(async () => {
      database = await createTestDatabase(silentLogger());
      const config = loadConfig({
        DATABASE_URL: database.env.DATABASE_URL,
        DATABASE_POOL_MAX: '1',
        DATABASE_STATEMENT_TIMEOUT_MS: '1000',
        DATABASE_ACQUIRE_TIMEOUT_MS: '100',
        ADMIN_SECRET,
        BCRYPT_COST: '4',
        HOST: '127.0.0.1',
        PORT: '0',
      });
      const { logger, lines } = capturingLogger('error');
      logLines = lines;
      server = await startServer({ config, logger });
      // A transaction that never ends holds a lock that every read of users waits for.
      lockHolder = new Client({ connectionString: database.env.DATABASE_URL });
      await lockHolder.connect();
      await lockHolder.query('begin');
      await lockHolder.query('lock table auth.users in access exclusive mode');
    });
    afterAll(async () => {
      await lockHolder.end();
      await server.close();
      await database.dispose();
    });

    it('answers 503 DATABASE_UNAVAILABLE once the statement timeout cancels the query, and again to a request that waited for the only pooled connection', async () => {
      const [waitingOnTheLock, waitingForAConnection] = await Promise.all([
        request(server.url).get('/admin/users/1').set(withAdminSecret),
        request(server.url).get('/admin/users/1').set(withAdminSecret),
      ]);
      expect(waitingOnTheLock.status).toBe(503);
      expectCleanErrorBody(waitingOnTheLock, 'DATABASE_UNAVAILABLE');
      expect(waitingForAConnection.status).toBe(503);
      expectCleanErrorBody(waitingForAConnection, 'DATABASE_UNAVAILABLE');
      // PostgreSQL cancelled the statement itself (SQLSTATE 57014, query_canceled).
      expect(logLines.join('')).toContain('SQLSTATE 57014');
    });
  });
}
