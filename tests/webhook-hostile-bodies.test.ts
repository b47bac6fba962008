import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';
import { expectCleanErrorBody } from './support/responses';
import { webhookGet } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

/**
 * Hasura forwards the client's GraphQL body as `request`, whatever its size or shape: any client
 * can make the webhook read it. The server runs in this process, so the event loop's delay seen
 * here is what every other caller of the webhook waited.
 */
describe('hostile POST /webhook bodies', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  /** POSTs the bytes as Hasura would, already encoded: this process is the server too. */
  const postBytes = (body: Buffer) =>
    fetch(`${app.http}/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

  /**
   * Sends `body`, and meanwhile a GET /webhook every 20 ms; answers the POST's status and body, and
   * the worst GET and event-loop delay. The same kind of body is sent once before, so that what is
   * measured is the skimming, not the compiler warming up to it.
   */
  async function sendBesideOtherCalls(text: string, token: string) {
    const body = Buffer.from(text);
    await (await postBytes(body)).arrayBuffer();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    let sending = true;
    let slowestGetMs = 0;
    const others = (async () => {
      while (sending) {
        const startedAt = performance.now();
        const res = await webhookGet(app, token);
        expect(res.status).toBe(200);
        slowestGetMs = Math.max(slowestGetMs, performance.now() - startedAt);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    delay.enable();
    const answer = await postBytes(body);
    const res = { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    delay.disable();
    sending = false;
    await others;
    return { res, slowestGetMs, worstDelayMs: delay.max / 1e6 };
  }

  it('answers an 8 MB request nested four million deep without holding other calls for 250 ms', async () => {
    const user = await signUp(app);
    const depth = 4_000_000;
    const body = `{"headers":{"Authorization":"Bearer ${user.token}"},"request":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const { res, slowestGetMs, worstDelayMs } = await sendBesideOtherCalls(body, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    expect(slowestGetMs).toBeLessThan(250);
    expect(worstDelayMs).toBeLessThan(250);
  });

  it('refuses a headers object of 400,000 names with 413, without holding other calls for 250 ms', async () => {
    const user = await signUp(app);
    const names = Array.from({ length: 400_000 }, (_, i) => `"h${i}":""`).join(',');
    const { res, slowestGetMs, worstDelayMs } = await sendBesideOtherCalls(`{"headers":{${names}}}`, user.token);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(slowestGetMs).toBeLessThan(250);
    expect(worstDelayMs).toBeLessThan(250);
  });

  it('refuses more than 1,000 header names with 400, though they fit in 64 KiB', async () => {
    const names = Array.from({ length: 1001 }, (_, i) => `"h${i}":""`).join(',');
    const res = await request(app.http)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .send(`{"headers":{${names}}}`);
    expect(res.status).toBe(400);
    expectCleanErrorBody(res, 'VALIDATION_FAILED');
  });

  it('answers a request of any shape, before or after headers, as the same caller', async () => {
    const user = await signUp(app);
    const headers = `{"authorization":"Bearer ${user.token}"}`;
    for (const requestValue of ['null', '[]', '[{"query":"{ a }"},{"query":"{ b }"}]', '"{[\\""', '12.5e3', 'true']) {
      for (const body of [
        `{"headers":${headers},"request":${requestValue}}`,
        `{"request":${requestValue},"headers":${headers}}`,
      ]) {
        const res = await request(app.http).post('/webhook').set('Content-Type', 'application/json').send(body);
        expect({ body, status: res.status, userId: res.body['X-Hasura-User-Id'] }).toEqual({
          body,
          status: 200,
          userId: String(user.id),
        });
      }
    }
  });

  it.each([
    [
      'bytes that are not UTF-8',
      Buffer.concat([Buffer.from('{"headers":{"x-name":"'), Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from('"}}')]),
    ],
    ['a lone surrogate', Buffer.from('{"headers":{"x-name":"\\ud800"}}')],
  ])('refuses headers holding %s with 400 VALIDATION_FAILED', async (_label, body) => {
    // fetch sends the bytes as they are; superagent would encode a string as UTF-8.
    const res = await fetch(`${app.http}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
  });
});
