import { WEBHOOK_MODES, webhookGet } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody } from './support/responses';
import { signUp, startTestApp, type TestApp } from './support/test-app';

describe('the webhook with anonymous access turned off (ANONYMOUS_ROLE empty)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ANONYMOUS_ROLE: '' });
  });
  afterAll(() => app.close());

  it.each(WEBHOOK_MODES)('refuses a %s request without credentials with 401 {}', async (_mode, send) => {
    const res = await send(app, undefined, { headers: { 'Content-Type': 'application/json' } });
    expect(statusAndBody(res)).toEqual(WEBHOOK_REFUSAL);
  });

  it('refuses a request asking for the anonymous role by name with 401 {}', async () => {
    expect(statusAndBody(await webhookGet(app, undefined, { role: 'anonymous' }))).toEqual(WEBHOOK_REFUSAL);
  });

  it('still answers a valid token with 200 and the user', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
  });
});
