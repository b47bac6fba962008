import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TEST_DATABASE_PREFIX, testDatabaseUrl, withAdminClient } from '../support/postgres';
import { buildService, startServiceProcess, type LogLine, type ServiceBuild } from '../support/service-process';

// A PostgreSQL server whose database is not there yet, as in a compose stack whose init script
// has not run: the service process waits, then serves once the database appears, and survives
// an outage while it serves. These need a PostgreSQL server, so they run in the postgres project only.

const isRetry = (line: LogLine) => line.msg === 'the database does not answer yet; retrying';

describe('the service process, started before its database exists', () => {
  let build: ServiceBuild;
  const name = `${TEST_DATABASE_PREFIX}late_${randomBytes(4).toString('hex')}`;
  beforeAll(() => {
    build = buildService();
  });
  afterAll(async () => {
    build.dispose();
    await withAdminClient((client) => client.query(`drop database if exists "${name}" with (force)`));
  });

  it('retries until the database is created, then migrates it and serves, and stays up through an outage', async () => {
    const service = startServiceProcess(build, {
      DATABASE_URL: testDatabaseUrl(name),
      DATABASE_WAIT_TIMEOUT_SECONDS: '60',
    });
    try {
      const firstRetry = await service.waitForLog(isRetry);
      const { url } = (await service.waitForLog((line) => line.msg === 'listening')) as LogLine & { url: string };
      expect(firstRetry.error).toMatchObject({ code: '3D000' });
      expect((await request(url).get('/readyz')).status).toBe(503);

      await withAdminClient((client) => client.query(`create database "${name}"`));
      await service.waitForLog((line) => line.msg === 'ready');

      expect((await request(url).get('/readyz')).status).toBe(200);
      const signup = await request(url).post('/signup').send({ username: 'late-alice', password: 'a long password' });
      expect(signup.status).toBe(201);
      const webhook = await request(url).get('/webhook').set('Authorization', `Bearer ${signup.body.token}`);
      expect(webhook.status).toBe(200);
      expect(webhook.body['X-Hasura-User-Id']).toBe(String(signup.body.id));

      // Requests whose handlers reject (Express hands them to the error handler) must not end
      // the process: it answers 503 and lives on, to serve again when the database returns.
      await withAdminClient(async (client) => {
        await client.query(`alter database "${name}" allow_connections false`);
        await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
      });
      const duringOutage = await request(url)
        .post('/login')
        .send({ username: 'late-alice', password: 'a long password' });
      expect(duringOutage.status).toBe(503);
      expect((await request(url).get('/webhook').set('Authorization', `Bearer ${signup.body.token}`)).status).toBe(503);
      expect((await request(url).get('/healthz')).status).toBe(200);
      expect(service.stdoutLines.some((text) => (JSON.parse(text) as LogLine).level === 60)).toBe(false);
    } finally {
      service.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });
});
