import pino, { type Logger, type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';

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

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Readable lines for a person at a terminal in development; JSON lines for everything else (a
 * log shipper, Heroku, Docker, a pipe), which is also what `auto` gives in production.
 */
export function wantsReadableLogs(
  format: LogFormat,
  { production, terminal }: { production: boolean; terminal: boolean },
) {
  return format === 'pretty' || (format === 'auto' && terminal && !production);
}

export function createLogger(
  level: string,
  destination?: DestinationStream,
  { readable = false }: { readable?: boolean } = {},
): Logger {
  return pino(
    {
      level,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: undefined,
    },
    // Formatted in this thread, synchronously, as the JSON lines are: no worker to lose lines at exit.
    readable
      ? pinoPretty({
          destination: destination ?? 1,
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        })
      : destination,
  );
}
