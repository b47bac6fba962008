import request from 'supertest';
import { logInToken, webhookGet } from './support/requests';
import { expectTokenRefused, statusAndCode } from './support/responses';
import { bearer, signUp, startTestApp, type SignedUpUser, type TestApp } from './support/test-app';

describe('logging out', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  describe('POST /logout', () => {
    it('answers 204 with no body, after which /me refuses the token with 401 and the webhook with 401 {} in GET and POST', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').set(bearer(user.token));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      await expectTokenRefused(app, user.token);
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

    it('refuses a second logout with the same token with 401 UNAUTHORIZED', async () => {
      const user = await signUp(app);
      expect((await request(app.http).post('/logout').set(bearer(user.token))).status).toBe(204);
      const again = await request(app.http).post('/logout').set(bearer(user.token));
      expect(statusAndCode(again)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });

    it('refuses a request without a token with 401 UNAUTHORIZED', async () => {
      const res = await request(app.http).post('/logout');
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    });

    it('refuses a token sent in the body instead of the Authorization header with 401 UNAUTHORIZED, and the session stays live', async () => {
      const user = await signUp(app);
      const res = await request(app.http).post('/logout').send({ access_token: user.token });
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
    });
  });

  describe('POST /logout/all from the second of a user’s three sessions', () => {
    // One logout/all, then one check per session it must have ended.
    let user: SignedUpUser;
    const tokens: Record<string, string> = {};
    let bystander: SignedUpUser;
    let res: request.Response;
    beforeAll(async () => {
      user = await signUp(app);
      tokens['the signup session'] = user.token;
      tokens['the calling session'] = await logInToken(app, user.username);
      tokens['a later session'] = await logInToken(app, user.username);
      bystander = await signUp(app);
      res = await request(app.http).post('/logout/all').set(bearer(tokens['the calling session'])).send();
    });

    it('answers 204 with no body', () => {
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
    });

    it.each(['the signup session', 'the calling session', 'a later session'])(
      'ends %s: /me answers 401 and the webhook 401 {} in GET and POST',
      async (session) => {
        await expectTokenRefused(app, tokens[session]!);
      },
    );

    it('leaves another user’s session working', async () => {
      const hook = await webhookGet(app, bystander.token);
      expect(hook.status).toBe(200);
      expect(hook.body['X-Hasura-User-Id']).toBe(String(bystander.id));
    });

    it('lets the user log in again afterwards', async () => {
      const hook = await webhookGet(app, await logInToken(app, user.username));
      expect(hook.status).toBe(200);
      expect(hook.body['X-Hasura-User-Id']).toBe(String(user.id));
    });
  });
});
