import request from 'supertest';
import type { Env } from '../src/config';
import { webhookGet } from './support/requests';
import { expectCleanErrorBody, statusAndCode } from './support/responses';
import {
  PASSWORD,
  bearer,
  signUp,
  startPeerInstance,
  startTestApp,
  uniqueUsername,
  type TestApp,
} from './support/test-app';

const WRONG = 'not the password at all';

let addressCounter = 0;
/** A client address of its own (TEST-NET-3), sent through the trusted loopback proxy. */
function newAddress(): string {
  addressCounter += 1;
  return `203.0.113.${addressCounter}`;
}

const from = (address: string) => ({ 'X-Forwarded-For': address });

function logInFrom(target: { http: string }, address: string, username: string, password: string) {
  return request(target.http).post('/login').set(from(address)).send({ username, password });
}

/** Every limit off unless a test names it: each test is about one. */
const ALL_OFF: Env = {
  TRUST_PROXY: 'loopback',
  LOGIN_LIMIT_PER_IP: 'off',
  LOGIN_FAILURE_LIMIT_PER_USERNAME: 'off',
  LOGIN_FAILURE_LIMIT_PER_USER_IP: 'off',
  SIGNUP_LIMIT_PER_IP: 'off',
  PASSWORD_CHANGE_LIMIT_PER_IP: 'off',
};

/** Each limit, by the name its refusals are logged with, and the message it answers. */
const limitMessages = {
  'login-per-ip': 'Too many login attempts from this address.',
  'login-failures-per-username-and-ip': 'Too many failed logins to this account.',
  'login-failures-per-username': 'Too many failed logins to this account.',
  'signup-per-ip': 'Too many signups from this address.',
  'password-change-per-ip': 'Too many password changes from this address.',
} as const;

/**
 * A 429 from this limit, with a whole number of seconds to wait, and its auth event naming the
 * limit. Given the window of a limit whose first attempt came moments ago, the wait is what is
 * left of it: at most the window, and not much less.
 */
function expectRateLimited(
  app: Pick<TestApp, 'logLines'>,
  res: request.Response,
  limit: keyof typeof limitMessages,
  freshWindowSeconds?: number,
): void {
  expect(statusAndCode(res)).toEqual({ status: 429, code: 'RATE_LIMITED' });
  expectCleanErrorBody(res, 'RATE_LIMITED');
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  if (freshWindowSeconds !== undefined) {
    expect(retryAfter).toBeLessThanOrEqual(freshWindowSeconds);
    expect(retryAfter).toBeGreaterThan(freshWindowSeconds - 60);
  }
  expect(res.body.error.message).toBe(`${limitMessages[limit]} Try again in ${retryAfter} seconds.`);
  const refusals = app.logLines
    .map((line) => JSON.parse(line) as { authEvent?: string; limit?: string })
    .filter((record) => record.authEvent === 'rate_limited');
  expect(refusals.at(-1)?.limit).toBe(limit);
}

describe('rate limits', () => {
  describe('failed logins to one account from one address', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ...ALL_OFF, LOGIN_FAILURE_LIMIT_PER_USER_IP: '3/900' });
    });
    afterAll(() => app.close());

    it('answers 429 RATE_LIMITED with Retry-After once the limit is used up, even to the right password', async () => {
      const user = await signUp(app);
      const attacker = newAddress();
      for (let attempt = 0; attempt < 3; attempt++) {
        expect((await logInFrom(app, attacker, user.username, WRONG)).status).toBe(401);
      }
      expectRateLimited(
        app,
        await logInFrom(app, attacker, user.username, WRONG),
        'login-failures-per-username-and-ip',
      );
      expectRateLimited(
        app,
        await logInFrom(app, attacker, user.username, PASSWORD),
        'login-failures-per-username-and-ip',
      );
    });

    it('does not lock the owner out from another address', async () => {
      const user = await signUp(app);
      const attacker = newAddress();
      for (let attempt = 0; attempt < 4; attempt++) await logInFrom(app, attacker, user.username, WRONG);
      expect((await logInFrom(app, newAddress(), user.username, PASSWORD)).status).toBe(200);
    });

    it('counts the username as usernames are compared: in any case', async () => {
      const user = await signUp(app);
      const attacker = newAddress();
      for (const username of [user.username, user.username.toUpperCase(), user.username]) {
        expect((await logInFrom(app, attacker, username, WRONG)).status).toBe(401);
      }
      expectRateLimited(
        app,
        await logInFrom(app, attacker, user.username.toUpperCase(), WRONG),
        'login-failures-per-username-and-ip',
      );
    });

    it('forgets the failures once a login succeeds', async () => {
      const user = await signUp(app);
      const owner = newAddress();
      for (const password of [WRONG, WRONG, PASSWORD, WRONG, WRONG, PASSWORD]) {
        const res = await logInFrom(app, owner, user.username, password);
        expect(res.status).toBe(password === PASSWORD ? 200 : 401);
      }
    });

    it('counts unknown usernames too, so a 429 tells nothing about which accounts exist', async () => {
      const attacker = newAddress();
      const username = uniqueUsername('nobody');
      for (let attempt = 0; attempt < 3; attempt++) await logInFrom(app, attacker, username, WRONG);
      expectRateLimited(app, await logInFrom(app, attacker, username, WRONG), 'login-failures-per-username-and-ip');
    });
  });

  describe('failed logins to one account from many addresses', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ...ALL_OFF, LOGIN_FAILURE_LIMIT_PER_USERNAME: '4/3600' });
    });
    afterAll(() => app.close());

    it('refuses new addresses once the account limit is used up, but still admits the owner from an address that logged in before', async () => {
      const user = await signUp(app);
      const usual = newAddress();
      expect((await logInFrom(app, usual, user.username, PASSWORD)).status).toBe(200);
      for (let attempt = 0; attempt < 4; attempt++) {
        expect((await logInFrom(app, newAddress(), user.username, WRONG)).status).toBe(401);
      }
      expectRateLimited(app, await logInFrom(app, newAddress(), user.username, WRONG), 'login-failures-per-username');
      expectRateLimited(
        app,
        await logInFrom(app, newAddress(), user.username, PASSWORD),
        'login-failures-per-username',
      );
      expect((await logInFrom(app, usual, user.username, PASSWORD)).status).toBe(200);
      // That success forgot the account's failures: every address may try again.
      expect((await logInFrom(app, newAddress(), user.username, PASSWORD)).status).toBe(200);
    });
  });

  describe('logins from one address', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ...ALL_OFF, LOGIN_LIMIT_PER_IP: '3/600' });
    });
    afterAll(() => app.close());

    it('counts every attempt, to any account, successful or not, and leaves other addresses alone', async () => {
      const user = await signUp(app);
      const flooder = newAddress();
      expect((await logInFrom(app, flooder, user.username, PASSWORD)).status).toBe(200);
      expect((await logInFrom(app, flooder, uniqueUsername(), WRONG)).status).toBe(401);
      expect((await logInFrom(app, flooder, uniqueUsername(), WRONG)).status).toBe(401);
      expectRateLimited(app, await logInFrom(app, flooder, user.username, PASSWORD), 'login-per-ip', 600);
      expect((await logInFrom(app, newAddress(), user.username, PASSWORD)).status).toBe(200);
    });

    it('counts an IPv6 client by its /64', async () => {
      const user = await signUp(app);
      for (const host of ['1', '2', '3']) {
        expect((await logInFrom(app, `2001:db8:1:1::${host}`, user.username, PASSWORD)).status).toBe(200);
      }
      expectRateLimited(app, await logInFrom(app, '2001:db8:1:1:ffff::4', user.username, PASSWORD), 'login-per-ip');
      expect((await logInFrom(app, '2001:db8:1:2::1', user.username, PASSWORD)).status).toBe(200);
    });

    it('counts every spelling of one IPv6 /64 as one client', async () => {
      const user = await signUp(app);
      // 2001:db8:0:7::/64: with leading zeros, in capitals, with :: compressing a group of the prefix, in full.
      for (const address of ['2001:db8::7:0:0:0:1', '2001:0db8:0000:0007::2', '2001:db8:0:7:0:0:0:3']) {
        expect((await logInFrom(app, address, user.username, PASSWORD)).status).toBe(200);
      }
      expectRateLimited(app, await logInFrom(app, '2001:DB8:0:7:ffff::4', user.username, PASSWORD), 'login-per-ip');
    });

    it('tells apart IPv6 /64s whose groups differ only in zeros or in where they split', async () => {
      const user = await signUp(app);
      for (let attempt = 0; attempt < 3; attempt++) {
        expect((await logInFrom(app, '2001:db8:a000:bc::1', user.username, PASSWORD)).status).toBe(200);
      }
      expectRateLimited(app, await logInFrom(app, '2001:db8:a000:bc::1', user.username, PASSWORD), 'login-per-ip');
      // The last holds the same digits in the same order as the first, split into other groups.
      for (const other of ['2001:db8:a0:bc::1', '2001:db8:a000:b::c', '2001:db8:a00:0bc::1', '200:1db8:a000:bc::1']) {
        expect((await logInFrom(app, other, user.username, PASSWORD)).status).toBe(200);
      }
    });

    it('counts an IPv4 address mapped into IPv6 (::ffff:a.b.c.d) as that IPv4 address', async () => {
      const user = await signUp(app);
      // Every part more than one digit long (TEST-NET-2, not used elsewhere here).
      const address = '198.51.100.77';
      for (const written of [address, `::ffff:${address}`, `::FFFF:${address}`]) {
        expect((await logInFrom(app, written, user.username, PASSWORD)).status).toBe(200);
      }
      expectRateLimited(app, await logInFrom(app, address, user.username, PASSWORD), 'login-per-ip');
      // Only ::ffff:0:0/96 maps IPv4: the same digits after another IPv6 prefix are another client.
      expect((await logInFrom(app, `2001:db8::ffff:${address}`, user.username, PASSWORD)).status).toBe(200);
    });

    it('counts an IPv6 address that begins or ends with :: by its /64, however it is written', async () => {
      const user = await signUp(app);
      // All four in ::/64, the first four groups zero.
      for (const address of ['::1', '::2:3', '0:0:0:0:4::']) {
        expect((await logInFrom(app, address, user.username, PASSWORD)).status).toBe(200);
      }
      expectRateLimited(app, await logInFrom(app, '0000::5', user.username, PASSWORD), 'login-per-ip');
    });

    it('counts an IPv6 address that begins with :: by the groups that reach into its /64', async () => {
      const user = await signUp(app);
      // ::1:2:3:4:5:6 is 0:0:1:2:3:4:5:6, in 0:0:1:2::/64.
      for (const address of ['::1:2:3:4:5:6', '0:0:1:2::7', '0:0:1:2:ffff::']) {
        expect((await logInFrom(app, address, user.username, PASSWORD)).status).toBe(200);
      }
      expectRateLimited(app, await logInFrom(app, '::1:2:0:0:0:8', user.username, PASSWORD), 'login-per-ip');
      expect((await logInFrom(app, '::1:3:3:4:5:6', user.username, PASSWORD)).status).toBe(200);
    });

    it('never limits the webhook', async () => {
      const user = await signUp(app);
      const address = newAddress();
      for (let attempt = 0; attempt < 3; attempt++) await logInFrom(app, address, user.username, WRONG);
      for (let call = 0; call < 10; call++) {
        expect((await webhookGet(app, user.token, { headers: from(address) })).status).toBe(200);
      }
    });
  });

  describe('signups and password changes from one address', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({
        ...ALL_OFF,
        SIGNUP_LIMIT_PER_IP: '2/3600',
        PASSWORD_CHANGE_LIMIT_PER_IP: '1/3600',
      });
    });
    afterAll(() => app.close());

    it('refuses the signup over the limit with 429, and creates nobody', async () => {
      const address = newAddress();
      const signup = (username: string) =>
        request(app.http).post('/signup').set(from(address)).send({ username, password: PASSWORD });
      expect((await signup(uniqueUsername())).status).toBe(201);
      expect((await signup(uniqueUsername())).status).toBe(201);
      const refused = uniqueUsername();
      expectRateLimited(app, await signup(refused), 'signup-per-ip');
      expect((await logInFrom(app, newAddress(), refused, PASSWORD)).status).toBe(401);
    });

    it('refuses the password change over the limit with 429, and keeps the password', async () => {
      const user = await request(app.http)
        .post('/signup')
        .set(from(newAddress()))
        .send({ username: uniqueUsername(), password: PASSWORD });
      const address = newAddress();
      const change = (token: string, currentPassword: string, newPassword: string) =>
        request(app.http)
          .post('/password')
          .set(from(address))
          .set(bearer(token))
          .send({ currentPassword, newPassword });
      const first = await change(user.body.token, PASSWORD, 'the second password');
      expect(first.status).toBe(200);
      expectRateLimited(
        app,
        await change(first.body.token, 'the second password', 'the third password'),
        'password-change-per-ip',
      );
      expect((await logInFrom(app, newAddress(), user.body.username, 'the second password')).status).toBe(200);
    });
  });

  describe('turned off', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(ALL_OFF);
    });
    afterAll(() => app.close());

    it('answers every failed login with 401', async () => {
      const user = await signUp(app);
      const address = newAddress();
      for (let attempt = 0; attempt < 15; attempt++) {
        expect((await logInFrom(app, address, user.username, WRONG)).status).toBe(401);
      }
    });
  });

  describe('the client address', () => {
    it('ignores X-Forwarded-For without TRUST_PROXY: a client cannot pick a fresh address for each attempt', async () => {
      const app = await startTestApp({ ...ALL_OFF, TRUST_PROXY: undefined, LOGIN_LIMIT_PER_IP: '3/600' });
      try {
        for (let attempt = 0; attempt < 3; attempt++) {
          expect((await logInFrom(app, newAddress(), uniqueUsername(), WRONG)).status).toBe(401);
        }
        expectRateLimited(app, await logInFrom(app, newAddress(), uniqueUsername(), WRONG), 'login-per-ip');
      } finally {
        await app.close();
      }
    });

    it('with TRUST_PROXY=1 takes the address the one proxy saw, not the leftmost that the client wrote', async () => {
      const app = await startTestApp({ ...ALL_OFF, TRUST_PROXY: '1', LOGIN_LIMIT_PER_IP: '3/600' });
      try {
        const real = newAddress();
        const spoofing = () => logInFrom(app, `${newAddress()}, ${real}`, uniqueUsername(), WRONG);
        for (let attempt = 0; attempt < 3; attempt++) expect((await spoofing()).status).toBe(401);
        expectRateLimited(app, await spoofing(), 'login-per-ip');
        expect((await logInFrom(app, newAddress(), uniqueUsername(), WRONG)).status).toBe(401);
      } finally {
        await app.close();
      }
    });
  });

  // Embedded PGlite is one process's database, and keeps its counters in that process's memory.
  if (globalThis.TEST_DATABASE_KIND === 'postgres') {
    describe('on PostgreSQL, where every limit counts in one shared table', () => {
      it('keeps each limit its own count of one address', async () => {
        const app = await startTestApp({
          ...ALL_OFF,
          LOGIN_LIMIT_PER_IP: '1/3600',
          SIGNUP_LIMIT_PER_IP: '1/3600',
          PASSWORD_CHANGE_LIMIT_PER_IP: '1/3600',
        });
        try {
          const address = newAddress();
          const username = uniqueUsername();
          const signup = () =>
            request(app.http)
              .post('/signup')
              .set(from(address))
              .send({ username: uniqueUsername(), password: PASSWORD });
          const created = await request(app.http)
            .post('/signup')
            .set(from(address))
            .send({ username, password: PASSWORD });
          expect(created.status).toBe(201);
          expect((await logInFrom(app, address, username, PASSWORD)).status).toBe(200);
          const change = () =>
            request(app.http)
              .post('/password')
              .set(from(address))
              .set(bearer(created.body.token))
              .send({ currentPassword: PASSWORD, newPassword: 'the second password' });
          expect((await change()).status).toBe(200);

          expectRateLimited(app, await signup(), 'signup-per-ip');
          expectRateLimited(app, await logInFrom(app, address, username, 'the second password'), 'login-per-ip');
        } finally {
          await app.close();
        }
      });
    });

    describe('on PostgreSQL', () => {
      let app: TestApp;
      beforeEach(async () => {
        app = await startTestApp({ ...ALL_OFF, LOGIN_FAILURE_LIMIT_PER_USER_IP: '4/900' });
      });
      afterEach(() => app.close());

      it('shares the counts between two instances on one database', async () => {
        const peer = { http: await startPeerInstance(app) };
        const user = await signUp(app);
        const attacker = newAddress();
        for (const instance of [app, peer, app, peer]) {
          expect((await logInFrom(instance, attacker, user.username, WRONG)).status).toBe(401);
        }
        expectRateLimited(
          app,
          await logInFrom(app, attacker, user.username, WRONG),
          'login-failures-per-username-and-ip',
        );
        expectRateLimited(
          app,
          await logInFrom(peer, attacker, user.username, WRONG),
          'login-failures-per-username-and-ip',
        );
      });

      it('refuses with 503 DATABASE_UNAVAILABLE, not 500 and not unlimited, when the counters cannot be stored', async () => {
        const user = await signUp(app);
        await app.database.db.raw('drop table auth.rate_limit_counters');
        const res = await logInFrom(app, newAddress(), user.username, PASSWORD);
        expect(res.status).toBe(503);
        expectCleanErrorBody(res, 'DATABASE_UNAVAILABLE');
        expect(res.body.token).toBeUndefined();
        // Logged with what failed underneath, for the operator.
        const logged = app.logLines
          .map((line) => JSON.parse(line) as { code?: string; err?: { message?: string } })
          .find((record) => record.code === 'DATABASE_UNAVAILABLE');
        expect(logged?.err?.message).toContain('SQLSTATE 42P01');
      });
    });
  }
});
