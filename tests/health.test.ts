import request from 'supertest';
import { expectCleanErrorBody } from './support/responses';
import { startTestApp, type TestApp } from './support/test-app';

describe('health and readiness', () => {
  // The outage at the end breaks the database for good, so this app is used for nothing else.
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('while the database answers', () => {
    it('answers /healthz with 200 {status: ok}', async () => {
      const res = await request(app.http).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 {status: ready}', async () => {
      const res = await request(app.http).get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ready' });
    });
  });

  describe('during a database outage', () => {
    beforeAll(() => app.database.simulateOutage());

    it('answers /readyz with 503 DATABASE_UNAVAILABLE', async () => {
      const res = await request(app.http).get('/readyz');
      expect(res.status).toBe(503);
      expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
    });

    it('still answers /healthz with 200 {status: ok}: the process is alive', async () => {
      const res = await request(app.http).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });
  });
});
