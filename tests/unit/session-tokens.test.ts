import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSessionTokens, hashSessionToken, hmacSha256 } from '../../src/domain/session-tokens';

describe('session tokens and the OpenID Provider’s access tokens', () => {
  const key = randomBytes(32);
  let legacy = false;
  const tokens = createSessionTokens({ key, legacyTokensMayExist: () => legacy });

  it('make the MAC that createHmac makes, for keys shorter and longer than a block, so tokens issued before stay genuine', () => {
    for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
      const someKey = randomBytes(keyLength);
      const mac = hmacSha256(someKey);
      for (const messageLength of [0, 32, 33, 100]) {
        const message = randomBytes(messageLength);
        expect(mac(message).toString('hex')).toBe(createHmac('sha256', someKey).update(message).digest('hex'));
      }
    }
    // And the same SHA-256 of a token as before.
    const token = tokens.generate();
    expect(hashSessionToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
  });

  it('tell who made a token by its form and its MAC, so that a lookup goes to one table', () => {
    const session = tokens.generate();
    const access = tokens.generateProviderAccessToken();
    expect(session).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(access).toMatch(/^[A-Za-z0-9_-]{66}$/);
    expect(tokens.issuerOf(session)).toBe('session');
    expect(tokens.issuerOf(access)).toBe('provider');
    expect(tokens.lookupOf(access)).toEqual({ tokenHash: hashSessionToken(access), issuer: 'provider' });
    // Only a session's token is one for the API.
    expect(tokens.isGenuine(session)).toBe(true);
    expect(tokens.isGenuine(access)).toBe(false);
  });

  it('refuse a token of either form whose MAC is not this key’s', () => {
    const other = createSessionTokens({ key: randomBytes(32), legacyTokensMayExist: () => false });
    for (const forged of [other.generate(), other.generateProviderAccessToken()]) {
      expect(tokens.issuerOf(forged)).toBeUndefined();
      expect(tokens.lookupOf(forged)).toBeUndefined();
    }
    // A provider's random part with a session's MAC, cut to a session token's length, is no token.
    const access = Buffer.from(tokens.generateProviderAccessToken(), 'base64url');
    expect(tokens.issuerOf(access.subarray(1).toString('base64url'))).toBeUndefined();
    expect(tokens.issuerOf('x'.repeat(65))).toBeUndefined();
  });

  it('take a token from before MACs as a session’s only while such sessions may exist', () => {
    const old = randomBytes(32).toString('base64url');
    legacy = false;
    expect(tokens.issuerOf(old)).toBeUndefined();
    legacy = true;
    expect(tokens.issuerOf(old)).toBe('session');
    legacy = false;
  });
});
