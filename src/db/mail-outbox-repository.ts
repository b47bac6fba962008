import type { Knex } from 'knex';
import type { MailMessage, MailOutboxStore, OutboxMail, QueuedMail } from '../domain/ports';
import { withClassifiedFailures } from './database-errors';
import { onlyRow } from './rows';

interface OutboxRow {
  id: string;
  recipient: string;
  template: MailMessage['template'];
  params: Omit<MailMessage, 'template'>;
  created_at: Date;
  attempts: number;
}

/** Queues a mail in the caller's transaction: it is sent if and only if that transaction commits. */
export async function queueMail(trx: Knex, mail: QueuedMail, now: Date): Promise<void> {
  const { template, ...params } = mail.message;
  await trx('mail_outbox').insert({
    recipient: mail.to,
    template,
    params: JSON.stringify(params),
    created_at: now,
    next_attempt_at: now,
  });
}

const pendingMail = (query: Knex.QueryBuilder) => query.whereNull('sent_at').whereNull('given_up_at');

export function createMailOutboxRepository(db: Knex): MailOutboxStore {
  return withClassifiedFailures<MailOutboxStore>({
    async claimDue(now: Date, leaseSeconds: number, limit: number): Promise<OutboxMail[]> {
      // SKIP LOCKED: workers of other instances claiming at this moment take other rows, never these.
      const rows = await db('mail_outbox')
        .update({
          next_attempt_at: new Date(now.getTime() + leaseSeconds * 1000),
          attempts: db.raw('attempts + 1'),
        })
        .whereIn(
          'id',
          pendingMail(db('mail_outbox').select('id'))
            .where('next_attempt_at', '<=', now)
            .orderBy('id')
            .limit(limit)
            .forUpdate()
            .skipLocked(),
        )
        .returning<OutboxRow[]>(['id', 'recipient', 'template', 'params', 'created_at', 'attempts']);
      return rows
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map((row) => ({
          id: String(row.id),
          to: row.recipient,
          message: { template: row.template, ...row.params } as MailMessage,
          createdAt: row.created_at,
          attempts: row.attempts,
        }));
    },

    async markSent(id: string, now: Date): Promise<void> {
      await db('mail_outbox').update({ sent_at: now, params: null, last_error: null }).where({ id });
    },

    async markFailed(id: string, error: string, retryAt: Date): Promise<void> {
      await db('mail_outbox').update({ next_attempt_at: retryAt, last_error: error }).where({ id });
    },

    async markGivenUp(id: string, error: string, now: Date): Promise<void> {
      await db('mail_outbox').update({ given_up_at: now, params: null, last_error: error }).where({ id });
    },

    async deleteFinishedBefore(cutoff: Date): Promise<number> {
      return db('mail_outbox')
        .delete()
        .where((finished) => void finished.where('sent_at', '<', cutoff).orWhere('given_up_at', '<', cutoff));
    },

    async pending(now: Date): Promise<{ count: number; oldestAgeSeconds: number }> {
      const row = onlyRow(
        await pendingMail(db('mail_outbox')).select<{ count: string | number; oldest: Date | null }[]>(
          db.raw('count(*) as count'),
          db.raw('min(created_at) as oldest'),
        ),
      );
      const oldest = row.oldest === null ? null : new Date(row.oldest);
      return {
        count: Number(row.count),
        oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now.getTime() - oldest.getTime()) / 1000),
      };
    },
  });
}
