import { webhookGet, webhookPost } from './support/requests';
import { signUp, startTestApp, type TestApp } from './support/test-app';

describe('webhook without anonymous access', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ANONYMOUS_ROLE: '' });
  });
  afterAll(() => app.close());

  it('refuses a request without credentials with 401 and an empty object, in GET and POST', async () => {
    const get = await webhookGet(app);
    expect(get.status).toBe(401);
    expect(get.body).toEqual({});
    const post = await webhookPost(app, undefined, { headers: { 'Content-Type': 'application/json' } });
    expect(post.status).toBe(401);
    expect(post.body).toEqual({});
  });

  it('refuses a request for the anonymous role by name with 401', async () => {
    expect((await webhookGet(app, undefined, { role: 'anonymous' })).status).toBe(401);
  });

  it('still answers a valid token with 200', async () => {
    const user = await signUp(app);
    const res = await webhookGet(app, user.token);
    expect(res.status).toBe(200);
    expect(res.body['X-Hasura-User-Id']).toBe(String(user.id));
  });
});
