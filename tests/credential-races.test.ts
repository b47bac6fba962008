import request from 'supertest';
import { ADMIN_SECRET, createRole, createUserAsAdmin, uniqueRoleName, withAdminSecret } from './support/admin';
import { eventually } from './support/eventually';
import { changePassword, logIn, webhookGet } from './support/requests';
import { statusAndCode } from './support/responses';
import { PASSWORD, signUp, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

// Each race below is a rule that ends sessions meeting a login already in flight: the password
// check (bcrypt) has passed, and the session is not yet stored. A slower hash widens that window.
const RACING_LOGINS = 16;

describe('sessions never outlive what ended them, against logins in flight', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Dozens of logins to one account from one address, most of them failing once the race is
    // lost: more than the per-account limits admit, which are not what these races are about.
    app = await startTestApp({
      ADMIN_SECRET,
      BCRYPT_COST: '9',
      LOGIN_FAILURE_LIMIT_PER_USERNAME: 'off',
      LOGIN_FAILURE_LIMIT_PER_USER_IP: 'off',
    });
  });
  afterAll(() => app.close());

  const webhookStatus = async (token: string) => (await webhookGet(app, token)).status;

  /** Starts logins one after another, each without waiting for the last, while `act` runs, and a few after. */
  async function loginsDuring(username: string, password: string, act: () => Promise<unknown>) {
    const logins: Promise<request.Response>[] = [];
    let acting = true;
    const loop = (async () => {
      while (acting || logins.length < RACING_LOGINS) {
        logins.push(logIn(app, username, password).then((res) => res));
        await new Promise((resolve) => setImmediate(resolve));
        if (logins.length >= RACING_LOGINS * 4) break;
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    await act();
    acting = false;
    await loop;
    return Promise.all(logins);
  }

  it('kills every session from a login with the old password once /password has answered', async () => {
    const user = await signUp(app);
    const logins = await loginsDuring(user.username, PASSWORD, async () => {
      const change = await changePassword(app, user.token, { newPassword: 'a brand new password' });
      expect(change.status).toBe(200);
    });
    const tokens = logins.filter((res) => res.status === 200).map((res) => res.body.token as string);
    for (const res of logins) expect([200, 401]).toContain(res.status);
    const alive = (await Promise.all(tokens.map(webhookStatus))).filter((status) => status !== 401);
    expect(alive).toEqual([]);
  });

  it('lets exactly one of two password changes at once succeed, and tells the other with a 4xx', async () => {
    for (let round = 0; round < 3; round++) {
      const user = await signUp(app);
      const secondToken = (await logIn(app, user.username)).body.token as string;
      const newPasswords = ['first new password here', 'second new password here'];
      const answers = await Promise.all([
        changePassword(app, user.token, { newPassword: newPasswords[0]! }),
        changePassword(app, secondToken, { newPassword: newPasswords[1]! }),
      ]);
      const statuses = answers.map((res) => res.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      const loser = answers.find((res) => res.status !== 200)!;
      // 409 PASSWORD_CHANGED when both passed the check; 401 when the winner's answer came first
      // and ended the loser's session.
      expect([
        { status: 409, code: 'PASSWORD_CHANGED' },
        { status: 401, code: 'UNAUTHORIZED' },
      ]).toContainEqual(statusAndCode(loser));
      const winner = statuses.indexOf(200);
      expect((await logIn(app, user.username, newPasswords[winner])).status).toBe(200);
      expect((await logIn(app, user.username, newPasswords[1 - winner])).status).toBe(401);
    }
  });

  it('leaves no session from a login during disabling that comes back when the user is enabled again', async () => {
    const user = await signUp(app);
    const logins = await loginsDuring(user.username, PASSWORD, async () => {
      const disable = await request(app.http)
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ disabled: true });
      expect(disable.status).toBe(200);
    });
    const enable = await request(app.http)
      .patch(`/admin/users/${user.id}`)
      .set(withAdminSecret)
      .send({ disabled: false });
    expect(enable.status).toBe(200);
    const tokens = logins.filter((res) => res.status === 200).map((res) => res.body.token as string);
    const alive = (await Promise.all(tokens.map(webhookStatus))).filter((status) => status !== 401);
    expect(alive).toEqual([]);
  });

  it('answers logins during a deletion with 200 or 401, never 500, and none of their sessions lives', async () => {
    const user = await signUp(app);
    const logins = await loginsDuring(user.username, PASSWORD, async () => {
      expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
    });
    expect(logins.map((res) => res.status).filter((status) => status !== 200 && status !== 401)).toEqual([]);
    const tokens = logins.filter((res) => res.status === 200).map((res) => res.body.token as string);
    const alive = (await Promise.all(tokens.map(webhookStatus))).filter((status) => status !== 401);
    expect(alive).toEqual([]);
  });

  it('never leaves a default role that the user does not hold when a default change races a revocation', async () => {
    const role = uniqueRoleName('racing');
    await createRole(app, role);
    const user = await createUserAsAdmin(app, { roles: [role] });
    for (let round = 0; round < 20; round += 1) {
      expect((await request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret)).status).toBe(
        204,
      );
      const reset = await request(app.http)
        .patch(`/admin/users/${user.id}`)
        .set(withAdminSecret)
        .send({ defaultRole: 'user' });
      expect(reset.status).toBe(200);
      const [change, revocation] = await Promise.all([
        request(app.http).patch(`/admin/users/${user.id}`).set(withAdminSecret).send({ defaultRole: role }),
        request(app.http).delete(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret),
      ]);
      expect(revocation.status).toBe(204);
      // Either order is right: the change first (then the revocation moves the default back), or
      // the revocation first (then the change is refused).
      expect([{ status: 200 }, { status: 400, code: 'VALIDATION_FAILED' }]).toContainEqual(statusAndCode(change));
      const after = await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret);
      expect(after.body).toMatchObject({ roles: ['user'], defaultRole: 'user' });
    }
  });

  it('answers a grant that races the deletion of its role with 204 or 404 NOT_FOUND, never 500', async () => {
    const user = await signUp(app);
    const grants: { status: number; code: unknown }[] = [];
    for (let round = 0; round < 20; round += 1) {
      const role = uniqueRoleName('granted-while-deleted');
      await createRole(app, role);
      const [grant, deletion] = await Promise.all([
        request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret),
        request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret),
      ]);
      expect(deletion.status).toBe(204);
      grants.push(statusAndCode(grant));
    }
    for (const grant of grants) expect([{ status: 204 }, { status: 404, code: 'NOT_FOUND' }]).toContainEqual(grant);
  });

  it('answers a grant that races the deletion of its user with 204 or 404 "No such user.", never another refusal', async () => {
    const role = uniqueRoleName('granted-while-user-deleted');
    await createRole(app, role);
    const grants: { status: number; message?: unknown }[] = [];
    for (let round = 0; round < 20; round += 1) {
      const user = await signUp(app);
      const [grant, deletion] = await Promise.all([
        request(app.http).put(`/admin/users/${user.id}/roles/${role}`).set(withAdminSecret),
        request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret),
      ]);
      expect(deletion.status).toBe(204);
      grants.push(
        grant.status === 204 ? { status: 204 } : { status: grant.status, message: grant.body.error?.message },
      );
    }
    // The role exists throughout: a grant that lost its user must not blame the role.
    for (const grant of grants)
      expect([{ status: 204 }, { status: 404, message: 'No such user.' }]).toContainEqual(grant);
  });

  it('answers the creation of a user with a role that is being deleted with 201 or 404 NOT_FOUND, never 500', async () => {
    const creations: { status: number; code: unknown }[] = [];
    for (let round = 0; round < 20; round += 1) {
      const role = uniqueRoleName('given-while-deleted');
      await createRole(app, role);
      const [creation, deletion] = await Promise.all([
        request(app.http)
          .post('/admin/users')
          .set(withAdminSecret)
          .send({ username: uniqueUsername(), password: PASSWORD, roles: [role], defaultRole: role }),
        request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret),
      ]);
      expect(deletion.status).toBe(204);
      creations.push(statusAndCode(creation));
    }
    for (const creation of creations) {
      expect([{ status: 201 }, { status: 404, code: 'NOT_FOUND' }]).toContainEqual(creation);
    }
  });

  it('answers one of several deletions of a role at once with 204, and the others with 404 NOT_FOUND', async () => {
    const role = uniqueRoleName('deleted-twice');
    await createRole(app, role);
    // Several find the role before the first deletes it, so the delete itself must say whether it
    // deleted it. On PostgreSQL they do; PGlite, one query at a time, seldom interleaves them.
    const deletions = await Promise.all(
      Array.from({ length: 8 }, () => request(app.http).delete(`/admin/roles/${role}`).set(withAdminSecret)),
    );
    const answers = deletions.map(statusAndCode);
    expect(answers.filter((answer) => answer.status === 204)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 204)).toEqual(
      Array(7).fill({ status: 404, code: 'NOT_FOUND' }),
    );
  });
});

// One hashing thread, which other logins keep busy: the request under test has read its user's
// password hash and waits its turn at bcrypt while the deletion lands.
const ONE_HASHING_THREAD = {
  ADMIN_SECRET,
  BCRYPT_COST: '10',
  BCRYPT_THREADS: '1',
  LOGIN_FAILURE_LIMIT_PER_USERNAME: 'off',
  LOGIN_FAILURE_LIMIT_PER_USER_IP: 'off',
};

/** Failed logins that keep the one hashing thread busy for a while; settles when they are done. */
async function keepHashingBusy(app: TestApp): Promise<() => Promise<unknown>> {
  const bystander = await signUp(app);
  const busy = Array.from({ length: 4 }, () => logIn(app, bystander.username, 'wrong password').then((res) => res));
  await new Promise((resolve) => setImmediate(resolve));
  return () => Promise.all(busy);
}

describe('a login whose user is deleted while its password is being checked', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(ONE_HASHING_THREAD);
  });
  afterAll(() => app.close());

  it('is refused with 401 INVALID_CREDENTIALS, never 200 with a session that was never stored', async () => {
    const user = await signUp(app);
    const busy = await keepHashingBusy(app);
    const login = logIn(app, user.username).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
    expect(statusAndCode(await login)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    await busy();
  });

  // PGlite serves one connection, so a deletion cannot stay uncommitted while a login goes on.
  if (globalThis.TEST_DATABASE_KIND === 'postgres') {
    it('is refused with 401 INVALID_CREDENTIALS when the deletion commits after the session insert saw the user', async () => {
      const user = await signUp(app);
      const deletion = await app.database.db.transaction();
      try {
        await deletion('users').delete().where({ id: user.id });
        // The insert sees the user, not yet deleted, and its foreign key check waits for the deletion.
        const login = logIn(app, user.username).then((res) => res);
        await eventually(
          async () =>
            (
              await app.database.db.raw<{ rows: [{ waiting: number }] }>(
                "select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
              )
            ).rows[0].waiting,
          (waiting) => waiting > 0,
          10_000,
        );
        await deletion.commit();
        expect(statusAndCode(await login)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      } finally {
        if (!deletion.isCompleted()) await deletion.rollback();
      }
    });
  }
});

describe('a password change whose user is deleted while the passwords are hashed', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(ONE_HASHING_THREAD);
  });
  afterAll(() => app.close());

  it('is refused with 401 INVALID_CREDENTIALS, never 500, and the user stays deleted', async () => {
    const user = await signUp(app);
    const busy = await keepHashingBusy(app);
    const change = changePassword(app, user.token, { newPassword: 'a new long password' }).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await request(app.http).delete(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(204);
    expect(statusAndCode(await change)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    await busy();
    expect((await request(app.http).get(`/admin/users/${user.id}`).set(withAdminSecret)).status).toBe(404);
  });
});
