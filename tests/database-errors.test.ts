import pino from 'pino';
import { withClassifiedFailures } from '../src/db/database-errors';
import { AppError } from '../src/errors';
import { createLogger } from '../src/logger';
import { createTestDatabase, type TestDatabase } from './support/database';

describe('database failures as the database layer lets them out', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(createLogger('silent'));
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
  });
});
