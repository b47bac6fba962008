import express, { type RequestHandler } from 'express';
import { AppError, type ErrorDetail } from '../errors';
import { decodeUtf8, isWellFormedText } from './text';

/**
 * The JSON body parser of every route but the webhook, with what express.json leaves out:
 * - bytes that are not UTF-8 are refused, not replaced with U+FFFD (`\xff\xfe` and `\xfe\xff`
 *   would otherwise be one username), and so are lone surrogates such as `"\ud800"`, which bcrypt
 *   would hash as U+FFFD;
 * - a key named `__proto__` is refused (see firstBadText);
 * - nesting is bounded before JSON.parse runs: within the size limit, `[[[[…]]]]` costs the
 *   parser far more than its bytes, and no body of this API is deeper than a few levels.
 */

export const MAX_JSON_NESTING = 32;

/** Whether a JSON text nests deeper than `limit`; strings are skipped, so `"[["` is not nesting. */
function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const byte of bytes) {
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === 0x5c) escaped = true;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
  return false;
}

/**
 * The first key or string of a parsed body that no route may take, if any: text that is not
 * Unicode, or a key named `__proto__`, which zod's records and plain objects drop or turn into a
 * prototype, so that `{"__proto__": "x"}` would pass as `{}`.
 */
function firstBadText(value: unknown, path: string): ErrorDetail | undefined {
  if (typeof value === 'string') {
    return isWellFormedText(value) ? undefined : { path, message: 'not valid Unicode text (a lone surrogate)' };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    if (key === '__proto__') return { path: childPath, message: 'not an allowed name' };
    if (!isWellFormedText(key)) return { path: childPath, message: 'not valid Unicode text (a lone surrogate)' };
    const found = firstBadText(child, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function jsonBodies(limitBytes: number): RequestHandler[] {
  const parse = express.json({
    limit: limitBytes,
    verify: (_req, _res, bytes, encoding) => {
      if (encoding.toLowerCase() !== 'utf-8') {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', { message: 'JSON bodies are taken in UTF-8 only.' });
      }
      decodeUtf8(bytes);
      if (nestsDeeperThan(bytes, MAX_JSON_NESTING)) {
        throw new AppError('VALIDATION_FAILED', {
          message: `The request body nests deeper than ${MAX_JSON_NESTING} levels.`,
        });
      }
    },
  });
  const refuseBadText: RequestHandler = (req, _res, next) => {
    const problem = firstBadText(req.body, '');
    if (problem !== undefined) {
      throw new AppError('VALIDATION_FAILED', { details: [{ ...problem, path: problem.path || '(body)' }] });
    }
    next();
  };
  return [parse, refuseBadText];
}
