import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { statementsDuring } from './support/database';
import { obtainTokens, payloadOf, refreshTokens, requestTokens, verifyIssued, type TokenPairBody } from './support/jwt';
import { expectCleanErrorBody, statusAndCode } from './support/responses';
import { bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';
import { changePassword } from './support/requests';

const REFUSED = { status: 401, code: 'INVALID_REFRESH_TOKEN' };

describe('JWT mode: POST /token/refresh', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
  });
  afterAll(() => app.close());

  /** Refreshes and answers the new pair; fails the test unless it succeeds. */
  async function refreshed(refreshToken: string, target: { http: string } = app): Promise<TokenPairBody> {
    const res = await refreshTokens(target, refreshToken);
    expect(res.status).toBe(200);
    return res.body as TokenPairBody;
  }

  /** Past the reuse grace window, so that a rotated token counts as reused. */
  const afterGrace = () => app.clock.advanceSeconds(app.config.jwt.refreshTokenReuseGraceSeconds + 1);

  describe('rotation', () => {
    it('answers a new pair whose access token Hasura accepts, for the same session', async () => {
      const user = await signUp(app);
      const first = await obtainTokens(app, user.username);
      app.clock.advanceSeconds(60);
      const second = await refreshed(first.refreshToken);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.accessToken).not.toBe(first.accessToken);
      expect(second.refreshTokenExpiresAt).toBe(first.refreshTokenExpiresAt);
      expect(payloadOf(second.accessToken).sid).toBe(payloadOf(first.accessToken).sid);
      expect(await verifyIssued(app, second.accessToken)).toMatchObject({
        ok: true,
        sessionVariables: { 'x-hasura-user-id': String(user.id) },
      });
    });

    it('keeps rotating: each new token refreshes in turn', async () => {
      const user = await signUp(app);
      let pair = await obtainTokens(app, user.username);
      for (let round = 0; round < 3; round += 1) {
        afterGrace();
        pair = await refreshed(pair.refreshToken);
      }
      expect(await verifyIssued(app, pair.accessToken)).toMatchObject({ ok: true });
    });

    it('renders the roles as they are now: a role granted since login appears after a refresh', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const user = await createUserAsAdmin(app, {});
      const first = await obtainTokens(app, user.username);
      const patch = await request(app.http)
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ sessionVariables: { 'x-hasura-team': 'blue' } });
      expect(patch.status).toBe(200);
      const second = await refreshed(first.refreshToken);
      expect(await verifyIssued(app, second.accessToken)).toMatchObject({
        ok: true,
        sessionVariables: { 'x-hasura-team': 'blue' },
      });
    });
  });

  describe('reuse detection', () => {
    it('ends the whole session when a token rotated before the grace window is replayed', async () => {
      const user = await signUp(app);
      const first = await obtainTokens(app, user.username);
      const second = await refreshed(first.refreshToken);
      afterGrace();
      expect(statusAndCode(await refreshTokens(app, first.refreshToken))).toEqual(REFUSED);
      // The thief or the owner: no telling which holds the newest token, so it dies too.
      expect(statusAndCode(await refreshTokens(app, second.refreshToken))).toEqual(REFUSED);
      const sessions = await request(app.http).get('/sessions').set(bearer(user.token));
      expect(sessions.body.sessions.map((each: { kind: string }) => each.kind)).toEqual(['bearer']);
    });

    it('answers a token replayed within the grace window with the same successor: the session stays one chain', async () => {
      const user = await signUp(app);
      const first = await obtainTokens(app, user.username);
      const tabA = await refreshed(first.refreshToken);
      app.clock.advanceSeconds(app.config.jwt.refreshTokenReuseGraceSeconds - 1);
      const tabB = await refreshed(first.refreshToken);
      expect(tabB.refreshToken).toBe(tabA.refreshToken);
      afterGrace();
      await refreshed(tabA.refreshToken);
    });

    it('gives a thief who replays a stolen token within the grace window no branch of his own', async () => {
      const user = await signUp(app);
      const first = await obtainTokens(app, user.username);
      const owner = await refreshed(first.refreshToken);
      const thief = await refreshed(first.refreshToken);
      // The owner goes on refreshing; the thief's copy of the same token is now a rotated one.
      const ownerNext = await refreshed(owner.refreshToken);
      afterGrace();
      expect(statusAndCode(await refreshTokens(app, thief.refreshToken))).toEqual(REFUSED);
      // Reuse ends the whole family: the owner's newest token too.
      expect(statusAndCode(await refreshTokens(app, ownerNext.refreshToken))).toEqual(REFUSED);
    });

    it('counts a token replayed when exactly the grace window has passed as reused', async () => {
      const user = await signUp(app);
      const first = await obtainTokens(app, user.username);
      const second = await refreshed(first.refreshToken);
      app.clock.advanceSeconds(app.config.jwt.refreshTokenReuseGraceSeconds);
      expect(statusAndCode(await refreshTokens(app, first.refreshToken))).toEqual(REFUSED);
      expect(statusAndCode(await refreshTokens(app, second.refreshToken))).toEqual(REFUSED);
    });

    it('measures the grace window from the first rotation: a replay within it does not extend it', async () => {
      const user = await signUp(app);
      const first = await obtainTokens(app, user.username);
      await refreshed(first.refreshToken);
      app.clock.advanceSeconds(app.config.jwt.refreshTokenReuseGraceSeconds - 1);
      await refreshed(first.refreshToken);
      app.clock.advanceSeconds(2);
      expect(statusAndCode(await refreshTokens(app, first.refreshToken))).toEqual(REFUSED);
    });

    it('rotates only the token presented: another session’s token stays current', async () => {
      const user = await signUp(app);
      const [mine, other] = [await obtainTokens(app, user.username), await obtainTokens(app, user.username)];
      await refreshed(mine.refreshToken);
      afterGrace();
      expect(statusAndCode(await refreshTokens(app, other.refreshToken))).toEqual({ status: 200, code: undefined });
    });

    it('never ends a session for a token that was never issued', async () => {
      const user = await signUp(app);
      const pair = await obtainTokens(app, user.username);
      expect(statusAndCode(await refreshTokens(app, randomBytes(48).toString('base64url')))).toEqual(REFUSED);
      expect(statusAndCode(await refreshTokens(app, 'not-a-token'))).toEqual(REFUSED);
      await refreshed(pair.refreshToken);
    });

    // Its MAC tells a forged token at once, so a spray of them costs the database nothing.
    it('refuses, or ends nothing for, a token it never issued without a query', async () => {
      const forged = randomBytes(48).toString('base64url');
      const statements = await statementsDuring(app.database.db, async () => {
        expect(statusAndCode(await refreshTokens(app, forged))).toEqual(REFUSED);
        expect((await request(app.http).post('/token/logout').send({ refreshToken: forged })).status).toBe(204);
      });
      expect(statements).toEqual([]);
    });

    it('refuses a body without a refresh token with 400 VALIDATION_FAILED', async () => {
      const res = await request(app.http).post('/token/refresh').send({});
      expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });

  describe('tabs refreshing at once with the same token', () => {
    /**
     * Every tab refreshes with the token they share, three times in a row, each time at once with
     * the token it got: each time, every tab gets the same one successor, which works.
     */
    async function expectOneSuccessorEachRound(targets: { http: string }[]): Promise<void> {
      const user = await signUp(app);
      let shared = (await obtainTokens(app, user.username)).refreshToken;
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(targets.map((target) => refreshTokens(target, shared)));
        expect(answers.map((res) => res.status)).toEqual(targets.map(() => 200));
        const tabs = answers.map((res) => res.body as TokenPairBody);
        expect(new Set(tabs.map((tab) => tab.refreshToken)).size).toBe(1);
        for (const tab of tabs) expect(await verifyIssued(app, tab.accessToken)).toMatchObject({ ok: true });
        shared = tabs[0]!.refreshToken;
        afterGrace();
      }
      await refreshed(shared);
    }

    it('two tabs both succeed with the one successor, and go on refreshing', async () => {
      await expectOneSuccessorEachRound([app, app]);
    });

    it('twenty refreshes at once with one token all answer the one successor', async () => {
      await expectOneSuccessorEachRound(Array.from({ length: 20 }, () => app));
    });

    it('six tabs on two instances all succeed with the one successor, and go on refreshing', async () => {
      const peer = { http: await startPeerInstance(app) };
      await expectOneSuccessorEachRound([app, peer, app, peer, app, peer]);
    });
  });

  describe('a session that has ended can no longer refresh', () => {
    async function jwtSession(options: { roles?: string[] } = {}) {
      const user = options.roles ? await createUserAsAdmin(app, options) : await signUp(app);
      const pair = await obtainTokens(app, user.username);
      return { user, pair };
    }

    it('after POST /token/logout, which ends no other session of the user', async () => {
      const { user, pair } = await jwtSession();
      const other = await obtainTokens(app, user.username);
      const res = await request(app.http).post('/token/logout').send({ refreshToken: pair.refreshToken });
      expect(res.status).toBe(204);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
      expect((await refreshTokens(app, other.refreshToken)).status).toBe(200);
      expect((await request(app.http).get('/me').set(bearer(user.token))).status).toBe(200);
    });

    it('after POST /token/logout with a token the session has since rotated', async () => {
      const { pair } = await jwtSession();
      const next = await refreshed(pair.refreshToken);
      expect((await request(app.http).post('/token/logout').send({ refreshToken: pair.refreshToken })).status).toBe(
        204,
      );
      expect(statusAndCode(await refreshTokens(app, next.refreshToken))).toEqual(REFUSED);
    });

    it('answers POST /token/logout with 204 for a token that was never issued', async () => {
      const res = await request(app.http)
        .post('/token/logout')
        .send({ refreshToken: randomBytes(48).toString('base64url') });
      expect(res.status).toBe(204);
    });

    it('after POST /logout/all from another session of the user', async () => {
      const { user, pair } = await jwtSession();
      expect((await request(app.http).post('/logout/all').set(bearer(user.token))).status).toBe(204);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after DELETE /sessions/:id of the refresh session', async () => {
      const { user, pair } = await jwtSession();
      const sid = payloadOf(pair.accessToken).sid as string;
      expect((await request(app.http).delete(`/sessions/${sid}`).set(bearer(user.token))).status).toBe(204);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after a password change', async () => {
      const { user, pair } = await jwtSession();
      const change = await changePassword(app, user.token, { newPassword: 'a brand new password' });
      expect(change.status).toBe(200);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after a role is granted', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const { user, pair } = await jwtSession();
      expect((await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
        204,
      );
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after a held role is deleted', async () => {
      const role = uniqueRoleName();
      await createRole(app, role);
      const { pair } = await jwtSession({ roles: [role] });
      expect((await request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)).status).toBe(204);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after an admin ends the user’s sessions', async () => {
      const { user, pair } = await jwtSession();
      expect((await request(app.http).delete(`/admin/users/${user.id}/sessions`).set(withAdminSecret)).status).toBe(
        204,
      );
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after the user is disabled, even once enabled again', async () => {
      const { user, pair } = await jwtSession();
      const patch = (disabled: boolean) =>
        request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ disabled });
      expect((await patch(true)).status).toBe(200);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
      expect((await patch(false)).status).toBe(200);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('after the user is deleted', async () => {
      const { user, pair } = await jwtSession();
      expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('refreshes racing POST /logout/all answer 200 or 401, never an error, and no token survives it', async () => {
      const { user, pair } = await jwtSession();
      const peer = { http: await startPeerInstance(app) };
      const refreshes = [app, peer, app, peer, app, peer].map((target) => refreshTokens(target, pair.refreshToken));
      const logoutAll = request(peer.http).post('/logout/all').set(bearer(user.token));
      const [ended, ...answers] = await Promise.all([logoutAll, ...refreshes]);
      expect(ended.status).toBe(204);
      for (const res of answers) expect([200, 401]).toContain(res.status);
      const survivors = answers.filter((res) => res.status === 200).map((res) => res.body.refreshToken as string);
      for (const token of [pair.refreshToken, ...survivors]) {
        expect(statusAndCode(await refreshTokens(app, token))).toEqual(REFUSED);
      }
    });

    it('after the idle timeout without a refresh', async () => {
      const { pair } = await jwtSession();
      app.clock.advanceSeconds(app.config.sessions.idleTimeoutSeconds);
      expect(statusAndCode(await refreshTokens(app, pair.refreshToken))).toEqual(REFUSED);
    });

    it('at the absolute timeout, however often it was refreshed', async () => {
      const { pair } = await jwtSession();
      const { absoluteTimeoutSeconds, idleTimeoutSeconds } = app.config.sessions;
      let current = pair;
      let elapsed = 0;
      while (elapsed + idleTimeoutSeconds - 1 < absoluteTimeoutSeconds) {
        app.clock.advanceSeconds(idleTimeoutSeconds - 1);
        elapsed += idleTimeoutSeconds - 1;
        current = await refreshed(current.refreshToken);
      }
      app.clock.advanceSeconds(absoluteTimeoutSeconds - elapsed);
      expect(statusAndCode(await refreshTokens(app, current.refreshToken))).toEqual(REFUSED);
    });
  });
});

describe('JWT mode: the access token never outlives its session', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600', SESSION_IDLE_TIMEOUT_SECONDS: '300' });
  });
  afterAll(() => app.close());

  it('expires with the session when the session ends before the access token lifetime', async () => {
    const user = await signUp(app);
    const pair = await obtainTokens(app, user.username);
    expect(pair.accessTokenExpiresIn).toBe(600);
    expect(payloadOf(pair.accessToken).exp).toBe(Math.floor(new Date(pair.refreshTokenExpiresAt).getTime() / 1000));
  });
});

describe('JWT mode while the database is down', () => {
  let app: TestApp;
  let pair: TokenPairBody;
  let username: string;
  beforeAll(async () => {
    app = await startTestApp();
    ({ username } = await signUp(app));
    pair = await obtainTokens(app, username);
    await app.database.simulateOutage();
  });
  afterAll(() => app.close());

  it('answers a refresh with 503 DATABASE_UNAVAILABLE, never 401: the client keeps its refresh token', async () => {
    const res = await refreshTokens(app, pair.refreshToken);
    expect(res.status).toBe(503);
    expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
  });

  it('answers POST /token with 503 DATABASE_UNAVAILABLE, not 401', async () => {
    const res = await requestTokens(app, username);
    expect(statusAndCode(res)).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  });

  it('answers the JWKS with 503 DATABASE_UNAVAILABLE, which Hasura retries while keeping its keys', async () => {
    const res = await request(app.http).get('/.well-known/jwks.json');
    expect(statusAndCode(res)).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  });
});
