import nodemailer from 'nodemailer';
import type { Clock } from '../domain/model';
import type { MailOutboxStore, OutboxMail } from '../domain/ports';
import type { Logger } from '../logger';
import { renderMail, type MailContext, type RenderedMail } from './messages';

/** Hands one mail to whatever delivers it; throws when it was not accepted. */
export interface MailTransport {
  send(to: string, mail: RenderedMail): Promise<void>;
  close(): void;
}

// Bounded, so that a mail server that accepts the connection and then hangs frees the worker
// well within its lease.
const SMTP_TIMEOUTS_MS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** Sends through SMTP_URL (smtp:// or smtps://, credentials in the URL). */
export function smtpTransport(smtpUrl: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport(smtpUrl, { from, ...SMTP_TIMEOUTS_MS });
  return {
    async send(to, mail) {
      await transporter.sendMail({ to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    close: () => transporter.close(),
  };
}

/** Development without SMTP_URL: each mail's text, links and all, goes to the log instead. */
export function loggingTransport(logger: Logger): MailTransport {
  return {
    send(to, mail) {
      logger.warn({ to, subject: mail.subject, text: mail.text }, 'mail not sent (no SMTP_URL): its text follows');
      return Promise.resolve();
    },
    close: () => undefined,
  };
}

export interface OutboxWorkerOptions {
  store: MailOutboxStore;
  transport: MailTransport;
  context: MailContext;
  clock: Clock;
  logger: Logger;
  giveUpAfterSeconds: number;
  onSent?: () => void;
  onGivenUp?: () => void;
  pollIntervalMs?: number;
}

const BATCH_SIZE = 10;
// Longer than one batch can take with every send at its timeouts, so no other worker takes a
// mail this one is still sending.
const LEASE_SECONDS = 10 * 60;
const MAX_RETRY_DELAY_SECONDS = 5 * 60;

/** After the nth failed attempt: 1 s, 2 s, 4 s… up to five minutes. */
export const retryDelaySeconds = (attempts: number) =>
  Math.min(2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_SECONDS);

/**
 * Sends what the outbox holds. Every instance runs one: each claims its mails with SKIP LOCKED,
 * so no mail goes out twice, and a mail claimed by an instance that died is claimed again when
 * its lease ends. It polls, and is woken at once when this instance queues a mail.
 */
export function createOutboxWorker({
  store,
  transport,
  context,
  clock,
  logger,
  giveUpAfterSeconds,
  onSent,
  onGivenUp,
  pollIntervalMs = 5000,
}: OutboxWorkerOptions) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let wokenWhileRunning = false;
  let stopped = false;
  // The soonest retry this worker scheduled in its last run, so that it comes back then rather
  // than at the next poll.
  let soonestRetryMs = Infinity;

  async function deliver(mail: OutboxMail): Promise<void> {
    try {
      await transport.send(mail.to, renderMail(mail.message, context));
      await store.markSent(mail.id, clock.now());
      onSent?.();
    } catch (error) {
      // The transport's message only: the mail's own text (and any token in it) stays out of logs.
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
      const now = clock.now();
      const retryAt = new Date(now.getTime() + retryDelaySeconds(mail.attempts) * 1000);
      // Given up on when the next attempt would come too late.
      if (retryAt.getTime() - mail.createdAt.getTime() > giveUpAfterSeconds * 1000) {
        await store.markGivenUp(mail.id, reason, now);
        onGivenUp?.();
        logger.error(
          { mailId: mail.id, template: mail.message.template, attempts: mail.attempts, reason },
          'gave up on a mail: it could not be sent within MAIL_GIVE_UP_AFTER_SECONDS',
        );
      } else {
        await store.markFailed(mail.id, reason, retryAt);
        soonestRetryMs = Math.min(soonestRetryMs, retryAt.getTime() - now.getTime());
        logger.warn(
          {
            mailId: mail.id,
            template: mail.message.template,
            attempts: mail.attempts,
            retryAt: retryAt.toISOString(),
            reason,
          },
          'could not send a mail; it will be retried',
        );
      }
    }
  }

  /** Sends every mail that is due, a batch at a time. */
  async function sendDue(): Promise<void> {
    for (;;) {
      const claimed = await store.claimDue(clock.now(), LEASE_SECONDS, BATCH_SIZE);
      for (const mail of claimed) await deliver(mail);
      if (claimed.length < BATCH_SIZE || stopped) return;
    }
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(run, delayMs);
    timer.unref();
  }

  function run(): void {
    soonestRetryMs = Infinity;
    running = sendDue()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not read the mail outbox; will try again'))
      .finally(() => {
        running = undefined;
        schedule(wokenWhileRunning ? 0 : Math.min(pollIntervalMs, soonestRetryMs));
        wokenWhileRunning = false;
      });
  }

  return {
    start: () => schedule(0),
    /** A mail was queued here: send it now rather than at the next poll. */
    wake(): void {
      if (running) wokenWhileRunning = true;
      else schedule(0);
    },
    /** Stops polling, and waits for the batch being sent. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      transport.close();
    },
  };
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
