import fc from 'fast-check';
import { WebhookBodySkimmer } from '../../src/http/webhook-body';

/** What the skimmer keeps of a body delivered in the given pieces: the `headers` text, or the error's code. */
function skim(body: Buffer, cuts: number[]): string {
  const skimmer = new WebhookBodySkimmer();
  try {
    let start = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      skimmer.write(body.subarray(start, cut));
      start = cut;
    }
    skimmer.write(body.subarray(start));
    return skimmer.end();
  } catch (error) {
    return `error ${(error as { code: string }).code}`;
  }
}

const cutsOf = (body: Buffer) => fc.array(fc.integer({ min: 0, max: body.length }), { maxLength: 6 });

describe('the webhook body skimmer', () => {
  it('keeps exactly the headers object of any body JSON.stringify writes, however the socket splits it', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.string()),
        fc.option(fc.jsonValue(), { nil: undefined }),
        fc.boolean(),
        fc.context(),
        (headers, requestValue, headersFirst, ctx) => {
          const parts = headersFirst ? { headers, request: requestValue } : { request: requestValue, headers };
          const body = Buffer.from(JSON.stringify(parts, null, ctx.size() % 2 === 0 ? 0 : 2));
          const cuts = fc.sample(cutsOf(body), 1)[0]!;
          expect(JSON.parse(skim(body, cuts))).toEqual(headers);
        },
      ),
    );
  });

  it.each([
    [
      'a request nested far deeper than any parser would go',
      `{"request":${'['.repeat(100_000)}${']'.repeat(100_000)},"headers":{}}`,
    ],
    [
      'strings that hold brackets, quotes and backslashes',
      '{"request":{"q":"}]\\"\\\\","v":["{"]},"headers":{"a":"}\\""}}',
    ],
    ['scalars ended by a comma, white space or the closing brace', '{"request":null ,"x":12e3,"headers":{},"y":true}'],
    ['a key written with escapes', '{"head\\u0065rs":{"a":"b"}}'],
  ])('reads %s', (_label, text) => {
    expect(skim(Buffer.from(text), [])).toBe(JSON.stringify(JSON.parse(text).headers));
  });

  it.each([
    ['a body that is not an object', '[{"headers":{}}]', 'error INVALID_JSON'],
    ['an unbalanced request', '{"headers":{},"request":[[]}', 'error INVALID_JSON'],
    ['an unclosed string', '{"headers":{},"request":"abc}', 'error INVALID_JSON'],
    ['a key with no value', '{"headers":{},"request":}', 'error INVALID_JSON'],
    ['a bracket that closes the body', '{"headers":{},"request":1]', 'error INVALID_JSON'],
    ['text after the body', '{"headers":{}} {}', 'error INVALID_JSON'],
    ['a body cut short', '{"headers":{},"request":{"a":', 'error INVALID_JSON'],
    ['no headers', '{"request":null}', 'error VALIDATION_FAILED'],
    ['headers given twice', '{"headers":{},"headers":{"a":"b"}}', 'error VALIDATION_FAILED'],
  ])('refuses %s', (_label, text, outcome) => {
    expect(skim(Buffer.from(text), [])).toBe(outcome);
  });

  it('refuses headers larger than 64 KiB before reading the rest', () => {
    const skimmer = new WebhookBodySkimmer();
    skimmer.write(Buffer.from(`{"headers":{"a":"${'x'.repeat(60 * 1024)}`));
    expect(() => skimmer.write(Buffer.from('x'.repeat(8 * 1024)))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });
});
