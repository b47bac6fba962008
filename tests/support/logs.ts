import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger';

export interface CapturedLog {
  logger: Logger;
  /** Every line as written, JSON text: for what must never appear in it. */
  lines: string[];
  /** The same lines, parsed. */
  records: () => Record<string, unknown>[];
}

/** A logger of the service's own kind whose lines the test keeps instead of printing. */
export function capturingLogger(level: Parameters<typeof createLogger>[0] = 'info'): CapturedLog {
  const lines: string[] = [];
  const logger = createLogger(
    level,
    new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    }),
  );
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/**
 * A logger that writes nowhere. Not pino's default destination: that is an asynchronous stream on
 * stdout which pino flushes and ends at the process's exit, which kept Jest's workers past their
 * exit window ("A worker process has failed to exit gracefully").
 */
export const silentLogger = (): Logger => capturingLogger('silent').logger;
