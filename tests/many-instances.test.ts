import request from 'supertest';
import { LISTENER_APPLICATION_NAME } from '../src/db/invalidation-listener';
import { startServer } from '../src/server';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { eventually } from './support/eventually';
import { withAdminClient } from './support/postgres';
import { changePassword, logInToken, WEBHOOK_MODES, type HttpTarget } from './support/requests';
import { WEBHOOK_REFUSAL, statusAndBody } from './support/responses';
import { bearer, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

// Two instances on one database, as replicas behind a load balancer. Whatever an instance keeps
// in memory to answer the webhook faster, an end of a session on one must reach the other's
// webhook within REVOCATION_BOUND_MS: past that, a revoked token would still open Hasura.

const REVOCATION_BOUND_MS = 1_000;
const POLL_INTERVAL_MS = 25;

/**
 * Asks the webhook until it refuses the token or the bound has passed, and answers the last reply.
 * The bound is a limit on the wait, not a measurement: the assertion is on the refusal.
 */
async function webhookAnswerOnceRevoked(
  target: HttpTarget,
  token: string,
  send: (typeof WEBHOOK_MODES)[number][1],
): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + REVOCATION_BOUND_MS;
  for (;;) {
    const answer = statusAndBody(await send(target, token));
    if (answer.status === 401 || Date.now() >= deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

describe.each(WEBHOOK_MODES)('two instances on one database, webhook in %s mode', (_mode, send) => {
  let app: TestApp;
  let peer: HttpTarget;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_SECRET });
    peer = { http: await startPeerInstance(app) };
  });
  afterAll(() => app.close());

  it('share sessions: a token from one is accepted by the other, on the webhook and on /me', async () => {
    const user = await signUp(app);
    const fromPeer = await logInToken(peer, user.username);

    expect((await send(peer, user.token)).body['X-Hasura-User-Id']).toBe(String(user.id));
    expect((await send(app, fromPeer)).body['X-Hasura-User-Id']).toBe(String(user.id));
    expect((await request(peer.http).get('/me').set(bearer(user.token))).status).toBe(200);
  });

  it('a logout on one is refused by the other within 1 s', async () => {
    const user = await signUp(app);
    // The peer has answered for this token, so any cache it keeps holds it.
    expect((await send(peer, user.token)).status).toBe(200);

    await request(app.http).post('/logout').set(bearer(user.token)).expect(204);

    expect(await webhookAnswerOnceRevoked(peer, user.token, send)).toEqual(WEBHOOK_REFUSAL);
  });

  it('a logout of every session on one is refused by the other within 1 s, for every token', async () => {
    const user = await signUp(app);
    const second = await logInToken(peer, user.username);
    expect((await send(peer, user.token)).status).toBe(200);
    expect((await send(peer, second)).status).toBe(200);

    await request(app.http).post('/logout/all').set(bearer(user.token)).expect(204);

    expect(await webhookAnswerOnceRevoked(peer, user.token, send)).toEqual(WEBHOOK_REFUSAL);
    expect(await webhookAnswerOnceRevoked(peer, second, send)).toEqual(WEBHOOK_REFUSAL);
  });

  it('a password change on one ends the older sessions on the other within 1 s', async () => {
    const user = await signUp(app);
    const older = await logInToken(app, user.username);
    expect((await send(peer, older)).status).toBe(200);

    await changePassword(app, user.token, { newPassword: 'a new long password' }).expect(200);

    expect(await webhookAnswerOnceRevoked(peer, older, send)).toEqual(WEBHOOK_REFUSAL);
  });

  it("an admin's ending of a user's sessions on one is refused by the other within 1 s", async () => {
    const user = await signUp(app);
    expect((await send(peer, user.token)).status).toBe(200);

    await request(app.http).delete(`/admin/users/${user.id}/sessions`).set(withAdminSecret).expect(204);

    expect(await webhookAnswerOnceRevoked(peer, user.token, send)).toEqual(WEBHOOK_REFUSAL);
  });
});

if (globalThis.TEST_DATABASE_KIND === 'postgres') {
  describe('an instance that shuts down beside another', () => {
    it('ends its listening connection, and the other keeps its own', async () => {
      const app = await startTestApp();
      try {
        const database = new URL(app.database.env.DATABASE_URL!).pathname.slice(1);
        const listeningConnections = () =>
          withAdminClient(async (client) => {
            const { rows } = await client.query<{ count: number }>(
              'select count(*)::int as count from pg_stat_activity where datname = $1 and application_name = $2',
              [database, LISTENER_APPLICATION_NAME],
            );
            return rows[0]!.count;
          });
        expect(await eventually(listeningConnections, (count) => count === 1, 5_000)).toBe(1);
        const peer = await startServer({
          config: app.config,
          logger: app.logger,
          db: app.database.connectPeer(),
          clock: app.clock,
        });
        expect(await eventually(listeningConnections, (count) => count === 2, 5_000)).toBe(2);
        await peer.close();
        // Left open, each restart of a replica would hold one more connection until the server's limit.
        expect(await eventually(listeningConnections, (count) => count === 1, 5_000)).toBe(1);
      } finally {
        await app.close();
      }
    });
  });
}
