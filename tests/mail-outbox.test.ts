import request from 'supertest';
import { startMailbox, type Mailbox } from './support/mailbox';
import { eventually } from './support/eventually';
import { PASSWORD, startPeerInstance, startTestApp, uniqueUsername, type TestApp } from './support/test-app';

const PUBLIC_URL = 'https://auth.example.com';
const METRICS_TOKEN = 'a-metrics-token-for-the-scraper';

/** Signs up with an address, which queues its verification mail; answers the address. */
async function signUpWithAddress(http: string): Promise<string> {
  const username = uniqueUsername();
  const email = `${username}@example.com`;
  const res = await request(http).post('/signup').send({ username, password: PASSWORD, email });
  expect(res.status).toBe(201);
  return email;
}

interface OutboxRow {
  recipient: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  sent_at: Date | null;
  given_up_at: Date | null;
  params: unknown;
}

const outboxRowOf = async (app: TestApp, recipient: string): Promise<OutboxRow | undefined> =>
  app.database.db<OutboxRow>('mail_outbox').where({ recipient }).first();

describe('the mail outbox', () => {
  let mailbox: Mailbox;
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    await mailbox.close();
  });

  it('sends a mail queued while SMTP was down once it is up, exactly once, with two instances running', async () => {
    mailbox = await startMailbox({ down: true });
    app = await startTestApp({ SMTP_URL: mailbox.smtpUrl, PUBLIC_URL, METRICS_TOKEN });
    const peer = await startPeerInstance(app);
    const email = await signUpWithAddress(peer);

    const failed = await eventually(
      () => outboxRowOf(app!, email),
      (row) => (row?.attempts ?? 0) >= 1 && row?.last_error !== null,
      5000,
    );
    expect(failed).toMatchObject({
      sent_at: null,
      given_up_at: null,
      last_error: expect.stringMatching(/ECONNREFUSED/),
    });
    // Due again a second after the failure, by the app's clock (which stands still until told).
    expect(new Date(failed!.next_attempt_at).getTime()).toBe(app.clock.now().getTime() + 1000);

    await mailbox.start();
    // The retry is due a second after the failure, by the app's clock, which moves only when told;
    // another mail queued wakes a worker at once, rather than at its next poll.
    app.clock.advanceSeconds(2);
    const second = await signUpWithAddress(peer);
    await mailbox.waitForMail(email, /^Verify/);
    await mailbox.waitForMail(second, /^Verify/);
    const sent = await eventually(
      () => outboxRowOf(app!, email),
      (row) => row?.sent_at !== null,
    );
    // Once sent, the mail's token is not kept.
    expect(sent).toMatchObject({ sent_at: expect.any(Date), params: null });
    // Both workers keep polling; a second copy would come within a poll or two.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(mailbox.received.filter((mail) => mail.to === email)).toHaveLength(1);
    expect(mailbox.received.filter((mail) => mail.to === second)).toHaveLength(1);

    const metrics = await request(app.http).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(metrics.text).toMatch(/^hasura_auth_mail_outbox_pending \d+/m);
    expect(metrics.text).toMatch(/^hasura_auth_mail_outbox_oldest_age_seconds [\d.]+/m);
    expect(metrics.text).toMatch(/^hasura_auth_mails_failed_total 0/m);
  });

  it('keeps mail queued by an instance that cannot send, and another instance (a restart) sends it', async () => {
    mailbox = await startMailbox();
    // In production without SMTP_URL nothing is sent: as if the instance died between queueing and sending.
    app = await startTestApp({ NODE_ENV: 'production', PUBLIC_URL, MFA_ENCRYPTION_KEY: 'ab'.repeat(32) });
    const email = await signUpWithAddress(app.http);
    expect(app.logLines.some((line) => line.includes('mail is not sent') && line.includes('SMTP_URL'))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await outboxRowOf(app, email)).toMatchObject({ attempts: 0, sent_at: null });

    await startPeerInstance(app, { SMTP_URL: mailbox.smtpUrl, PUBLIC_URL });

    const mail = await mailbox.waitForMail(email, /^Verify/);
    expect(mail.text).toContain(`${PUBLIC_URL}/email/verify?token=`);
  });

  it('sends a mail that a worker claimed and then died with, once its lease has ended', async () => {
    mailbox = await startMailbox();
    app = await startTestApp({ NODE_ENV: 'production', PUBLIC_URL, MFA_ENCRYPTION_KEY: 'ab'.repeat(32) });
    const email = await signUpWithAddress(app.http);
    // A worker claims the mail, and dies before it sends it.
    const [claimed] = await app.services.mailOutbox.claimDue(app.clock.now(), 600, 10);
    expect(claimed).toMatchObject({ to: email, attempts: 1 });
    const peer = await startPeerInstance(app, { SMTP_URL: mailbox.smtpUrl, PUBLIC_URL });

    // The lease holds: the other worker, woken by a mail of its own, leaves the claimed one alone.
    const before = await signUpWithAddress(peer);
    await mailbox.waitForMail(before, /^Verify/);
    expect(mailbox.received.map((mail) => mail.to)).toEqual([before]);
    app.clock.advanceSeconds(601);

    await signUpWithAddress(peer);
    await mailbox.waitForMail(email, /^Verify/);
    expect(await outboxRowOf(app, email)).toMatchObject({ attempts: 2, sent_at: expect.any(Date) });
  });

  it('keeps the record of a sent mail for a week, and expired tokens not at all', async () => {
    mailbox = await startMailbox();
    app = await startTestApp({ SMTP_URL: mailbox.smtpUrl, PUBLIC_URL });
    const email = await signUpWithAddress(app.http);
    await mailbox.waitForMail(email, /^Verify/);
    await eventually(
      () => outboxRowOf(app!, email),
      (row) => row?.sent_at !== null,
    );

    app.clock.advanceSeconds(6 * 86400);
    expect(await app.services.purgeMailRecords()).toEqual({ tokens: 1, mails: 0 });
    app.clock.advanceSeconds(86400 + 1);
    expect(await app.services.purgeMailRecords()).toEqual({ tokens: 0, mails: 1 });
    expect(await outboxRowOf(app, email)).toBeUndefined();
  });

  it('gives up on a mail after MAIL_GIVE_UP_AFTER_SECONDS, with an error log', async () => {
    mailbox = await startMailbox({ down: true });
    app = await startTestApp({
      SMTP_URL: mailbox.smtpUrl,
      PUBLIC_URL,
      MAIL_GIVE_UP_AFTER_SECONDS: '60',
      METRICS_TOKEN,
    });
    const email = await signUpWithAddress(app.http);
    await eventually(
      () => outboxRowOf(app!, email),
      (row) => (row?.attempts ?? 0) >= 1,
      5000,
    );
    app.clock.advanceSeconds(120);

    const givenUp = await eventually(
      () => outboxRowOf(app!, email),
      (row) => row?.given_up_at !== null,
      5000,
    );
    expect(givenUp).toMatchObject({ given_up_at: expect.any(Date), params: null });
    expect(app.logLines.some((line) => line.includes('"level":50') && line.includes('gave up on a mail'))).toBe(true);
    const metrics = await request(app.http).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(metrics.text).toMatch(/^hasura_auth_mails_failed_total 1/m);
  });

  it('logs each mail at warn in development without SMTP_URL, so that the quick start works', async () => {
    mailbox = await startMailbox();
    app = await startTestApp({});
    const email = await signUpWithAddress(app.http);

    const logged = await eventually(
      () => Promise.resolve(app!.logLines.find((line) => line.includes('mail not sent (no SMTP_URL)'))),
      (line) => line !== undefined,
      5000,
    );
    expect(logged).toContain(email);
    expect(logged).toMatch(/http:\/\/localhost:0\/email\/verify\?token=/);
  });
});
