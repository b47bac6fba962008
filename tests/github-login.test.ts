import request from 'supertest';
import { ADMIN_SECRET, withAdminSecret } from './support/admin';
import { GITHUB_CLIENT, startFakeGitHub, type FakeGitHub, type GitHubUser } from './support/fake-github';
import {
  PUBLIC_URL,
  RETURN_TO,
  exchangeCode,
  logInThroughProvider,
  redirectParameters,
} from './support/identity-providers';
import { webhookGet } from './support/requests';
import { bearer, startTestApp, type TestApp } from './support/test-app';

let nextGitHubId = 1000 + Math.floor(Math.random() * 1_000_000);

function gitHubUser(extra: Partial<GitHubUser> = {}): GitHubUser {
  const id = nextGitHubId++;
  return {
    id,
    login: `octo-${id}`,
    name: 'The Octocat',
    emails: [
      { email: `octo-${id}@users.example.com`, primary: false, verified: true },
      { email: `octo-${id}@example.com`, primary: true, verified: true },
    ],
    ...extra,
  };
}

describe('logging in through GitHub', () => {
  let github: FakeGitHub;
  let app: TestApp;
  beforeAll(async () => {
    github = await startFakeGitHub();
    app = await startTestApp({
      PUBLIC_URL,
      ALLOWED_RETURN_URLS: new URL(RETURN_TO).origin,
      ADMIN_SECRET,
      // issuer: a GitHub Enterprise Server's URL, as this fake serves GitHub's paths under it.
      IDENTITY_PROVIDERS: JSON.stringify([
        { id: 'github', type: 'github', name: 'GitHub', issuer: github.url, ...GITHUB_CLIENT },
      ]),
    });
  });
  afterAll(async () => {
    await app.close();
    await github.close();
  });

  const logInAs = async (user: GitHubUser) => {
    github.signIn(user);
    return logInThroughProvider(app, 'github', { sub: 'ignored: GitHub decides who is signed in' });
  };

  it('creates the user from /user and /user/emails, finds them again by their numeric id, and Hasura sees a user', async () => {
    const octocat = gitHubUser();
    const first = await exchangeCode(app, await logInAs(octocat));
    const me = await request(app.http).get('/me').set(bearer(first.token)).expect(200);
    expect(me.body).toMatchObject({
      username: octocat.login,
      displayName: 'The Octocat',
      email: `octo-${octocat.id}@example.com`,
      emailVerified: true,
    });
    const identities = await request(app.http).get('/me/identities').set(bearer(first.token)).expect(200);
    expect(identities.body.identities).toEqual([
      expect.objectContaining({ provider: 'github', issuer: github.url, subject: String(octocat.id) }),
    ]);
    // With PKCE: GitHub was given the verifier of the challenge it saw.
    expect(github.tokenRequests.at(-1)?.get('code_verifier')).toMatch(/^[\w-]{43}$/);
    const hook = await webhookGet(app, first.token).expect(200);
    expect(hook.body['X-Hasura-User-Id']).toBe(String(first.id));

    // A new login name at GitHub is the same person: the id decides.
    const renamed = await exchangeCode(app, await logInAs({ ...octocat, login: 'renamed-octocat' }));
    expect(renamed.id).toBe(first.id);
  });

  it('keeps an address GitHub has not verified unverified', async () => {
    const user = gitHubUser();
    user.emails = [{ email: `unverified-${user.id}@example.com`, primary: true, verified: false }];
    const { token } = await exchangeCode(app, await logInAs(user));
    const me = await request(app.http).get('/me').set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({ email: `unverified-${user.id}@example.com`, emailVerified: false });
  });

  it('treats a token answer of 200 with an error as the failure it is', async () => {
    github.failNextTokenRequest('bad_verification_code');
    const before = (await request(app.http).get('/admin/users?limit=1').set(withAdminSecret)).body.total;
    const res = await logInAs(gitHubUser());
    expect(redirectParameters(res).get('error')).toBe('provider_error');
    expect(String(res.headers['set-cookie'])).not.toMatch(/hasura_auth_session=[^;]/);
    expect((await request(app.http).get('/admin/users?limit=1').set(withAdminSecret)).body.total).toBe(before);
  });

  it('sends the browser back with access_denied when the user says no at GitHub', async () => {
    github.signIn(undefined);
    const res = await logInThroughProvider(app, 'github', { sub: 'nobody' });
    expect(redirectParameters(res).get('error')).toBe('access_denied');
  });
});
