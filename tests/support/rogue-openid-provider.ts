import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/**
 * An OpenID Provider that lies where a real one cannot be made to: it publishes one key and signs
 * its ID tokens with another, as an attacker who took over its token answers (or a proxy in the
 * middle) would. Everything else about it is well formed, so that only the signature check can
 * refuse its logins.
 */
export interface RogueOpenIdProvider {
  issuer: string;
  /** Which key signs the next ID tokens: the other one (the default) or, as a control, the published one. */
  signWith(key: 'other' | 'published'): void;
  close(): Promise<void>;
}

/** On `port`, or any free one. */
export async function startRogueOpenIdProvider(port = 0): Promise<RogueOpenIdProvider> {
  const published = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(published.publicKey)), kid: 'published', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, { clientId: string; nonce: string }>();
  let signingKey = other.privateKey;

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer);
      const json = (body: unknown) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/.well-known/openid-configuration') {
        json({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      } else if (url.pathname === '/jwks') {
        json({ keys: [publicJwk] });
      } else if (url.pathname === '/authorize') {
        const code = randomBytes(10).toString('hex');
        grants.set(code, {
          clientId: url.searchParams.get('client_id') ?? '',
          nonce: url.searchParams.get('nonce') ?? '',
        });
        const back = new URL(url.searchParams.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { Location: back.href });
        res.end();
      } else if (url.pathname === '/token') {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const grant = grants.get(new URLSearchParams(Buffer.concat(chunks).toString()).get('code') ?? '');
        const idToken = await new SignJWT({ nonce: grant?.nonce, email: 'someone@example.com', email_verified: false })
          .setProtectedHeader({ alg: 'RS256', kid: 'published' })
          .setIssuer(issuer)
          .setSubject(`subject-${randomBytes(4).toString('hex')}`)
          .setAudience(grant?.clientId ?? '')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(signingKey);
        json({
          access_token: randomBytes(16).toString('hex'),
          token_type: 'Bearer',
          expires_in: 300,
          id_token: idToken,
        });
      } else {
        res.writeHead(404);
        res.end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    signWith: (key) => {
      signingKey = key === 'other' ? other.privateKey : published.privateKey;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
