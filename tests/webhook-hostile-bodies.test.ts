import { getHeapStatistics } from 'node:v8';
import request from 'supertest';
import { expectCleanErrorBody } from './support/responses';
import { webhookGet } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

/**
 * Hasura forwards the client's GraphQL body as `request`, whatever its size or shape: any client
 * can make the webhook read it. Parsing it whole held the event loop that every other webhook call
 * shares for seconds (an 8 MB `[[[[…]]]]`: 3 s here, and 830 MB). The webhook now skims it: what
 * is checked here does not depend on how busy the machine is, namely that no such body is built
 * (the heap does not grow by its parse) and that other calls are answered meanwhile. How long they
 * wait is a figure for the closing note and docs/operations.md (44–80 ms, bound 250 ms), not a
 * test that a loaded CI machine would fail at random.
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
   * Sends `body`, and meanwhile a GET /webhook every 20 ms; answers the POST's status and body, how
   * many GETs were answered 200 meanwhile, and how much the heap grew while the server read it.
   */
  async function sendBesideOtherCalls(text: string, token: string) {
    const body = Buffer.from(text);
    let sending = true;
    let answeredMeanwhile = 0;
    const others = (async () => {
      while (sending) {
        if ((await webhookGet(app, token)).status === 200) answeredMeanwhile++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const heapBefore = getHeapStatistics().total_heap_size;
    const answer = await postBytes(body);
    const res = { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    const heapGrowthMb = (getHeapStatistics().total_heap_size - heapBefore) / 2 ** 20;
    sending = false;
    await others;
    return { res, answeredMeanwhile, heapGrowthMb };
  }

  it('answers an 8 MB request nested four million deep without building it, and answers other calls meanwhile', async () => {
    const user = await signUp(app);
    const depth = 4_000_000;
    const body = `{"headers":{"Authorization":"Bearer ${user.token}"},"request":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const { res, answeredMeanwhile, heapGrowthMb } = await sendBesideOtherCalls(body, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
    expect(answeredMeanwhile).toBeGreaterThan(0);
    // Parsed, its four million arrays took hundreds of MB of heap.
    expect(heapGrowthMb).toBeLessThan(64);
  });

  it('refuses a headers object of 400,000 names with 413 once it passes 64 KiB, and answers other calls meanwhile', async () => {
    const user = await signUp(app);
    const names = Array.from({ length: 400_000 }, (_, i) => `"h${i}":""`).join(',');
    const { res, answeredMeanwhile, heapGrowthMb } = await sendBesideOtherCalls(`{"headers":{${names}}}`, user.token);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(answeredMeanwhile).toBeGreaterThan(0);
    expect(heapGrowthMb).toBeLessThan(64);
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
