import type { Response } from 'supertest';
import { webhookGet, webhookPost } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

// The webhook's Cache-Control max-age is the least of WEBHOOK_MAX_AGE_SECONDS, the time to the
// absolute end of the session and the time to its idle end. Each bound is shown where it is the least.
const maxAge = (res: Response) => Number(/^max-age=(\d+)$/.exec(res.body['Cache-Control'])![1]);

describe('webhook max-age when the absolute timeout is the nearest end (cap 86400 s, absolute 600 s, idle 86400 s)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      WEBHOOK_MAX_AGE_SECONDS: '86400',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
      SESSION_IDLE_TIMEOUT_SECONDS: '86400',
      SESSION_TOUCH_INTERVAL_SECONDS: '0',
    });
  });
  afterAll(() => app.close());

  it('answers the whole session life (600), not the larger cap, for a new session', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBe(600);
  });

  it('answers the seconds left once the clock has moved, in GET and POST', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(200);
    const get = await webhookGet(app, user.token);
    expect(get.status).toBe(200);
    expect(maxAge(get)).toBe(400);

    app.clock.advanceSeconds(350);
    const post = await webhookPost(app, user.token);
    expect(post.status).toBe(200);
    expect(maxAge(post)).toBe(50);
  });

  it('rounds the seconds left down, never past the session’s end', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(0.5);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBe(599);
  });

  it('answers max-age=1 one second before the session’s absolute end', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(599);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBe(1);
  });
});

describe('webhook max-age against the cap and the idle timeout (cap 100 s, idle 120 s, absolute 600 s)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      WEBHOOK_MAX_AGE_SECONDS: '100',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
      SESSION_IDLE_TIMEOUT_SECONDS: '120',
      SESSION_TOUCH_INTERVAL_SECONDS: '60',
    });
  });
  afterAll(() => app.close());

  it('caps max-age at WEBHOOK_MAX_AGE_SECONDS (100) while the session has longer to live, in GET and POST', async () => {
    const user = await signUp(app);
    const get = await webhookGet(app, user.token);
    expect(get.status).toBe(200);
    expect(get.body['Cache-Control']).toBe('max-age=100');
    const post = await webhookPost(app, user.token);
    expect(post.status).toBe(200);
    expect(post.body['Cache-Control']).toBe('max-age=100');
  });

  it('bounds max-age by the idle time left (90) when that is shorter than the cap', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(30);
    // The use is not recorded yet (touch interval 60 s), so the idle end is still 120 s after signup.
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBe(90);
  });
});
