import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_BYTES = 32; // 256 bits from the CSPRNG: the secret part
const MAC_BYTES = 16; // 128 bits of HMAC-SHA-256: enough that a forgery is never guessed
// 48 bytes in unpadded base64url.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{64}$/;
// The OpenID Provider's opaque access tokens: one random byte more, so that the length alone says
// which MAC to check (one HMAC per token, as the webhook's refusals of random tokens need).
const PROVIDER_RANDOM_BYTES = RANDOM_BYTES + 1;
// 49 bytes in unpadded base64url.
const PROVIDER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{66}$/;
// Tokens issued before they carried a MAC: 32 bytes in unpadded base64url.
const LEGACY_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Storage and lookup use only this hash, so a leaked database yields no usable token. */
export function hashSessionToken(token: string): string {
  return hash('sha256', token, 'hex');
}

const SHA256_BLOCK_BYTES = 64;

/**
 * HMAC-SHA-256 under one key (RFC 2104), from one-shot SHA-256 over the key's two padded blocks,
 * which are made once. createHmac prepares its key again on every call: 19 µs a MAC against 3 µs
 * for this (Node 24 on this project's CI machine, 2026-12-08), and the webhook makes one for every
 * token it is shown, random ones included. Its output equals createHmac's (tests/unit/session-tokens.test.ts).
 */
export function hmacSha256(key: Buffer): (message: Buffer) => Buffer {
  const block = Buffer.alloc(SHA256_BLOCK_BYTES);
  (key.length > SHA256_BLOCK_BYTES ? hash('sha256', key, 'buffer') : key).copy(block);
  const innerPad = Buffer.from(block.map((byte) => byte ^ 0x36));
  const outerPad = Buffer.from(block.map((byte) => byte ^ 0x5c));
  return (message) =>
    hash('sha256', Buffer.concat([outerPad, hash('sha256', Buffer.concat([innerPad, message]), 'buffer')]), 'buffer');
}

/**
 * Who made a token of this form: a session's (`session`), or the OpenID Provider, whose opaque
 * access tokens are made the same way under a MAC of their own, so that a lookup goes to the one
 * table that can hold the token.
 */
export type TokenIssuer = 'session' | 'provider';

/** A token as the stores look it up: by its hash, where its issuer keeps it. */
export interface TokenLookup {
  tokenHash: string;
  issuer: TokenIssuer;
}

export interface SessionTokenOptions {
  /** The key every instance shares (server_secrets); it makes the MAC. */
  key: Buffer;
  /** Whether sessions from before tokens carried a MAC may still be alive, so their tokens are looked up. */
  legacyTokensMayExist: () => boolean;
}

/**
 * Session tokens: 32 random bytes and a MAC of them under a server-side key. The MAC is no
 * credential (the token is looked up by its hash as before), it is a filter: a token this service
 * never issued, such as one of a spray of random tokens, is refused without a query and without
 * taking a slot in any cache.
 */
export function createSessionTokens({ key, legacyTokensMayExist }: SessionTokenOptions) {
  // The random part's length says whose a token is (32 bytes a session's, 33 the provider's): the
  // MAC of one kind is never the MAC of the other.
  const mac = hmacSha256(key);
  const macOf = (random: Buffer) => mac(random).subarray(0, MAC_BYTES);
  const tokenOf = (random: Buffer) => Buffer.concat([random, macOf(random)]).toString('base64url');
  const macMatches = (token: string, randomLength: number) => {
    const bytes = Buffer.from(token, 'base64url');
    return timingSafeEqual(macOf(bytes.subarray(0, randomLength)), bytes.subarray(randomLength));
  };

  /** Who made the token, or undefined for a token this service never made. */
  function issuerOf(token: string): TokenIssuer | undefined {
    if (TOKEN_PATTERN.test(token)) return macMatches(token, RANDOM_BYTES) ? 'session' : undefined;
    if (PROVIDER_TOKEN_PATTERN.test(token)) return macMatches(token, PROVIDER_RANDOM_BYTES) ? 'provider' : undefined;
    return LEGACY_TOKEN_PATTERN.test(token) && legacyTokensMayExist() ? 'session' : undefined;
  }

  return {
    generate(): string {
      return tokenOf(randomBytes(RANDOM_BYTES));
    },

    /** An opaque access token of the OpenID Provider: as a session's token, one random byte longer. */
    generateProviderAccessToken(): string {
      return tokenOf(randomBytes(PROVIDER_RANDOM_BYTES));
    },

    issuerOf,

    /** How the stores find the token, or undefined for a token this service never made (no lookup is worth it). */
    lookupOf(token: string): TokenLookup | undefined {
      const issuer = issuerOf(token);
      return issuer && { tokenHash: hashSessionToken(token), issuer };
    },

    /**
     * The one token that replaces `token` when it is rotated: derived from it under the key, so
     * that every rotation of one token, however many race or retry, answers the same successor
     * and a token family stays one chain (see JwtSessions). Only the service can derive it.
     */
    successorOf(token: string): string {
      return tokenOf(createHmac('sha256', key).update('successor\0').update(token).digest().subarray(0, RANDOM_BYTES));
    },

    /** Whether this is a session's token this service may have issued; only such a token is worth a lookup. */
    isGenuine(token: string): boolean {
      return issuerOf(token) === 'session';
    },
  };
}

export type SessionTokens = ReturnType<typeof createSessionTokens>;

/** A new key for createSessionTokens. */
export const generateSessionTokenKey = () => randomBytes(32);
