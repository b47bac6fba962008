import { createHash, randomBytes } from 'node:crypto';

// 256 bits from the CSPRNG, in unpadded base64url: 43 characters.
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A token to mail, and the hash that is all the database keeps of it. */
export function generateOneTimeToken(): { token: string; tokenHash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashOneTimeToken(token) };
}

export function hashOneTimeToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether the text could be a token this service made: anything else is refused without a query. */
export function isWellFormedOneTimeToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
