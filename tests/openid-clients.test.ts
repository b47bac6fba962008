import { createHash } from 'node:crypto';
import request from 'supertest';
import { loadConfig, type Env } from '../src/config';
import { openDatabase } from '../src/db/database';
import { withAdminSecret } from './support/admin';
import { cliDatabase, runCliCapturing } from './support/cli';
import { APP_CALLBACK, Browser, logInThroughApp, registerApp, startProviderApp } from './support/openid-apps';
import { statusAndCode } from './support/responses';
import { bearer, signUp, type TestApp } from './support/test-app';

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

describe('the admin API of the OpenID Provider’s clients', () => {
  let app: TestApp & { issuer: string };
  beforeAll(async () => {
    app = await startProviderApp();
  });
  afterAll(() => app.close());

  const admin = () => request(app.http);

  it('registers a confidential client with a secret shown once and kept only as a hash, and lists it', async () => {
    const created = await admin()
      .post('/admin/clients')
      .set(withAdminSecret)
      .send({ name: 'Billing', type: 'confidential', redirectUris: ['https://billing.example.com/callback'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Billing',
      type: 'confidential',
      tokenEndpointAuthMethod: 'client_secret_basic',
      redirectUris: ['https://billing.example.com/callback'],
      postLogoutRedirectUris: [],
      firstParty: false,
      backchannelLogoutUri: null,
      clientSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const { clientId, clientSecret } = created.body;
    const stored = await app.database.db('oidc_clients').where({ client_id: clientId }).first();
    expect(stored.secret_hash).toBe(sha256(clientSecret));
    expect(JSON.stringify(stored)).not.toContain(clientSecret);

    const shown = await admin().get(`/admin/clients/${clientId}`).set(withAdminSecret);
    expect(shown.status).toBe(200);
    expect(shown.body.clientSecret).toBeUndefined();
    const listed = await admin().get('/admin/clients').set(withAdminSecret);
    expect(listed.body.clients.map((each: { clientId: string }) => each.clientId)).toContain(clientId);
  });

  it('gives a public client no secret, and no way to get one', async () => {
    const created = await admin()
      .post('/admin/clients')
      .set(withAdminSecret)
      .send({ name: 'SPA', type: 'public', redirectUris: ['http://localhost:5173/callback'] });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toBeUndefined();
    expect(created.body.tokenEndpointAuthMethod).toBe('none');
    const rotated = await admin().post(`/admin/clients/${created.body.clientId}/secret`).set(withAdminSecret);
    expect(statusAndCode(rotated)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it.each([
    ['http away from localhost', 'http://app.example.com/callback'],
    ['a fragment', 'https://app.example.com/callback#x'],
    ['a relative URI', '/callback'],
    ['another scheme', 'javascript:alert(1)'],
  ])('refuses a redirect URI with %s, naming the field', async (_what, uri) => {
    const res = await admin()
      .post('/admin/clients')
      .set(withAdminSecret)
      .send({ name: 'Bad', type: 'public', redirectUris: [uri] });
    expect(statusAndCode(res)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(res.body.error.details[0].path).toBe('redirectUris.0');
  });

  it('changes URIs, name and first-party flag, and says 404 for a client that is not there', async () => {
    const { clientId } = (
      await admin()
        .post('/admin/clients')
        .set(withAdminSecret)
        .send({ name: 'Old', type: 'public', redirectUris: ['https://a.example.com/cb'] })
    ).body;
    const changed = await admin()
      .patch(`/admin/clients/${clientId}`)
      .set(withAdminSecret)
      .send({ name: 'New', redirectUris: ['https://b.example.com/cb'], firstParty: true });
    expect(changed.body).toMatchObject({ name: 'New', redirectUris: ['https://b.example.com/cb'], firstParty: true });
    expect(statusAndCode(await admin().get('/admin/clients/nobody').set(withAdminSecret))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(
      statusAndCode(await admin().patch('/admin/clients/nobody').set(withAdminSecret).send({ name: 'x' })),
    ).toEqual({ status: 404, code: 'NOT_FOUND' });
  });

  it('deletes a client with every token it was given', async () => {
    const registered = await registerApp(app, { firstParty: true });
    const user = await signUp(app);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
    const userinfo = () =>
      fetch(`${app.issuer}/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect((await userinfo()).status).toBe(200);

    expect((await admin().delete(`/admin/clients/${registered.clientId}`).set(withAdminSecret)).status).toBe(204);
    expect((await userinfo()).status).toBe(401);
    const left = await app.database.db('oidc_models').where({ client_id: registered.clientId }).select('id_hash');
    expect(left).toEqual([]);
  });

  it('is for admins only', async () => {
    const user = await signUp(app);
    const asUser = await admin().get('/admin/clients').set(bearer(user.token));
    expect(asUser.status).toBe(403);
    expect((await admin().get('/admin/clients')).status).toBe(401);
    const created = await admin()
      .post('/admin/clients')
      .set(bearer(user.token))
      .send({ name: 'x', type: 'public', redirectUris: [APP_CALLBACK] });
    expect(created.status).toBe(403);
  });
});

describe('npm run cli -- create-client', () => {
  let env: Env;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ env, dispose } = await cliDatabase());
  });
  afterAll(() => dispose());

  it('registers a client without HTTP, prints it with its secret, and keeps only the hash', async () => {
    const created = await runCliCapturing(
      [
        'create-client',
        '--name',
        'Dashboard',
        '--type',
        'confidential',
        '--redirect-uri',
        'https://dash.example.com/callback',
        '--redirect-uri',
        'http://localhost:3000/callback',
        '--first-party',
      ],
      env,
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const printed = JSON.parse(created.stdout);
    expect(printed).toMatchObject({
      name: 'Dashboard',
      type: 'confidential',
      firstParty: true,
      redirectUris: ['https://dash.example.com/callback', 'http://localhost:3000/callback'],
    });
    const db = openDatabase(loadConfig(env).database);
    try {
      const stored = await db('oidc_clients').where({ client_id: printed.clientId }).first();
      expect(stored).toMatchObject({ name: 'Dashboard', first_party: true, secret_hash: sha256(printed.clientSecret) });
    } finally {
      await db.destroy();
    }
  });

  it('refuses a client that is not valid, saying why, with exit code 2', async () => {
    const refused = await runCliCapturing(
      ['create-client', '--name', 'Bad', '--type', 'public', '--redirect-uri', 'http://evil.example.com/cb'],
      env,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('redirectUris.0: must be an absolute https URL');
    expect(refused.stdout).toBe('');
  });
});
