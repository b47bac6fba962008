import request from 'supertest';
import { logInToken, webhookGet, webhookPost } from './support/requests';
import { bearer, signUp, startTestApp, type TestApp } from './support/test-app';

describe('logging out', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('POST /logout', () => {
    it('answers 204, after which the token is refused by /me and by the webhook in GET and POST', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').set(bearer(user.token));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      const me = await request(app.http).get('/me').set(bearer(user.token));
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe('UNAUTHORIZED');
      const get = await webhookGet(app, user.token);
      expect(get.status).toBe(401);
      expect(get.body).toEqual({});
      const post = await webhookPost(app, user.token);
      expect(post.status).toBe(401);
      expect(post.body).toEqual({});
    });

    it('leaves another session of the same user working', async () => {
      const user = await signUp(app);
      const other = await logInToken(app, user.username);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);

      expect((await request(app.http).get('/me').set(bearer(other))).status).toBe(200);
      const hook = await webhookGet(app, other);
      expect(hook.status).toBe(200);
      expect(hook.body['X-Hasura-User-Id']).toBe(String(user.id));
    });

    it('refuses a second logout with the same token with 401', async () => {
      const user = await signUp(app);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(401);
    });

    it('refuses a request without a token with 401', async () => {
      expect((await request(app.http).post('/logout')).status).toBe(401);
    });

    it('ignores a token in the body', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').send({ access_token: user.token });
      expect(res.status).toBe(401);
      expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
    });
  });

  describe('POST /logout/all', () => {
    it('ends every session of the user and no one else’s', async () => {
      const user = await signUp(app);
      const second = await logInToken(app, user.username);
      const third = await logInToken(app, user.username);
      const bystander = await signUp(app);

      expect((await request(app.http).post('/logout/all').set(bearer(second)).send()).status).toBe(204);

      for (const token of [user.token, second, third]) {
        expect((await request(app.http).get('/me').set(bearer(token))).status).toBe(401);
        expect((await webhookGet(app, token)).status).toBe(401);
        expect((await webhookPost(app, token)).status).toBe(401);
      }
      expect((await webhookGet(app, bystander.token)).status).toBe(200);
    });

    it('lets the user log in again afterwards', async () => {
      const user = await signUp(app);
      expect((await request(app.http).post('/logout/all').set(bearer(user.token))).status).toBe(204);
      const fresh = await logInToken(app, user.username);
      expect((await webhookGet(app, fresh)).status).toBe(200);
    });
  });
});
