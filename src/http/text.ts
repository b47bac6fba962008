import { AppError } from '../errors';

/**
 * Whether a string is Unicode text: no lone surrogate, such as JSON's `"\ud800"` makes. Encoded
 * as UTF-8 a lone surrogate becomes U+FFFD, so two different passwords would hash alike.
 */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

// With the `u` flag a well-formed pair is one code point; only a lone half is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes that are not UTF-8 are refused, never replaced: two different inputs must not become one. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new AppError('VALIDATION_FAILED', { message: 'The request body is not valid UTF-8.' });
  }
}
