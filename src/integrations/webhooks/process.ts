/**
 * Processing of stored webhook events. Lifecycle: RECEIVED → PROCESSING → PROCESSED, or
 * FAILED (will retry; attempts and last error recorded) → DEAD after the last attempt.
 *
 * Each step is its own short transaction inside inTenant with the INTEGRATION actor (RLS and
 * audit apply). The effect and the PROCESSED mark commit together, so a job that is delivered
 * again (a crashed worker's job after expiry, or a replay) finds PROCESSED and does nothing, and
 * the apply functions are idempotent anyway.
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { PROVIDERS } from '../../db/providers.js';
import { webhookEvents } from '../../db/schema.js';
import { actors, inTenant, inTenantOneTrip, type TenantActor } from '../../db/tenant-transaction.js';
import type { JobOf } from '../../jobs/boss.js';
import { QUEUES, type WebhookJobData } from '../../jobs/queues.js';
import type { IntegrationDeps } from '../deps.js';
import { applyEvents } from '../events.js';
import { inviteNewMirroredUsers } from '../communication/mirrored-invites.js';
import { failureMessage } from '../errors.js';
import { reevaluateHealthInTx } from '../health-monitor.js';

type Failure = { job: JobOf<WebhookJobData>; error: unknown };
type StartedEvent = { id: string; type: string; payload: { data?: unknown } };

/**
 * A job's tenant is never taken on trust: it names rows (its events), and only rows that RLS under
 * that tenant shows, of that integration, are processed; a job naming another tenant's event, or
 * one forged into the queue, finds nothing and does nothing (tests/roles-catalog.test.ts).
 *
 * Processes a group of jobs of ONE integration (so one tenant and one actor) in three short
 * transactions instead of two per event: the audit trigger takes the tenant's chain lock at commit
 * and holds it through the commit's WAL flush, so a tenant's audited commits are serial — one
 * commit per group, not per event, is what lets a tenant's queue keep up.
 *  1. PROCESSING and one more attempt for every event of the group (one statement, one round trip).
 *     A DEAD event runs again only when replayed (which sets RECEIVED), not for a stray job;
 *     an event already PROCESSED is skipped (a redelivered or duplicate job).
 *  2. One transaction applies the events (applyEvents: a few statements per kind of record, each
 *     record's events in job order) and marks them PROCESSED in one statement, so effects and marks
 *     commit together. If one throws (or another job processed it first: the final update misses
 *     it), the group runs again with a savepoint per event, so that one rolls back alone.
 *  3. The failures are recorded (FAILED, or DEAD after the last attempt) and returned, so pg-boss
 *     retries exactly those jobs; the others complete.
 */
export async function processWebhookJobs(app: IntegrationDeps, jobs: JobOf<WebhookJobData>[]): Promise<Failure[]> {
  const { tenantId, integrationId } = jobs[0]!.data;
  const actor = actors.integration(integrationId, tenantId, { requestId: `job:${jobs[0]!.id}` });
  const eventIds = [...new Set(jobs.map((j) => j.data.eventId))];
  const [rows] = (await inTenantOneTrip(app.db, actor, [
    (raw) => raw`
      update webhook_events set status = 'PROCESSING', attempts = attempts + 1, updated_at = now()
      where tenant_id = ${tenantId}::uuid and integration_id = ${integrationId}::uuid and id = any(${eventIds}::uuid[]) and status not in ('PROCESSED', 'DEAD')
      returning id, type, payload`,
  ])) as unknown as [StartedEvent[]];
  const started = new Map(rows.map((r) => [r.id, r]));
  if (started.size === 0) return [];

  const firstJobs = new Map<string, JobOf<WebhookJobData>>(); // a second job of the same event is skipped
  for (const job of jobs) if (started.has(job.data.eventId) && !firstJobs.has(job.data.eventId)) firstJobs.set(job.data.eventId, job);
  const target = { tenantId, id: integrationId };
  // Each applied event's PROCESSED mark commits with its effect. If another job of an event got there
  // first, the update misses it and the transaction (or savepoint) rolls back: no second effect.
  const apply = async (tx: Tx, events: StartedEvent[]) => {
    const outcomes = await applyEvents(tx, target, events.map((e) => ({ type: e.type, data: e.payload.data })));
    // Users who first appeared with these events are invited, if the integration says so (issue 13).
    const created = events.flatMap((e, i) => (outcomes[i] === 'created' && e.type.startsWith('user.') ? [String((e.payload.data as { id?: unknown }).id)] : []));
    await inviteNewMirroredUsers(tx, { config: app.config, jobs: app.jobs, secrets: app.secrets }, integrationId, created);
    const done = await tx.execute(sql`
      update webhook_events w set status = 'PROCESSED', outcome = o.outcome, last_error = null, processed_at = clock_timestamp(), updated_at = clock_timestamp()
      from jsonb_to_recordset(${JSON.stringify(events.map((e, i) => ({ id: e.id, outcome: outcomes[i] })))}::text::jsonb) as o(id uuid, outcome text)
      where w.tenant_id = ${tenantId}::uuid and w.id = o.id and w.status <> 'PROCESSED'
      returning w.id`);
    if (done.length !== events.length) throw ALREADY_PROCESSED;
  };
  const failures: Failure[] = [];
  let applied = 0;
  try {
    // Fast path: the whole group at once, a few statements per kind of record (applyEvents).
    await inTenant(app.db, actor, (tx) => apply(tx, [...firstJobs.keys()].map((id) => started.get(id)!)));
    applied = firstJobs.size;
  } catch (fastErr) {
    try {
      // Some event threw: again, with a savepoint per event, so that only the failing ones fail.
      if (firstJobs.size === 1) throw fastErr;
      await inTenant(app.db, actor, async (tx) => {
        for (const [id, job] of firstJobs) {
          try {
            await tx.transaction((sp) => apply(sp, [started.get(id)!]));
            applied++;
          } catch (err) {
            if (err !== ALREADY_PROCESSED) failures.push({ job, error: err });
          }
        }
      });
    } catch (err) {
      // A lone event that threw, or the commit itself failed: nothing of the group was applied.
      applied = 0;
      failures.length = 0;
      if (err !== ALREADY_PROCESSED) for (const job of firstJobs.values()) failures.push({ job, error: err });
    }
  }
  if (applied > 0) app.metrics.webhookEvents.inc({ outcome: 'processed' }, applied);
  if (failures.length) await recordFailures(app, actor, failures);
  return failures;
}

async function recordFailures(app: IntegrationDeps, actor: TenantActor, failures: Failure[]): Promise<void> {
  const { tenantId, integrationId } = failures[0]!.job.data;
  let dead = false;
  await inTenant(app.db, actor, async (tx) => {
    for (const { job, error } of failures) {
      const final = job.retryCount >= job.retryLimit;
      dead ||= final;
      // The full error for operators; the event keeps a client-safe one (webhookEvents.lastError shows it).
      app.log.warn({ err: error, eventId: job.data.eventId, integrationId, final }, 'webhook event failed');
      const message = failureMessage(error);
      await tx
        .update(webhookEvents)
        .set({ status: final ? 'DEAD' : 'FAILED', lastError: message, updatedAt: new Date() })
        .where(and(eq(webhookEvents.id, job.data.eventId), ne(webhookEvents.status, 'PROCESSED')));
      app.metrics.webhookEvents.inc({ outcome: final ? 'dead' : 'failed' });
    }
    // A dead letter is a health signal: counted in the same commit, so readers never see one without the other.
    if (dead) await reevaluateHealthInTx(app, tx, tenantId, integrationId);
  }).catch((e: unknown) => app.log.warn({ err: e, events: failures.map((f) => f.job.data.eventId) }, 'could not record the failure of webhook events'));
}

const ALREADY_PROCESSED = Symbol('already processed');

/**
 * The dead-letter queue's handler: whatever ended the job (its last attempt threw, or it expired
 * with a crashed worker), the event is DEAD — unless it was processed or replayed (RECEIVED) since.
 */
export async function markWebhookEventDead(app: IntegrationDeps, job: JobOf<WebhookJobData>): Promise<void> {
  const { tenantId, integrationId, eventId } = job.data;
  await inTenant(app.db, actors.integration(integrationId, tenantId, { requestId: `job:${job.id}` }), async (tx) => {
    const dead = await tx
      .update(webhookEvents)
      .set({ status: 'DEAD', lastError: sql`coalesce(${webhookEvents.lastError}, 'Attempts exhausted')`, updatedAt: new Date() })
      .where(and(eq(webhookEvents.id, eventId), eq(webhookEvents.integrationId, integrationId), inArray(webhookEvents.status, ['PROCESSING', 'FAILED'])))
      .returning({ id: webhookEvents.id });
    // A dead letter is a health signal: counted in the same commit.
    if (dead.length) await reevaluateHealthInTx(app, tx, tenantId, integrationId);
  });
}

/** Registers the webhook workers of every provider queue and its dead-letter queue. */
export async function startWebhookWorkers(app: IntegrationDeps): Promise<void> {
  for (const p of PROVIDERS) {
    // Grouped by integration (one tenant, one actor): each group is applied in one transaction.
    await app.jobs.workGroups<WebhookJobData>(QUEUES.webhooks(p), (job) => `${job.data.tenantId}/${job.data.integrationId}`, (jobs) => processWebhookJobs(app, jobs));
    await app.jobs.work<WebhookJobData>(QUEUES.webhooksDead(p), (job) => markWebhookEventDead(app, job), { workers: 1 });
  }
}
