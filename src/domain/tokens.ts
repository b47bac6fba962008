import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32; // 256 bits from the CSPRNG
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes in unpadded base64url

export function generateSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Storage and lookup use only this hash, so a leaked database yields no usable token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Refuses anything that cannot be one of our tokens before it costs a database query. */
export function isWellFormedSessionToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
