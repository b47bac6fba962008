import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors';
import { decodeUtf8, isWellFormedText } from './text';

/**
 * Reads Hasura's POST-mode body, `{"headers": {…}, "request": …}`, as it arrives, and keeps only
 * `headers`. `request` is the client's own GraphQL body, which Hasura forwards whatever its
 * size and shape and which the webhook never reads: parsing it whole would let one client hold
 * the event loop (an 8 MB `[[[[…]]]]` took seconds of JSON.parse) and its memory. So every
 * value but `headers` is skimmed, byte by byte and chunk by chunk as the socket delivers them:
 * the work per chunk is bounded, depth costs one counter, and nothing is built.
 *
 * Skimming checks a skipped value's structure (strings closed, brackets balanced, one value) but
 * not its grammar; `headers` itself is parsed by JSON.parse and checked in full.
 */

/**
 * The most the `headers` object may take. Hasura's HTTP server (warp) refuses a request whose
 * header section passes 50 KiB, so anything Hasura accepted from a client fits, JSON's quotes
 * and escapes included.
 */
export const WEBHOOK_HEADERS_LIMIT_BYTES = 64 * 1024;
/** Browsers send a few dozen; this bounds the work of one body however small its headers are. */
export const WEBHOOK_HEADERS_LIMIT_COUNT = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
// Keys longer than this are neither `headers` nor `request`: their bytes are not kept.
const KEY_LIMIT_BYTES = 64;

const UTF8_BOM = [0xef, 0xbb, 0xbf];

const isWhitespace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

const enum State {
  BeforeObject,
  BeforeKey,
  BeforeKeyOrEnd,
  InKey,
  BeforeColon,
  BeforeValue,
  InValue,
  AfterValue,
  Done,
}

const malformed = () => new AppError('INVALID_JSON');

export class WebhookBodySkimmer {
  private state = State.BeforeObject;
  /** Bytes read before the current chunk. */
  private offset = 0;
  private keyBytes: number[] = [];
  private keyOverflow = false;
  private escaped = false;
  private inString = false;
  private depth = 0;
  /** Whether the value being skimmed has had a byte yet: `{"a":}` is not JSON. */
  private valueStarted = false;
  private capturing = false;
  private captured: Buffer[] = [];
  private capturedBytes = 0;
  private headersText: string | undefined;

  write(chunk: Buffer): void {
    let valueStart = -1;
    for (let i = 0; i < chunk.length; i++) {
      // Within the chunk's length, an index always holds a byte.
      const byte = chunk[i] as number;
      switch (this.state) {
        case State.InValue: {
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (byte === BACKSLASH) this.escaped = true;
            else if (byte === QUOTE) {
              this.inString = false;
              if (this.depth === 0) this.endValue(chunk, valueStart, i + 1);
            }
          } else if (byte === QUOTE) {
            this.inString = true;
          } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.depth++;
          } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
            if (this.depth === 0) {
              // A scalar such as `null` ended by the top-level object's own `}`.
              if (byte === CLOSE_BRACKET || !this.valueStarted) throw malformed();
              this.endValue(chunk, valueStart, i);
              this.state = State.Done;
            } else if (--this.depth === 0) {
              this.endValue(chunk, valueStart, i + 1);
            }
          } else if (this.depth === 0 && (byte === COMMA || isWhitespace(byte))) {
            if (!this.valueStarted) throw malformed();
            this.endValue(chunk, valueStart, i);
            if (byte === COMMA) this.state = State.BeforeKey;
          }
          this.valueStarted = true;
          break;
        }
        case State.InKey:
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) this.escaped = true;
          else if (byte === QUOTE) {
            this.state = State.BeforeColon;
            break;
          }
          if (this.keyBytes.length < KEY_LIMIT_BYTES) this.keyBytes.push(byte);
          else this.keyOverflow = true;
          break;
        default:
          // A UTF-8 byte order mark may lead the body, as express.json allows.
          if (isWhitespace(byte) || (this.offset + i < 3 && byte === UTF8_BOM[this.offset + i])) break;
          if (this.state === State.BeforeObject && byte === OPEN_BRACE) this.state = State.BeforeKeyOrEnd;
          else if ((this.state === State.BeforeKey || this.state === State.BeforeKeyOrEnd) && byte === QUOTE) {
            this.keyBytes = [];
            this.keyOverflow = false;
            this.state = State.InKey;
          } else if (this.state === State.BeforeKeyOrEnd && byte === CLOSE_BRACE) this.state = State.Done;
          else if (this.state === State.BeforeColon && byte === COLON) this.state = State.BeforeValue;
          else if (this.state === State.AfterValue && byte === COMMA) this.state = State.BeforeKey;
          else if (this.state === State.AfterValue && byte === CLOSE_BRACE) this.state = State.Done;
          else if (this.state === State.BeforeValue) {
            this.startValue();
            valueStart = i;
            i--; // the value's first byte is read again, in InValue
          } else throw malformed();
      }
    }
    if (this.capturing) this.keep(chunk.subarray(valueStart === -1 ? 0 : valueStart));
    this.offset += chunk.length;
  }

  /** The `headers` object's text, once the whole body has been read. */
  end(): string {
    if (this.state !== State.Done) throw malformed();
    if (this.headersText === undefined) {
      throw new AppError('VALIDATION_FAILED', { details: [{ path: 'headers', message: 'Required' }] });
    }
    return this.headersText;
  }

  private startValue(): void {
    this.state = State.InValue;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.valueStarted = false;
    this.capturing = !this.keyOverflow && this.keyName() === 'headers';
    if (this.capturing && this.headersText !== undefined) {
      throw new AppError('VALIDATION_FAILED', { details: [{ path: 'headers', message: 'given twice' }] });
    }
    this.captured = [];
    this.capturedBytes = 0;
  }

  private endValue(chunk: Buffer, valueStart: number, end: number): void {
    this.state = State.AfterValue;
    if (!this.capturing) return;
    this.capturing = false;
    this.keep(chunk.subarray(valueStart === -1 ? 0 : valueStart, end));
    this.headersText = decodeUtf8(Buffer.concat(this.captured));
    this.captured = [];
  }

  private keep(bytes: Buffer): void {
    this.capturedBytes += bytes.length;
    if (this.capturedBytes > WEBHOOK_HEADERS_LIMIT_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', {
        message: `The headers object is larger than ${WEBHOOK_HEADERS_LIMIT_BYTES} bytes.`,
      });
    }
    // A copy: the socket's chunk may be reused once this returns.
    this.captured.push(Buffer.from(bytes));
  }

  private keyName(): string | undefined {
    try {
      return JSON.parse(`"${Buffer.from(this.keyBytes).toString('latin1')}"`) as string;
    } catch {
      throw malformed();
    }
  }
}

/** The client's headers from the object's text, as flat name → value pairs, with no prototype. */
function parseHeaders(text: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed();
  }
  const problem = (message: string) =>
    new AppError('VALIDATION_FAILED', { message: 'Invalid headers.', details: [{ path: 'headers', message }] });
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw problem('must be an object');
  const entries = Object.entries(parsed);
  if (entries.length > WEBHOOK_HEADERS_LIMIT_COUNT) {
    throw problem(`at most ${WEBHOOK_HEADERS_LIMIT_COUNT} headers`);
  }
  // A Map, not an object: a client header named `constructor` must not meet Object.prototype.
  const lowered = new Map<string, string>();
  for (const [name, value] of entries) {
    if (typeof value !== 'string') throw problem(`${name}: must be a string`);
    if (!isWellFormedText(name) || !isWellFormedText(value)) throw problem(`${name}: not valid Unicode text`);
    // POST mode keeps the client's spelling of header names; Node lower-cases them, so do the same.
    const key = name.toLowerCase();
    const earlier = lowered.get(key);
    if (earlier !== undefined && earlier !== value) {
      throw new AppError('VALIDATION_FAILED', { message: `The header ${key} is given twice with different values.` });
    }
    lowered.set(key, value);
  }
  return lowered;
}

/** Reads a POST /webhook body: application/json in UTF-8, not compressed, within the limit. */
export function readWebhookHeaders(req: IncomingMessage, limitBytes: number): Promise<Map<string, string>> {
  const [mediaType = '', ...parameters] = (req.headers['content-type'] ?? '').split(';').map((part) => part.trim());
  const charset = parameters.find((parameter) => parameter.toLowerCase().startsWith('charset='))?.slice(8);
  if (mediaType.toLowerCase() !== 'application/json' || (charset && !/^"?utf-8"?$/i.test(charset))) {
    return Promise.reject(
      new AppError('UNSUPPORTED_MEDIA_TYPE', { message: 'The webhook takes application/json in UTF-8.' }),
    );
  }
  // Hasura never compresses what it sends.
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return Promise.reject(
      new AppError('UNSUPPORTED_MEDIA_TYPE', { message: 'The webhook takes no Content-Encoding.' }),
    );
  }
  const tooLarge = () =>
    new AppError('PAYLOAD_TOO_LARGE', { message: `The webhook takes bodies of at most ${limitBytes} bytes.` });
  const declaredLength = req.headers['content-length'];
  if (declaredLength !== undefined && Number(declaredLength) > limitBytes) {
    // Drained unread, so that the connection can carry Hasura's next call.
    req.resume();
    return Promise.reject(tooLarge());
  }

  return new Promise((resolve, reject) => {
    const skimmer = new WebhookBodySkimmer();
    let received = 0;
    const fail = (error: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      try {
        if (received > limitBytes) throw tooLarge();
        skimmer.write(chunk);
      } catch (error) {
        fail(error as Error);
      }
    };
    const onEnd = () => {
      try {
        resolve(parseHeaders(skimmer.end()));
      } catch (error) {
        fail(error as Error);
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('aborted', () => fail(new AppError('VALIDATION_FAILED', { message: 'The request was aborted.' })));
    req.once('error', fail);
  });
}
