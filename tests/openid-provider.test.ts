import * as oidc from 'openid-client';
import { Browser, logInThroughApp, registerApp, startProviderApp } from './support/openid-apps';
import { signUp, type TestApp } from './support/test-app';

describe('the OpenID Provider, for an app with openid-client', () => {
  let app: TestApp & { issuer: string };
  beforeAll(async () => {
    app = await startProviderApp();
  });
  afterAll(() => app.close());

  it('logs a user in with code and PKCE, and gives an ID token for them', async () => {
    const registered = await registerApp(app);
    const user = await signUp(app);
    const { tokens } = await logInThroughApp(new Browser(), registered, user.username);
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(String(user.id));
    expect(claims.iss).toBe(app.issuer);
    const info = await oidc.fetchUserInfo(registered.config, tokens.access_token, claims.sub);
    expect(info.preferred_username).toBe(user.username);
  });
});
