/**
 * Outbound messages to people (invitations, password resets, email confirmations) through the
 * tenant's COMMUNICATION_SERVICE integration: the one send path.
 *
 * 1. `queueMessage` runs inside the caller's transaction: it writes an outbound_messages row and
 *    its job (pg-boss insert on that transaction), so a rolled-back invitation sends nothing and a
 *    committed one is always sent. The body carries a single-use link: it is stored encrypted
 *    (bound to the row) and erased once the provider has it, or the message is DEAD or CANCELED.
 * 2. The job (`processMessage`) claims the row (SENDING with a lease, so two deliveries of the job
 *    never send in parallel), calls `POST /messages` through the resilient client (timeout,
 *    retries, breaker, bulkhead) with an Idempotency-Key fixed at enqueue, so every retry is the
 *    same request and the provider sends once. The provider's message id is kept.
 * 3. Transient failures (5xx, timeouts, open circuit, 429) are retried by pg-boss with exponential
 *    backoff; a 4xx is final. After the last attempt the message is DEAD (visible to ADMINs, and a
 *    dead letter in the integration's health). Resending makes a new message.
 * 4. The provider's delivery-status webhooks (message.delivered / bounced / failed) are applied by
 *    `applyDeliveryStatus`, linked by the provider's message id, under the conflict rule.
 */
import crypto from 'node:crypto';
import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { integrations, outboundMessages, type OutboundMessageRow } from '../../db/schema.js';
import { actors, inTenant, type JobEnqueuer, type TenantActor } from '../../db/tenant-transaction.js';
import type { JobOf } from '../../jobs/boss.js';
import { QUEUES, type MessageJobData } from '../../jobs/queues.js';
import type { IntegrationDeps } from '../deps.js';
import { failureMessage, JobFailure, ProviderHttpError } from '../errors.js';
import { reevaluateHealthInTx } from '../health-monitor.js';
import type { SecretBox } from '../secrets.js';
import { loadIntegrationTarget } from '../targets.js';

export type MessageKind = 'INVITATION' | 'PASSWORD_RESET' | 'EMAIL_CHANGE' | 'EMAIL_CHANGED_NOTICE';

export interface NewMessage {
  tenantId: string;
  userId: string | null;
  kind: MessageKind;
  toEmail: string;
  subject: string;
  text: string;
}

/** How long a message may stay SENDING before another delivery of its job may take it over. */
const LEASE_MS = 2 * 60_000;
const DEFER_SECONDS = 2;

const bodyBinding = (tenantId: string, messageId: string) => `${tenantId}/${messageId}/message-body`;

/** The tenant's enabled COMMUNICATION_SERVICE integration (the oldest, if several), or none. */
export async function communicationIntegration(tx: Tx): Promise<{ id: string } | undefined> {
  const [row] = await tx
    .select({ id: integrations.id })
    .from(integrations)
    .where(and(eq(integrations.provider, 'COMMUNICATION_SERVICE'), eq(integrations.enabled, true)))
    .orderBy(asc(integrations.createdAt), asc(integrations.id))
    .limit(1);
  return row;
}

/**
 * Queues a message in the caller's transaction. Returns null when the tenant has no enabled
 * COMMUNICATION_SERVICE integration (the caller decides what then: an invitation returns its link
 * to the ADMIN instead).
 */
export async function queueMessage(tx: Tx, deps: { jobs: JobEnqueuer; secrets: SecretBox }, message: NewMessage): Promise<OutboundMessageRow | null> {
  const integration = await communicationIntegration(tx);
  if (!integration) return null;
  const id = crypto.randomUUID();
  const [row] = await tx
    .insert(outboundMessages)
    .values({
      tenantId: message.tenantId,
      id,
      integrationId: integration.id,
      userId: message.userId,
      kind: message.kind,
      toEmail: message.toEmail,
      subject: message.subject,
      bodyEncrypted: deps.secrets.encrypt(message.text, bodyBinding(message.tenantId, id)),
      idempotencyKey: `tessera-message-${id}`,
    })
    .returning();
  await deps.jobs.enqueue<MessageJobData>(tx, QUEUES.communicationSend, [{ tenantId: message.tenantId, messageId: id }]);
  return row!;
}

/** Stops a message that was not sent yet (its token was revoked or replaced): its link is erased. */
export async function cancelMessages(tx: Tx, messageIds: string[]): Promise<void> {
  if (!messageIds.length) return;
  await tx
    .update(outboundMessages)
    .set({ status: 'CANCELED', bodyEncrypted: null, leaseUntil: null, updatedAt: new Date() })
    .where(and(inArray(outboundMessages.id, messageIds), inArray(outboundMessages.status, ['QUEUED', 'FAILED'])));
}

interface ProviderMessageAnswer {
  id: string;
  status?: string;
  version?: number;
  updated_at?: string;
}

type Claim = { message: OutboundMessageRow; text: string } | { done: 'nothing' | 'deferred' };

/** The send job: sends one message, or throws (after recording FAILED) so pg-boss retries. */
export async function processMessage(app: IntegrationDeps, job: JobOf<MessageJobData>): Promise<string> {
  const { tenantId, messageId } = job.data;
  const actor = actors.system('communication', tenantId, { requestId: `job:${job.id}` });
  const claim: Claim = await inTenant(app.db, actor, async (tx) => {
    const [row] = await tx.select().from(outboundMessages).where(eq(outboundMessages.id, messageId)).for('update');
    if (!row || !['QUEUED', 'FAILED', 'SENDING'].includes(row.status) || !row.bodyEncrypted) return { done: 'nothing' };
    const now = Date.now();
    if (row.status === 'SENDING' && row.leaseUntil && row.leaseUntil.getTime() > now) {
      await app.jobs.enqueue<MessageJobData>(tx, QUEUES.communicationSend, [job.data], { startAfterSeconds: DEFER_SECONDS });
      return { done: 'deferred' };
    }
    const [claimed] = await tx
      .update(outboundMessages)
      .set({ status: 'SENDING', leaseUntil: new Date(now + LEASE_MS), attempts: sql`${outboundMessages.attempts} + 1`, updatedAt: new Date() })
      .where(eq(outboundMessages.id, messageId))
      .returning();
    return { message: claimed!, text: app.secrets.decrypt(row.bodyEncrypted, bodyBinding(tenantId, messageId)) };
  });
  if ('done' in claim) return claim.done;
  const { message, text } = claim;
  try {
    const target = await loadIntegrationTarget(app, tenantId, message.integrationId);
    if (!target) throw new PermanentSendError('The integration was deleted');
    const client = app.integrations.clients.client(target);
    const answer = (
      await client.post<ProviderMessageAnswer>(
        '/messages',
        { to_email: message.toEmail, channel: 'email', subject: message.subject, text, metadata: { tessera_message_id: message.id, kind: message.kind } },
        { idempotencyKey: message.idempotencyKey },
      )
    ).body;
    if (!answer || typeof answer.id !== 'string' || !answer.id || answer.id.length > 200) throw new PermanentSendError('The provider answered without a message id');
    await inTenant(app.db, actor, async (tx) => {
      await tx
        .update(outboundMessages)
        .set({ status: 'SENT', sentAt: new Date(), providerMessageId: answer.id, bodyEncrypted: null, lastError: null, leaseUntil: null, deliveryStatus: sql`coalesce(${outboundMessages.deliveryStatus}, 'SENT')`, updatedAt: new Date() })
        .where(eq(outboundMessages.id, messageId));
    });
    app.metrics.outboundMessages.inc({ outcome: 'sent' });
    return 'sent';
  } catch (err) {
    const permanent = err instanceof PermanentSendError || (err instanceof ProviderHttpError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429);
    const final = permanent || job.retryCount >= job.retryLimit;
    await recordFailure(app, actor, message, final ? 'DEAD' : 'FAILED', err);
    app.metrics.outboundMessages.inc({ outcome: final ? 'dead' : 'failed' });
    if (final) return 'dead';
    throw err;
  }
}

/** The dead-letter handler: the job ran out of attempts (or expired with a crashed worker). */
export async function markMessageDead(app: IntegrationDeps, job: JobOf<MessageJobData>): Promise<void> {
  const { tenantId, messageId } = job.data;
  await inTenant(app.db, actors.system('communication', tenantId, { requestId: `job:${job.id}` }), async (tx) => {
    const [dead] = await tx
      .update(outboundMessages)
      .set({ status: 'DEAD', bodyEncrypted: null, leaseUntil: null, lastError: sql`coalesce(${outboundMessages.lastError}, 'Attempts exhausted')`, updatedAt: new Date() })
      .where(
        and(
          eq(outboundMessages.id, messageId),
          or(inArray(outboundMessages.status, ['QUEUED', 'FAILED']), and(eq(outboundMessages.status, 'SENDING'), sql`${outboundMessages.leaseUntil} < now()`)),
        ),
      )
      .returning({ integrationId: outboundMessages.integrationId });
    if (dead) await reevaluateHealthInTx(app, tx, tenantId, dead.integrationId);
  });
}

async function recordFailure(app: IntegrationDeps, actor: TenantActor, message: OutboundMessageRow, status: 'FAILED' | 'DEAD', err: unknown) {
  app.log.warn({ err, messageId: message.id, status }, 'message send failed'); // the full error, for operators; the message keeps a client-safe one
  const text = failureMessage(err);
  await inTenant(app.db, actor, async (tx) => {
    await tx
      .update(outboundMessages)
      .set({ status, lastError: text, leaseUntil: null, ...(status === 'DEAD' ? { bodyEncrypted: null } : {}), updatedAt: new Date() })
      .where(eq(outboundMessages.id, message.id));
    if (status === 'DEAD') await reevaluateHealthInTx(app, tx, actor.tenantId, message.integrationId);
  }).catch((e: unknown) => app.log.warn({ err: e, messageId: message.id }, 'could not record a message failure'));
}

class PermanentSendError extends JobFailure {}

const DELIVERY = { sent: 'SENT', delivered: 'DELIVERED', bounced: 'BOUNCED', failed: 'FAILED' } as const;

/**
 * A delivery status from the provider (webhook or sync of its messages), onto the message we sent
 * with that provider id; newer (version, updated_at) only, so a late "delivered" never hides a
 * bounce that came after it. Runs in the caller's INTEGRATION transaction (audited as such).
 */
export async function applyDeliveryStatus(
  tx: Tx,
  integrationId: string,
  record: { id: string; status: keyof typeof DELIVERY; version: number; updated_at: Date; metadata?: { tessera_message_id?: string | undefined } | null | undefined },
): Promise<void> {
  // Our id (echoed metadata) also links a status that arrives before the send job recorded the provider's id.
  const ours = record.metadata?.tessera_message_id;
  await tx
    .update(outboundMessages)
    .set({
      deliveryStatus: DELIVERY[record.status],
      deliveryVersion: record.version,
      deliveryUpdatedAt: record.updated_at,
      providerMessageId: sql`coalesce(${outboundMessages.providerMessageId}, ${record.id})`,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(outboundMessages.integrationId, integrationId),
        ours
          ? and(eq(outboundMessages.id, ours), or(isNull(outboundMessages.providerMessageId), eq(outboundMessages.providerMessageId, record.id)))
          : eq(outboundMessages.providerMessageId, record.id),
        or(
          isNull(outboundMessages.deliveryVersion),
          sql`(${outboundMessages.deliveryVersion}, coalesce(${outboundMessages.deliveryUpdatedAt}, '-infinity')) < (${record.version}::bigint, ${record.updated_at.toISOString()}::timestamptz)`,
        ),
      ),
    );
}

/** Registers the send worker and its dead-letter worker. */
export async function startCommunicationWorkers(app: IntegrationDeps): Promise<void> {
  await app.jobs.work<MessageJobData>(QUEUES.communicationSend, (job) => processMessage(app, job), { workers: 1, batchSize: 10, concurrency: 4 });
  await app.jobs.work<MessageJobData>(QUEUES.communicationSendDead, (job) => markMessageDead(app, job), { workers: 1, batchSize: 10 });
}
