import pino from 'pino';
import request from 'supertest';
import { withClassifiedFailures } from '../src/db/database-errors';
import { AppError } from '../src/errors';
import { silentLogger } from './support/logs';
import { createTestDatabase, type TestDatabase } from './support/database';
import { expectCleanErrorBody } from './support/responses';
import { webhookGet } from './support/requests';
import { PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

describe('database failures as the database layer lets them out', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(silentLogger());
  });
  afterAll(() => database.dispose());

  it('carry no statement values into a log line', async () => {
    const secret = 'a-username-or-token-hash-1234';
    const failing = withClassifiedFailures({
      lookup: () => database.db.raw('select ?::integer', [secret]),
    });
    const error = await failing.lookup().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toBe('22P02');
    const logged = JSON.stringify(pino.stdSerializers.err(error as Error));
    expect(logged).toContain('22P02');
    expect(logged).not.toContain(secret);
  });

  it('turn a NUL in stored text into 400 VALIDATION_FAILED', async () => {
    const failing = withClassifiedFailures({
      store: () => database.db.raw('select ?::jsonb', [JSON.stringify({ value: 'a\u0000b' })]),
    });
    const error = await failing.store().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('VALIDATION_FAILED');
    expect((error as AppError).message).toBe('The request holds a character that cannot be stored.');
  });
});

describe('an unforeseen database failure behind a request', () => {
  const CONSTRAINT = 'username_not_reserved';
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    // An operator's constraint the service knows nothing of: its failure is nobody's 4xx.
    await app.database.db.raw(`alter table users add constraint ${CONSTRAINT} check (username not like 'reserved-%')`);
  });
  afterAll(() => app.close());

  it('answers 500 INTERNAL_ERROR and logs the statement, SQLSTATE, table and constraint, with stack frames and without the values', async () => {
    const username = uniqueUsername('reserved');
    const res = await request(app.http).post('/signup').send({ username, password: PASSWORD });
    expect(res.status).toBe(500);
    expectCleanErrorBody(res, 'INTERNAL_ERROR');

    const logged = app.logLines
      .map(
        (line) =>
          JSON.parse(line) as { code?: string; err?: { type: string; message: string; stack: string; code: string } },
      )
      .find((line) => line.code === 'INTERNAL_ERROR');
    expect(logged?.err).toMatchObject({ type: 'DatabaseError', code: '23514' });
    const { message, stack } = logged!.err!;
    expect(message).toMatch(
      new RegExp(`^insert into "users" .* - SQLSTATE 23514 - table users - constraint ${CONSTRAINT}$`),
    );
    const [first, ...frames] = stack.split('\n');
    expect(first).toBe(`DatabaseError: ${message}`);
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(frame).toMatch(/^ {4}at /);
    expect(app.logLines.join('\n')).not.toContain(username);
  });
});

describe('an unforeseen database failure behind a webhook call', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('answers 500 INTERNAL_ERROR, never 401 or the anonymous role, and logs the request as an error', async () => {
    const user = await signUp(app);
    // A schema the lookup cannot run against, as after a botched manual change: SQLSTATE 42883,
    // no operator text + interval. Not an outage, so not 503 either.
    await app.database.db.raw('drop trigger sessions_notify_shortened on sessions');
    await app.database.db.raw('alter table sessions alter column last_used_at type text');
    const res = await webhookGet(app, user.token).set('x-request-id', 'broken-schema');
    expect(res.status).toBe(500);
    expectCleanErrorBody(res, 'INTERNAL_ERROR');
    const completed = app.logLines
      .map((line) => JSON.parse(line) as { level: number; req?: { id: string }; res?: { statusCode: number } })
      .find((line) => line.req?.id === 'broken-schema' && line.res !== undefined);
    expect(completed).toMatchObject({ level: 50, res: { statusCode: 500 } });
  });
});
