import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * GitHub's OAuth endpoints and the two API calls a login makes, as GitHub documents them
 * (docs.github.com: "Authorizing OAuth apps", "Get the authenticated user", "List email addresses
 * for the authenticated user"), at the paths of a GitHub Enterprise Server: /login/oauth/* and
 * /api/v3/*. It checks what GitHub checks (client, secret, redirect URI, PKCE) and answers its
 * errors its way: the token endpoint says 200 with an `error` field.
 */

export interface GitHubUser {
  id: number;
  login: string;
  name?: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

export interface FakeGitHub {
  /** The issuer to configure: the server's base URL. */
  url: string;
  /** The user who is signed in to GitHub, who approves the next authorization. */
  signIn(user: GitHubUser | undefined): void;
  /** The token endpoint's next answer is `200 {"error": …}`, as GitHub answers a bad code. */
  failNextTokenRequest(error: string): void;
  /** Every request the token endpoint received, as form fields. */
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

export const GITHUB_CLIENT = { clientId: 'Iv1.github-client', clientSecret: 'github-client-secret' };

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  let signedIn: GitHubUser | undefined;
  let tokenFailure: string | undefined;
  const codes = new Map<string, { user: GitHubUser; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, GitHubUser>();
  const tokenRequests: URLSearchParams[] = [];

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://github.test');
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/login/oauth/authorize') {
        const redirectUri = url.searchParams.get('redirect_uri') ?? '';
        const back = new URL(redirectUri);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        if (!signedIn || url.searchParams.get('client_id') !== GITHUB_CLIENT.clientId) {
          back.searchParams.set('error', 'access_denied');
        } else {
          const code = randomBytes(10).toString('hex');
          codes.set(code, { user: signedIn, challenge: url.searchParams.get('code_challenge') ?? '', redirectUri });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { Location: back.href });
        res.end();
        return;
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        const form = new URLSearchParams(await bodyOf(req));
        tokenRequests.push(form);
        const granted = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const failure =
          tokenFailure ??
          (form.get('client_id') !== GITHUB_CLIENT.clientId || form.get('client_secret') !== GITHUB_CLIENT.clientSecret
            ? 'incorrect_client_credentials'
            : !granted ||
                granted.redirectUri !== form.get('redirect_uri') ||
                createHash('sha256').update(verifier).digest('base64url') !== granted.challenge
              ? 'bad_verification_code'
              : undefined);
        tokenFailure = undefined;
        if (failure || !granted) {
          // GitHub's way: 200, with the error in the body.
          json(200, { error: failure, error_description: 'The code passed is incorrect or expired.' });
          return;
        }
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, granted.user);
        json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
        return;
      }
      const user = tokens.get(/^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
      if (!user) {
        json(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
        return;
      }
      if (url.pathname === '/api/v3/user') {
        json(200, { id: user.id, login: user.login, name: user.name ?? null, type: 'User' });
        return;
      }
      if (url.pathname === '/api/v3/user/emails') {
        json(
          200,
          user.emails.map((each) => ({ ...each, visibility: each.primary ? 'public' : null })),
        );
        return;
      }
      json(404, { message: 'Not Found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    signIn: (user) => {
      signedIn = user;
    },
    failNextTokenRequest: (error) => {
      tokenFailure = error;
    },
    tokenRequests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
