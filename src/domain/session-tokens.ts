import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_BYTES = 32; // 256 bits from the CSPRNG: the secret part
const MAC_BYTES = 16; // 128 bits of HMAC-SHA-256: enough that a forgery is never guessed
// 48 bytes in unpadded base64url.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{64}$/;
// Tokens issued before they carried a MAC: 32 bytes in unpadded base64url.
const LEGACY_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Storage and lookup use only this hash, so a leaked database yields no usable token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
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
  const macOf = (random: Buffer) => createHmac('sha256', key).update(random).digest().subarray(0, MAC_BYTES);
  const tokenOf = (random: Buffer) => Buffer.concat([random, macOf(random)]).toString('base64url');

  return {
    generate(): string {
      return tokenOf(randomBytes(RANDOM_BYTES));
    },

    /**
     * The one token that replaces `token` when it is rotated: derived from it under the key, so
     * that every rotation of one token, however many race or retry, answers the same successor
     * and a token family stays one chain (see JwtSessions). Only the service can derive it.
     */
    successorOf(token: string): string {
      return tokenOf(createHmac('sha256', key).update('successor\0').update(token).digest().subarray(0, RANDOM_BYTES));
    },

    /** Whether this service may have issued the token; only such a token is worth a lookup. */
    isGenuine(token: string): boolean {
      if (TOKEN_PATTERN.test(token)) {
        const bytes = Buffer.from(token, 'base64url');
        return timingSafeEqual(macOf(bytes.subarray(0, RANDOM_BYTES)), bytes.subarray(RANDOM_BYTES));
      }
      return LEGACY_TOKEN_PATTERN.test(token) && legacyTokensMayExist();
    },
  };
}

export type SessionTokens = ReturnType<typeof createSessionTokens>;

/** A new key for createSessionTokens. */
export const generateSessionTokenKey = () => randomBytes(32);
