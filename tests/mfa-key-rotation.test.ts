import { createSecretKey, randomBytes } from 'node:crypto';
import type { TOTP } from 'otpauth';
import request from 'supertest';
import { loadConfig, type Env } from '../src/config';
import { openDatabase } from '../src/db/database';
import { createSecretBox } from '../src/domain/secret-box';
import { cliDatabase, runCliCapturing } from './support/cli';
import { statusAndCode } from './support/responses';
import { enrolAuthenticatorApp } from './support/second-factor';
import { PASSWORD, signUp, startPeerInstance, startTestApp, type TestApp } from './support/test-app';

/**
 * Rotating MFA_ENCRYPTION_KEY: the old key goes to MFA_ENCRYPTION_PREVIOUS_KEYS, where it still
 * opens the authenticator apps' secrets it sealed, until `cli reseal-mfa-secrets` has sealed them
 * again with the new key; then it can go.
 */

const newKeyHex = () => randomBytes(32).toString('hex');

describe('rotating MFA_ENCRYPTION_KEY', () => {
  const oldKey = newKeyHex();
  const newKey = newKeyHex();
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ MFA_ENCRYPTION_KEY: oldKey });
  });

  afterAll(async () => {
    await app.close();
  });

  /** A user whose app was set up under the old key, and that app. */
  async function enrolled() {
    const user = await signUp(app);
    const { totp } = await enrolAuthenticatorApp(app, user.token);
    return { user, totp };
  }

  /** Logs in through `http` with the password and the app's next code. */
  async function logInWithCode(http: string, username: string, totp: TOTP) {
    app.clock.advanceSeconds(30);
    const first = await request(http).post('/login').send({ username, password: PASSWORD });
    expect(statusAndCode(first)).toEqual({ status: 401, code: 'MFA_REQUIRED' });
    return request(http)
      .post('/login/mfa')
      .send({ challenge: first.body.challenge, code: totp.generate({ timestamp: app.clock.now().getTime() }) });
  }

  it('keeps every app working through the rotation, and the old key can go after the reseal', async () => {
    const { user, totp } = await enrolled();
    const rotated = await startPeerInstance(app, { MFA_ENCRYPTION_KEY: newKey, MFA_ENCRYPTION_PREVIOUS_KEYS: oldKey });
    expect((await logInWithCode(rotated, user.username, totp)).status).toBe(200);

    // Without the old key, the secret it sealed opens with nothing: an outage of that factor, not a wrong code.
    const newKeyOnly = await startPeerInstance(app, { MFA_ENCRYPTION_KEY: newKey });
    expect((await logInWithCode(newKeyOnly, user.username, totp)).status).toBe(500);

    const config = loadConfig({ MFA_ENCRYPTION_KEY: newKey, MFA_ENCRYPTION_PREVIOUS_KEYS: oldKey });
    const box = createSecretBox(config.secondFactors.encryptionKey!, config.secondFactors.previousEncryptionKeys);
    const rows = await app.database.db('totp_factors').select('user_id', 'secret_ciphertext');
    expect(rows.length).toBeGreaterThan(0);
    // The reseal, as the CLI runs it, through a rotated instance's services.
    const peerServices = app.peers.at(-2)!.services;
    expect(await peerServices.secondFactors.resealSecrets()).toEqual({ resealed: rows.length, unreadable: 0 });
    expect(await peerServices.secondFactors.resealSecrets()).toEqual({ resealed: 0, unreadable: 0 });
    for (const row of await app.database.db('totp_factors').select('user_id', 'secret_ciphertext')) {
      expect(box.reseal(row.secret_ciphertext as string, `totp:${row.user_id}`)).toBeUndefined();
    }

    expect((await logInWithCode(newKeyOnly, user.username, totp)).status).toBe(200);
    // The first instance, on the old key alone, no longer opens what is now sealed with the new one.
    expect((await logInWithCode(app.http, user.username, totp)).status).toBe(500);
  });
});

describe('npm run cli -- reseal-mfa-secrets', () => {
  let env: Env;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ env, dispose } = await cliDatabase());
  });
  afterAll(() => dispose());

  const cli = (extraEnv: Env) => runCliCapturing(['reseal-mfa-secrets'], { ...env, ...extraEnv });

  it('seals again what the previous key sealed, says when the previous keys can go, and names what no key opens', async () => {
    const [oldKey, newKey, unknownKey] = [newKeyHex(), newKeyHex(), newKeyHex()];
    const created = await runCliCapturing(['create-admin', '--username', 'mfa-keys-admin'], {
      ...env,
      ADMIN_PASSWORD: PASSWORD,
    });
    expect(created.code).toBe(0);
    const db = openDatabase(loadConfig(env).database);
    try {
      const { id } = await db('users').where({ username: 'mfa-keys-admin' }).first<{ id: number }>('id');
      const sealed = createSecretBox(createSecretKey(Buffer.from(oldKey, 'hex'))).seal(
        'JBSWY3DPEHPK3PXP',
        `totp:${id}`,
      );
      await db('totp_factors').insert({ user_id: id, secret_ciphertext: sealed, created_at: new Date() });
    } finally {
      await db.destroy();
    }

    const first = await cli({ MFA_ENCRYPTION_KEY: newKey, MFA_ENCRYPTION_PREVIOUS_KEYS: oldKey });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(
      'Sealed 1 authenticator app secrets again with MFA_ENCRYPTION_KEY.\nMFA_ENCRYPTION_PREVIOUS_KEYS can now be removed.\n',
    );
    const again = await cli({ MFA_ENCRYPTION_KEY: newKey });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Sealed 0 /);

    const lost = await cli({ MFA_ENCRYPTION_KEY: unknownKey });
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/^1 secrets open with none of the keys/);
    expect(`${first.stdout}${lost.stderr}`).not.toContain(newKey);
  });
});
