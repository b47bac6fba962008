// A real OpenID Provider (oidc-provider, the certified library) on 127.0.0.1, for the suites about
// logging in through identity providers. It runs in Jest's own process, started by the projects'
// global setups (ESM, outside the test sandbox), and its issuer reaches the suites as
// TEST_OIDC_ISSUER.
//
// Clients register themselves (dynamic registration), each with its test app's callback URL.
// Its login page is a form where the test, as the person logging in, says who they are at the
// provider: subject, email, whether the provider verified it, a preferred username. Consent is
// never asked: a grant for the scopes asked is made at once.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const accounts = new Map();

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function loginPage(uid, hint) {
  return `<!doctype html><html><head><title>Test provider login</title></head><body>
<h1>Test provider</h1>
<form method="post" action="/interaction/${escape(uid)}">
<label>Subject <input name="sub" value="${escape(hint)}"></label>
<label>Email <input name="email"></label>
<label><input type="checkbox" name="email_verified" value="true"> Verified</label>
<label>Preferred username <input name="preferred_username"></label>
<label>Name <input name="name"></label>
<button type="submit" name="decision" value="allow">Log in</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Starts the provider; answers its issuer and a function that stops it. */
export async function startOpenIdProvider() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: [],
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
    },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const claims = accounts.get(sub) ?? { sub };
      return { accountId: sub, claims: async () => claims };
    },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    jwks: {
      keys: [
        {
          ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
          kid: 'test-key',
        },
      ],
    },
    ttl: { Session: 60, Interaction: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><p>${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`;
    },
  });
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    const interaction = /^\/interaction\/([\w-]+)$/.exec(req.url ?? '');
    if (!interaction) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(loginPage(details.uid, details.params.login_hint ?? ''));
        return;
      }
      const form = await readForm(req);
      if (form.get('decision') === 'deny') {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'cancelled' });
        return;
      }
      const sub = form.get('sub') || randomBytes(6).toString('hex');
      const claims = { sub };
      for (const name of ['email', 'preferred_username', 'name']) if (form.get(name)) claims[name] = form.get(name);
      if (claims.email) claims.email_verified = form.get('email_verified') === 'true';
      accounts.set(sub, claims);
      await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    } catch (error) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    }
  });
  // Neither the server nor its connections keep Jest's process alive after the run.
  server.unref();
  server.on('connection', (socket) => socket.unref());
  return { issuer, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** For the global setups: starts one provider per Jest run, whatever the number of projects. */
export async function provideOpenIdProvider() {
  if (process.env.TEST_OIDC_ISSUER) return;
  const { issuer } = await startOpenIdProvider();
  process.env.TEST_OIDC_ISSUER = issuer;
}
