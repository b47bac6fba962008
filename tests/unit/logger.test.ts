import { Writable } from 'node:stream';
import { createLogger, wantsReadableLogs } from '../../src/logger';
import { capturingLogger } from '../support/logs';

// Request logging leaves headers and bodies out; this is the second line of defence, for
// whatever someone logs by hand.
describe('the logger', () => {
  it.each([
    ['password', { password: 'hunter2-secret' }],
    ['a nested new password', { body: { newPassword: 'hunter2-secret' } }],
    ['a token', { session: { token: 'hunter2-secret' } }],
    ['an Authorization header', { req: { headers: { authorization: 'Bearer hunter2-secret' } } }],
    ['a Cookie header', { req: { headers: { cookie: 'session=hunter2-secret' } } }],
    ['a Set-Cookie header', { res: { headers: { 'set-cookie': 'session=hunter2-secret' } } }],
    ['the admin secret header', { req: { headers: { 'x-hasura-admin-secret': 'hunter2-secret' } } }],
    ['a refresh token', { body: { refreshToken: 'hunter2-secret' } }],
    ['an access token', { pair: { accessToken: 'hunter2-secret' } }],
    ['a private signing key', { key: { privateJwk: { d: 'hunter2-secret' } } }],
  ])('redacts %s', (_label, fields) => {
    const { logger, records } = capturingLogger();
    logger.info(fields, 'something happened');
    const lines = records();
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines[0])).not.toContain('hunter2-secret');
    expect(JSON.stringify(lines[0])).toContain('[redacted]');
  });

  it('keeps what is not a credential', () => {
    const { logger, records } = capturingLogger();
    logger.info({ userId: 7, req: { method: 'POST', path: '/login' } }, 'logged in');
    expect(records()[0]).toMatchObject({ userId: 7, req: { method: 'POST', path: '/login' }, msg: 'logged in' });
  });
});

describe('the log format', () => {
  it.each([
    ['auto', { production: false, terminal: true }, true],
    ['auto', { production: true, terminal: true }, false],
    ['auto', { production: false, terminal: false }, false],
    ['json', { production: false, terminal: true }, false],
    ['pretty', { production: true, terminal: false }, true],
  ] as const)('%s with %j is readable: %s', (format, where, readable) => {
    expect(wantsReadableLogs(format, where)).toBe(readable);
  });

  it('writes readable lines, still redacted, when asked to', () => {
    let written = '';
    const destination = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    });
    const logger = createLogger('info', destination, { readable: true });
    logger.info({ userId: 7, password: 'hunter2-secret' }, 'logged in');
    expect(written).toMatch(/INFO.*logged in/);
    expect(written).toContain('userId: 7');
    expect(written).not.toContain('hunter2-secret');
    expect(() => JSON.parse(written) as unknown).toThrow();
  });
});
