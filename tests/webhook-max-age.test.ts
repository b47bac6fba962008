import request from 'supertest';
import { webhookGet, webhookPost } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

describe('webhook max-age and the remaining session life', () => {
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

  const maxAge = (res: request.Response) => Number(/^max-age=(\d+)$/.exec(res.body['Cache-Control'])![1]);

  it('answers a max-age of the whole session life, not the larger cap, for a new session', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBe(600);
  });

  it('answers a max-age equal to the seconds left once the clock has moved', async () => {
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

  it('never answers a max-age beyond the session’s end', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(599);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(maxAge(res)).toBeLessThanOrEqual(1);
  });

  it('bounds max-age by the idle time left when the idle timeout is the nearer end', async () => {
    const shortIdle = await startTestApp({
      WEBHOOK_MAX_AGE_SECONDS: '86400',
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600',
      SESSION_IDLE_TIMEOUT_SECONDS: '120',
      SESSION_TOUCH_INTERVAL_SECONDS: '60',
    });
    try {
      const user = await signUp(shortIdle);
      shortIdle.clock.advanceSeconds(30);
      // The use is not recorded yet (touch interval 60 s), so the idle end is still 120 s after signup.
      const res = await webhookGet(shortIdle, user.token);
      expect(res.status).toBe(200);
      expect(maxAge(res)).toBe(90);
    } finally {
      await shortIdle.close();
    }
  });
});
