/**
 * Processing of stored webhook events. Lifecycle: RECEIVED → PROCESSING → PROCESSED, or
 * FAILED (will retry; attempts and last error recorded) → DEAD after the last attempt.
 *
 * Each step is its own short transaction inside withTenant with the INTEGRATION actor (RLS and
 * audit apply). The effect and the PROCESSED mark commit together, so a job that is delivered
 * again (a crashed worker's job after expiry, or a replay) finds PROCESSED and does nothing, and
 * the apply functions are idempotent anyway.
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { App } from '../app.js';
import { webhookEvents } from '../db/schema.js';
import { withTenant, withTenantOneTrip, type TenantSettings } from '../db/tenant-context.js';
import { applyEvent } from '../integrations/events.js';
import type { ApplyOutcome } from '../integrations/apply/index.js';
import { reevaluateHealthInTx } from '../modules/integration-health/service.js';
import { QUEUES, PROVIDERS, type JobOf, type WebhookJobData } from './boss.js';

export const integrationActor = (tenantId: string, integrationId: string, requestId?: string): TenantSettings => ({
  tenantId,
  actorType: 'INTEGRATION',
  actorId: integrationId,
  requestId,
});

const MAX_ERROR_LENGTH = 2000;

export type ProcessResult = ApplyOutcome | 'skipped';

/** Processes one event; throws (after recording FAILED or DEAD) so pg-boss retries or dead-letters the job. */
export async function processWebhookEvent(app: App, job: JobOf<WebhookJobData>): Promise<ProcessResult> {
  const { tenantId, integrationId, eventId } = job.data;
  const actor = integrationActor(tenantId, integrationId, `job:${job.id}`);
  // 1. Visible lifecycle: PROCESSING, one more attempt (the whole transaction in one round trip).
  // A DEAD event runs again only when replayed (which sets RECEIVED), not for a stray job.
  const [rows] = (await withTenantOneTrip(app.db, actor, [
    (raw) => raw`
      update webhook_events set status = 'PROCESSING', attempts = attempts + 1, updated_at = now()
      where tenant_id = ${tenantId}::uuid and id = ${eventId}::uuid and status not in ('PROCESSED', 'DEAD')
      returning type, payload`,
  ])) as unknown as [{ type: string; payload: { data?: unknown } }[]];
  const started = rows[0];
  if (!started) return 'skipped'; // already processed (a redelivered or duplicate job)
  try {
    // 2. The effect and PROCESSED commit together. If another job of the same event got there
    //    first, the final update matches nothing and this transaction rolls back: no second effect.
    const outcome = await withTenant(app.db, actor, async (tx) => {
      const result = await applyEvent(tx, { tenantId, id: integrationId }, started.type, started.payload.data);
      const done = await tx
        .update(webhookEvents)
        .set({ status: 'PROCESSED', outcome: result, lastError: null, processedAt: new Date(), updatedAt: new Date() })
        .where(and(eq(webhookEvents.id, eventId), ne(webhookEvents.status, 'PROCESSED')))
        .returning({ id: webhookEvents.id });
      if (done.length === 0) throw ALREADY_PROCESSED;
      return result;
    });
    app.metrics.webhookEvents.inc({ outcome: 'processed' });
    return outcome;
  } catch (err) {
    if (err === ALREADY_PROCESSED) return 'skipped';
    const final = job.retryCount >= job.retryLimit;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);
    await withTenant(app.db, actor, async (tx) => {
      await tx
        .update(webhookEvents)
        .set({ status: final ? 'DEAD' : 'FAILED', lastError: message, updatedAt: new Date() })
        .where(and(eq(webhookEvents.id, eventId), ne(webhookEvents.status, 'PROCESSED')));
      // A dead letter is a health signal: counted in the same commit, so readers never see one without the other.
      if (final) await reevaluateHealthInTx(app, tx, tenantId, integrationId);
    }).catch((e: unknown) => app.log.warn({ err: e, eventId }, 'could not record the failure of a webhook event'));
    app.metrics.webhookEvents.inc({ outcome: final ? 'dead' : 'failed' });
    throw err;
  }
}

const ALREADY_PROCESSED = Symbol('already processed');

/**
 * The dead-letter queue's handler: whatever ended the job (its last attempt threw, or it expired
 * with a crashed worker), the event is DEAD — unless it was processed or replayed (RECEIVED) since.
 */
export async function markWebhookEventDead(app: App, job: JobOf<WebhookJobData>): Promise<void> {
  const { tenantId, integrationId, eventId } = job.data;
  await withTenant(app.db, integrationActor(tenantId, integrationId, `job:${job.id}`), async (tx) => {
    const dead = await tx
      .update(webhookEvents)
      .set({ status: 'DEAD', lastError: sql`coalesce(${webhookEvents.lastError}, 'Attempts exhausted')`, updatedAt: new Date() })
      .where(and(eq(webhookEvents.id, eventId), inArray(webhookEvents.status, ['PROCESSING', 'FAILED'])))
      .returning({ id: webhookEvents.id });
    if (dead.length) await reevaluateHealthInTx(app, tx, tenantId, integrationId);
  });
}

/** Registers the webhook workers of every provider queue and its dead-letter queue. */
export async function startWebhookWorkers(app: App): Promise<void> {
  for (const p of PROVIDERS) {
    await app.jobs.work<WebhookJobData>(QUEUES.webhooks(p), (job) => processWebhookEvent(app, job));
    await app.jobs.work<WebhookJobData>(QUEUES.webhooksDead(p), (job) => markWebhookEventDead(app, job), { workers: 1 });
  }
}
