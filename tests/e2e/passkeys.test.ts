import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from '../support/admin';
import { launchChromium, PLATFORM_AUTHENTICATOR, type Chromium } from '../support/chromium';
import { freePort } from '../support/ports';
import { webhookGet } from '../support/requests';
import { enrolAuthenticatorApp } from '../support/second-factor';
import { statusAndCode } from '../support/responses';
import { PASSWORD, bearer, signUp, startTestApp, type SignedUpUser, type TestApp } from '../support/test-app';

/**
 * Passkeys in Debian's Chromium, with its virtual authenticator (CDP's WebAuthn domain) standing
 * in for a phone or a security key. WebAuthn needs a secure context and an RP ID that is a
 * domain, so the service is reached as http://localhost:<port>, never 127.0.0.1.
 */

type Json = Record<string, unknown>;

/** What the page's script uses of the browser's WebAuthn (the tests compile without the DOM's types). */
interface BrowserWebAuthn {
  PublicKeyCredential: {
    parseCreationOptionsFromJSON(json: Json): unknown;
    parseRequestOptionsFromJSON(json: Json): unknown;
  };
  navigator: {
    credentials: {
      create(options: { publicKey: unknown }): Promise<{ toJSON(): Json }>;
      get(options: { publicKey: unknown }): Promise<{ toJSON(): Json }>;
    };
  };
}

describe('passkeys, in a real Chromium with a virtual authenticator', () => {
  let app: TestApp;
  let origin: string;
  let chromium: Chromium;
  let browser: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    // The RP ID and origin default to localhost and this port.
    app = await startTestApp({ PORT: String(port), ADMIN_SECRET });
    chromium = await launchChromium();
    browser = chromium.context;
    page = await browser.newPage();
    await page.goto(`${origin}/healthz`);
    cdp = await browser.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: PLATFORM_AUTHENTICATOR }));
  });

  afterAll(async () => {
    await chromium?.close();
    await app?.close();
  });

  const http = () => request(app.http);

  /** navigator.credentials.create() in the page, with the service's options: the browser's answer, as JSON. */
  const createInBrowser = (options: Json) =>
    page.evaluate(async (json) => {
      const { PublicKeyCredential, navigator } = globalThis as unknown as BrowserWebAuthn;
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(json);
      return (await navigator.credentials.create({ publicKey })).toJSON();
    }, options);

  /** navigator.credentials.get() in the page: the browser's answer, as JSON. */
  const getInBrowser = (options: Json) =>
    page.evaluate(async (json) => {
      const { PublicKeyCredential, navigator } = globalThis as unknown as BrowserWebAuthn;
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(json);
      return (await navigator.credentials.get({ publicKey })).toJSON();
    }, options);

  async function registerPasskey(user: SignedUpUser, name?: string) {
    const options = await http().post('/me/passkeys/options').set(bearer(user.token)).send({}).expect(200);
    const response = await createInBrowser(options.body as Json);
    const registered = await http().post('/me/passkeys').set(bearer(user.token)).send({ response, name });
    return { options: options.body as Json, response, registered };
  }

  async function logInWithPasskey(username?: string) {
    const options = await http().post('/login/passkey/options').send().expect(200);
    const response = await getInBrowser(options.body as Json);
    return {
      options: options.body as Json,
      response,
      res: await http().post('/login/passkey').send({ response, username }),
    };
  }

  /** Each user's passkey replaces the last one's in the authenticator (one resident key per site and user). */
  const forgetPasskeys = () => cdp.send('WebAuthn.clearCredentials', { authenticatorId });

  it('registers a passkey and logs in with it alone, without a username: two factors, as Hasura sees', async () => {
    // Someone else's passkey, from another device: untouched by what follows.
    await forgetPasskeys();
    const someoneElse = await signUp(app);
    const theirs = (await registerPasskey(someoneElse, 'Theirs')).registered.body as Json;
    await forgetPasskeys();
    const user = await signUp(app);
    const { options, registered } = await registerPasskey(user, 'My laptop');
    expect(options).toMatchObject({ rp: { id: 'localhost' }, challenge: expect.any(String) });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      name: 'My laptop',
      deviceType: expect.stringMatching(/^(singleDevice|multiDevice)$/),
      backedUp: expect.any(Boolean),
      createdAt: expect.any(String),
      lastUsedAt: null,
    });
    const listed = await http().get('/me/passkeys').set(bearer(user.token)).expect(200);
    expect(listed.body.passkeys).toEqual([registered.body]);
    expect((await http().get('/me').set(bearer(user.token))).body.mfa).toEqual({ totp: false, passkeys: 1 });

    const { options: loginOptions, res } = await logInWithPasskey();
    // A passkey alone logs in only with its user verified (PIN, biometrics): two factors.
    expect(loginOptions).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(loginOptions.allowCredentials ?? []).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, username: user.username, token: expect.any(String) });
    expect((await http().get('/me').set(bearer(res.body.token))).body.session.amr).toEqual(['hwk', 'mfa']);
    expect((await webhookGet(app, res.body.token)).body).toMatchObject({
      'X-Hasura-User-Id': String(user.id),
      'X-Hasura-Mfa': 'true',
    });
    const used = (await http().get('/me/passkeys').set(bearer(user.token))).body.passkeys[0];
    expect(used.lastUsedAt).not.toBeNull();
    await http().patch(`/me/passkeys/${used.id}`).set(bearer(user.token)).send({ name: 'Renamed' }).expect(200);
    expect((await http().get('/me/passkeys').set(bearer(someoneElse.token))).body.passkeys).toEqual([theirs]);
  });

  it('logs in with a username only with that user’s passkey', async () => {
    await forgetPasskeys();
    const user = await signUp(app);
    const other = await signUp(app);
    expect((await registerPasskey(user)).registered.status).toBe(201);
    expect((await logInWithPasskey(user.username.toUpperCase())).res.status).toBe(200);
    expect(statusAndCode((await logInWithPasskey(other.username)).res)).toEqual({
      status: 401,
      code: 'INVALID_PASSKEY',
    });
  });

  it('logs in for a JWT-mode token pair, whose claims say x-hasura-mfa', async () => {
    await forgetPasskeys();
    const user = await signUp(app);
    expect((await registerPasskey(user)).registered.status).toBe(201);
    const options = await http().post('/login/passkey/options').send().expect(200);
    const response = await getInBrowser(options.body as Json);
    const pair = await http().post('/token/passkey').send({ response, username: user.username });
    expect(pair.status).toBe(200);
    const [, payload = ''] = (pair.body.accessToken as string).split('.');
    const claims = (JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, Json>)[
      'https://hasura.io/jwt/claims'
    ];
    expect(claims).toMatchObject({ 'x-hasura-user-id': String(user.id), 'x-hasura-mfa': 'true' });
    // The answer was used: the same one is no good for a session either.
    expect(statusAndCode(await http().post('/login/passkey').send({ response }))).toEqual({
      status: 401,
      code: 'INVALID_PASSKEY',
    });
  });

  it('refuses an answer used twice, a passkey registered twice, and a counter that went back (a clone)', async () => {
    await forgetPasskeys();
    const user = await signUp(app);
    const { options, response, registered } = await registerPasskey(user);
    expect(registered.status).toBe(201);

    // The browser will not register an authenticator the options exclude.
    const again = await http().post('/me/passkeys/options').set(bearer(user.token)).send({}).expect(200);
    expect(again.body.excludeCredentials).toEqual([expect.objectContaining({ id: registered.body.id })]);
    await expect(createInBrowser(again.body as Json)).rejects.toThrow(/InvalidStateError|excluded|already/i);
    // The same answer again: its challenge was used.
    const replayed = await http().post('/me/passkeys').set(bearer(user.token)).send({ response });
    expect(statusAndCode(replayed)).toEqual({ status: 400, code: 'PASSKEY_REJECTED' });
    // An answer for a fresh challenge that carries the same credential (a "none" attestation
    // signs nothing, so only the database can tell): refused as registered already.
    const clientData = JSON.parse(
      Buffer.from((response.response as Json).clientDataJSON as string, 'base64url').toString(),
    ) as Json;
    expect(clientData.challenge).toBe(options.challenge);
    const relabelled = {
      ...response,
      response: {
        ...(response.response as Json),
        clientDataJSON: Buffer.from(JSON.stringify({ ...clientData, challenge: again.body.challenge })).toString(
          'base64url',
        ),
      },
    };
    const duplicate = await http().post('/me/passkeys').set(bearer(user.token)).send({ response: relabelled });
    expect(statusAndCode(duplicate)).toEqual({ status: 409, code: 'PASSKEY_EXISTS' });

    // One answer sent twice at once: one session.
    const options2 = await http().post('/login/passkey/options').send().expect(200);
    const assertion = await getInBrowser(options2.body as Json);
    const both = await Promise.all([1, 2].map(() => http().post('/login/passkey').send({ response: assertion })));
    expect(both.map((res) => res.status).sort()).toEqual([200, 401]);
    expect(statusAndCode(await http().post('/login/passkey').send({ response: assertion }))).toEqual({
      status: 401,
      code: 'INVALID_PASSKEY',
    });

    // A clone: the same key, with a signature counter behind the one the service saw last.
    expect((await logInWithPasskey()).res.status).toBe(200);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const [credential] = credentials;
    expect(credential!.signCount).toBeGreaterThan(1);
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential!.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential!, signCount: 0 } });
    expect(statusAndCode((await logInWithPasskey()).res)).toEqual({ status: 401, code: 'INVALID_PASSKEY' });
  });

  it('renames and removes a passkey, which then logs in no more; never the last way into an account', async () => {
    await forgetPasskeys();
    const user = await signUp(app);
    const { registered } = await registerPasskey(user);
    const id = registered.body.id as string;
    expect(registered.body.name).toBe('Passkey');
    const rename = (name: string) => http().patch(`/me/passkeys/${id}`).set(bearer(user.token)).send({ name });
    expect((await rename('  Phone  ')).body).toMatchObject({ id, name: 'Phone' });
    expect(statusAndCode(await rename('x'.repeat(101)))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await rename('x'.repeat(100))).body.name).toBe('x'.repeat(100));
    expect((await rename(' ')).body.name).toBe('Passkey');
    const other = await signUp(app);
    expect(statusAndCode(await http().delete(`/me/passkeys/${id}`).set(bearer(other.token)))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });

    // Without a password, the passkey is the last way in.
    const users = () => app.database.db<{ id: number; password_hash: string | null }>('users').where({ id: user.id });
    const passwordHash = (await users().select('password_hash').first())!.password_hash;
    await users().update({ password_hash: null });
    expect(statusAndCode(await http().delete(`/me/passkeys/${id}`).set(bearer(user.token)))).toEqual({
      status: 409,
      code: 'LAST_LOGIN_METHOD',
    });
    await users().update({ password_hash: passwordHash });
    expect((await http().delete(`/me/passkeys/${id}`).set(bearer(user.token))).status).toBe(204);
    expect(statusAndCode((await logInWithPasskey()).res)).toEqual({ status: 401, code: 'INVALID_PASSKEY' });
  });

  it('are removed with every other factor by an admin’s reset, for a user who lost the device', async () => {
    await forgetPasskeys();
    const user = await signUp(app);
    expect((await registerPasskey(user)).registered.status).toBe(201);
    await http().delete(`/admin/users/${user.id}/mfa`).set(withAdminSecret).expect(204);
    expect((await http().get(`/admin/users/${user.id}`).set(withAdminSecret)).body.mfa).toEqual({
      totp: false,
      passkeys: 0,
    });
    expect(statusAndCode((await logInWithPasskey()).res)).toEqual({ status: 401, code: 'INVALID_PASSKEY' });
  });

  it('asks an old session for the password before it registers a passkey', async () => {
    const user = await signUp(app);
    app.clock.advanceSeconds(5 * 60 + 1);
    const asked = await http().post('/me/passkeys/options').set(bearer(user.token)).send({});
    expect(statusAndCode(asked)).toEqual({ status: 403, code: 'PASSWORD_REQUIRED' });
    const confirmed = await http().post('/me/passkeys/options').set(bearer(user.token)).send({ password: PASSWORD });
    expect(confirmed.status).toBe(200);
  });
  describe('as the second step after a password', () => {
    /** A user with an authenticator app, whose logins therefore take a second step, and a passkey. */
    async function userWithAppAndPasskey() {
      await forgetPasskeys();
      const user = await signUp(app);
      await enrolAuthenticatorApp(app, user.token);
      const { registered } = await registerPasskey(user, 'Key');
      return { user, passkeyId: registered.body.id as string };
    }

    const firstStep = async (path: '/login' | '/token', username: string) => {
      const res = await http().post(path).send({ username, password: PASSWORD });
      expect(statusAndCode(res)).toEqual({ status: 401, code: 'MFA_REQUIRED' });
      return res.body as { challenge: string; methods: string[] };
    };

    it('is offered, and proves it once: a session whose amr says password and key', async () => {
      const { user, passkeyId } = await userWithAppAndPasskey();
      const { challenge, methods } = await firstStep('/login', user.username);
      expect(methods).toEqual(['totp', 'recovery_code', 'passkey']);
      const options = await http().post('/login/mfa/passkey/options').send({ challenge }).expect(200);
      expect(options.body.allowCredentials).toEqual([expect.objectContaining({ id: passkeyId })]);
      const response = await getInBrowser(options.body as Json);

      const finished = await http().post('/login/mfa').send({ challenge, passkey: response });
      expect(finished.status).toBe(200);
      const session = await http()
        .get('/session')
        .set(bearer(finished.body.token as string))
        .expect(200);
      expect(session.body.amr).toEqual(['pwd', 'hwk', 'mfa']);
      const seen = await webhookGet(app, finished.body.token as string).expect(200);
      expect(seen.body['X-Hasura-Mfa']).toBe('true');

      // The same answer again, on a new challenge: its WebAuthn challenge was used.
      const next = await firstStep('/login', user.username);
      const replayed = await http().post('/login/mfa').send({ challenge: next.challenge, passkey: response });
      expect(statusAndCode(replayed)).toEqual({ status: 401, code: 'INVALID_MFA_CODE' });
      expect(replayed.body.attemptsLeft).toBe(4);
    });

    it('gives one session when one answer is sent to two logins at once, and none after a logout-all', async () => {
      const { user } = await userWithAppAndPasskey();
      const [first, second] = [await firstStep('/login', user.username), await firstStep('/login', user.username)];
      const options = await http().post('/login/mfa/passkey/options').send({ challenge: first.challenge }).expect(200);
      const response = await getInBrowser(options.body as Json);
      const raced = await Promise.all(
        [first, second].map(({ challenge }) => http().post('/login/mfa').send({ challenge, passkey: response })),
      );
      expect(raced.map((res) => res.status).sort()).toEqual([200, 401]);

      // The epoch the first step saw: a logout-all before the passkey answers voids the challenge.
      const pending = await firstStep('/login', user.username);
      const fresh = await getInBrowser(
        (await http().post('/login/mfa/passkey/options').send({ challenge: pending.challenge }).expect(200))
          .body as Json,
      );
      await http().post('/logout/all').set(bearer(user.token)).expect(204);
      const afterLogout = await http().post('/login/mfa').send({ challenge: pending.challenge, passkey: fresh });
      expect(statusAndCode(afterLogout)).toEqual({ status: 401, code: 'INVALID_MFA_CHALLENGE' });
    });

    it('takes neither another user’s passkey nor an answer to the passwordless login’s options', async () => {
      const { user: someoneElse } = await userWithAppAndPasskey();
      const otherOptions = await http()
        .post('/login/mfa/passkey/options')
        .send({ challenge: (await firstStep('/login', someoneElse.username)).challenge })
        .expect(200);
      const othersAnswer = await getInBrowser(otherOptions.body as Json);
      const { user } = await userWithAppAndPasskey();
      const { challenge } = await firstStep('/login', user.username);
      const withOthers = await http().post('/login/mfa').send({ challenge, passkey: othersAnswer });
      expect(statusAndCode(withOthers)).toEqual({ status: 401, code: 'INVALID_MFA_CODE' });

      const passwordless = (await logInWithPasskey()).response;
      const withPasswordless = await http().post('/login/mfa').send({ challenge, passkey: passwordless });
      expect(statusAndCode(withPasswordless)).toEqual({ status: 401, code: 'INVALID_MFA_CODE' });
    });

    it('finishes a JWT-mode login too, and has no options for an account without a passkey', async () => {
      const { user } = await userWithAppAndPasskey();
      const { challenge } = await firstStep('/token', user.username);
      const options = await http().post('/login/mfa/passkey/options').send({ challenge }).expect(200);
      const pair = await http()
        .post('/token/mfa')
        .send({ challenge, passkey: await getInBrowser(options.body as Json) });
      expect(pair.status).toBe(200);
      expect(pair.body.accessToken).toEqual(expect.any(String));

      const bare = await signUp(app);
      await enrolAuthenticatorApp(app, bare.token);
      const withoutPasskey = await firstStep('/login', bare.username);
      expect(withoutPasskey.methods).toEqual(['totp', 'recovery_code']);
      const none = await http().post('/login/mfa/passkey/options').send({ challenge: withoutPasskey.challenge });
      expect(statusAndCode(none)).toEqual({ status: 404, code: 'NOT_FOUND' });
      const unknown = await http()
        .post('/login/mfa/passkey/options')
        .send({ challenge: 'x'.repeat(43) });
      expect(statusAndCode(unknown)).toEqual({ status: 401, code: 'INVALID_MFA_CHALLENGE' });
    });
  });
});
