import { withClassifiedFailures } from '../../src/db/database-errors';
import { AppError } from '../../src/errors';

// Which failures mean "the database is unavailable" decides between a 503, which a client retries,
// and a 500 or worse. Most of them cannot be made on demand against a real database (a host that
// is unreachable, a server shutting down), so they are built here in the shapes pg, knex and
// PGlite throw; tests/database-errors.test.ts and tests/database-outage.test.ts make the ones a
// test database can.

/** What a repository method lets out when its query fails with `error`. */
async function classified(error: unknown): Promise<unknown> {
  const repository = withClassifiedFailures({
    // eslint-disable-next-line @typescript-eslint/require-await -- a query's failure is a rejection
    query: async () => {
      throw error;
    },
  });
  return repository.query().then(
    () => {
      throw new Error('the query should have failed');
    },
    (caught: unknown) => caught,
  );
}

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('database failures that mean the database is unavailable', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
  ])('the network error %s is DATABASE_UNAVAILABLE', async (code) => {
    const error = await classified(withCode(code));
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('DATABASE_UNAVAILABLE');
    // For the log line of the 503: what failed, without the statement's values.
    expect((error as AppError).cause).toMatchObject({ name: 'DatabaseError', code, message: `SQLSTATE ${code}` });
  });

  it.each([
    ['08006', 'a connection failure'],
    ['53300', 'too many connections'],
    ['57P01', 'an administrator shutdown'],
    ['57014', 'a statement cancelled by statement_timeout'],
    ['55P03', 'a lock not obtained in time'],
    ['3D000', 'a database that does not exist'],
    ['28P01', 'a password refused'],
    ['55000', 'a database not accepting connections'],
  ])('SQLSTATE %s (%s) is DATABASE_UNAVAILABLE', async (code) => {
    expect(((await classified(withCode(code))) as AppError).code).toBe('DATABASE_UNAVAILABLE');
  });

  it.each([
    'Unable to acquire a connection',
    'Connection terminated unexpectedly',
    'Client has encountered a connection error and is not queryable',
    'PGlite is closed',
    'timeout exceeded when trying to connect',
  ])('the driver message "%s" is DATABASE_UNAVAILABLE', async (message) => {
    expect(((await classified(new Error(message))) as AppError).code).toBe('DATABASE_UNAVAILABLE');
  });

  it("is DATABASE_UNAVAILABLE for knex's pool timeout, which it tells by name", async () => {
    const timeout = Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' });
    expect(((await classified(timeout)) as AppError).code).toBe('DATABASE_UNAVAILABLE');
  });

  it('is DATABASE_UNAVAILABLE for an outage found in the cause of a wrapping error', async () => {
    const wrapped = new Error('query failed', { cause: new Error('wrapped', { cause: withCode('ECONNRESET') }) });
    expect(((await classified(wrapped)) as AppError).code).toBe('DATABASE_UNAVAILABLE');
  });
});

describe('database failures that do not', () => {
  it.each([
    ['23505', 'a unique violation'],
    ['42P01', 'a table that does not exist'],
    ['22P02', 'a value of the wrong type'],
    ['22008', 'a code holding 08 past its start'],
  ])('SQLSTATE %s (%s) is a DatabaseError carrying its code', async (code) => {
    const error = await classified(withCode(code));
    expect(error).not.toBeInstanceOf(AppError);
    expect(error).toMatchObject({ name: 'DatabaseError', code, message: `SQLSTATE ${code}` });
  });

  it('keeps the statement knex puts before its message, and the names of the schema objects', async () => {
    const error = Object.assign(new Error('insert into "users" ("username") values ($1) - duplicate key value'), {
      code: '23505',
      table: 'users',
      constraint: 'users_username_key',
      column: 42,
    });
    expect(await classified(error)).toMatchObject({
      name: 'DatabaseError',
      message:
        'insert into "users" ("username") values ($1) - SQLSTATE 23505 - table users - constraint users_username_key',
    });
  });

  it('says when the code is unknown, and does not look into a cause that is not an Error', async () => {
    const error = await classified(new Error('something else', { cause: 'ECONNREFUSED' }));
    expect(error).toMatchObject({ name: 'DatabaseError', message: 'SQLSTATE unknown', code: undefined });
  });

  it('turns a thrown value that is not an Error into a DatabaseError', async () => {
    expect(await classified('ECONNREFUSED')).toMatchObject({ name: 'DatabaseError', message: 'SQLSTATE unknown' });
  });

  it('keeps a non-string code out of the SQLSTATE', async () => {
    const error = Object.assign(new Error('failed'), { code: 8006 });
    expect(await classified(error)).toMatchObject({ name: 'DatabaseError', message: 'SQLSTATE unknown' });
  });

  it('lets an AppError through as it is', async () => {
    const refusal = new AppError('NOT_FOUND');
    expect(await classified(refusal)).toBe(refusal);
  });

  it('keeps only the stack frames of the original error, under its own first line', async () => {
    const original = withCode('23505', 'select 1 - duplicate key value violates unique constraint "k" (x)=(secret)');
    original.stack = `Error: ${original.message}\n    at first (file.js:1:1)\n  detail: (x)=(secret)\n    at second (file.js:2:2)`;
    const error = (await classified(original)) as Error;
    expect(error.stack).toBe(
      'DatabaseError: select 1 - SQLSTATE 23505\n    at first (file.js:1:1)\n    at second (file.js:2:2)',
    );
  });
});
