import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths that may hold a credential. Request logging already leaves out headers and bodies;
 * this is the second line of defence for anything logged by hand.
 */
const redactedPaths = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'refreshToken',
  'accessToken',
  'privateJwk',
  'authorization',
  'cookie',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  '*.refreshToken',
  '*.accessToken',
  '*.privateJwk',
  '*.authorization',
  '*.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.headers["x-hasura-admin-secret"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: undefined,
    },
    destination,
  );
}
