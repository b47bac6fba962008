import { createServer, type AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail as the recipient sees it, parsed (its text part is quoted-printable on the wire). */
export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * A real SMTP server on 127.0.0.1 that keeps what it receives, for the service to send to through
 * SMTP_URL. It can be down (refusing connections on its port) and come up later on the same port.
 */
export interface Mailbox {
  smtpUrl: string;
  received: ReceivedMail[];
  /** The first mail to `to` (after `skip` of them) whose subject matches, once it has arrived. */
  waitForMail(to: string, subject: RegExp, options?: { withinMs?: number; skip?: number }): Promise<ReceivedMail>;
  /** Starts receiving, if it was created down. */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startMailbox({ down = false }: { down?: boolean } = {}): Promise<Mailbox> {
  const port = await freePort();
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed: ParsedMail) => {
          for (const recipient of session.envelope.rcptTo) {
            received.push({
              to: recipient.address,
              from: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            });
          }
          callback();
        })
        .catch(callback);
    },
  });
  let listening = false;
  const start = async () => {
    if (listening) return;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    listening = true;
  };
  if (!down) await start();
  return {
    smtpUrl: `smtp://127.0.0.1:${port}`,
    received,
    start,
    async waitForMail(to, subject, { withinMs = 10_000, skip = 0 } = {}) {
      const deadline = Date.now() + withinMs;
      for (;;) {
        const matching = received.filter((mail) => mail.to === to && subject.test(mail.subject));
        if (matching.length > skip) return matching[skip]!;
        if (Date.now() >= deadline) {
          throw new Error(`no mail to ${to} matching ${subject} within ${withinMs} ms (received: ${received.length})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: () => (listening ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve()),
  };
}

/** The token in the link of a mail, and the link itself. */
export function linkIn(mail: ReceivedMail): { url: string; token: string } {
  const url = /https?:\/\/\S+\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  if (!url) throw new Error(`no link in the mail "${mail.subject}"`);
  return { url, token: new URL(url).searchParams.get('token')! };
}
