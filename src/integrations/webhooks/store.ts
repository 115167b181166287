/**
 * Step 5's transaction: a batch of one integration's deliveries stored as event rows plus their
 * pg-boss jobs, committed together (ARCHITECTURE invariant 6), and each delivery's answer.
 */
import crypto from 'node:crypto';
import type postgres from 'postgres';
import { actors, inTenant, inTenantOneTrip } from '../../db/tenant-transaction.js';
import { QUEUES, type WebhookJobData } from '../../jobs/queues.js';
import type { IntegrationDeps } from '../deps.js';
import type { WaitingDelivery } from './gather.js';
import type { Delivery, WebhookResponse } from './types.js';

/**
 * One round trip: BEGIN, app_begin, the event insert, the job insert and COMMIT, pipelined
 * (inTenantOneTrip). Event and job ids are derived from (tenant, integration, provider event id),
 * so neither insert depends on the other: a duplicate — even a concurrent copy, which waits on the
 * unique index for the first to commit — conflicts on both and adds nothing. Two copies in the
 * same transaction: the first delivery that names an event gets it, the other is its duplicate.
 */
export async function storeTogether(app: Pick<IntegrationDeps, 'ingestDb' | 'jobs' | 'log'>, batch: WaitingDelivery[]): Promise<WebhookResponse[]> {
  const { integration, req } = batch[0]!;
  const tenantId = integration.tenant_id;
  const integrationId = req.integrationId;
  const queue = QUEUES.webhooks(integration.provider);
  const claimedBy = new Map<string, number>(); // event id → the delivery (index in batch) that stores it
  const records: { id: string; provider_event_id: string; type: string; payload: unknown; delivery_id: string; delivery_timestamp: number }[] = [];
  const perDelivery = batch.map(({ delivery: d }, i) => {
    const unique = [...new Map(d.rows.map((r) => [r.providerEventId, { ...r, id: eventIdFor(tenantId, integrationId, r.providerEventId) }])).values()];
    for (const r of unique) {
      if (claimedBy.has(r.id)) continue;
      claimedBy.set(r.id, i);
      records.push({ id: r.id, provider_event_id: r.providerEventId, type: r.event.type, payload: r.event, delivery_id: d.deliveryId, delivery_timestamp: d.timestampSeconds });
    }
    return unique;
  });
  const jobs = records.map((r) => ({ id: r.id, data: { tenantId, integrationId, eventId: r.id } satisfies WebhookJobData }));
  const jobInsert = await app.jobs.insertStatement(queue, jobs);
  const [, inserted, jobResult] = (await inTenantOneTrip(app.ingestDb, actors.integration(integrationId, tenantId, { requestId: req.requestId }), [
    (raw) => raw`select platform.require_webhook_integration(${integrationId}::uuid, ${[...new Set(batch.map((p) => p.delivery.secret))]}::text[], ${[...new Set(batch.map((p) => p.req.sourceIp))]}::inet[])`,
    (raw) => raw`
      insert into webhook_events (tenant_id, id, integration_id, provider_event_id, type, payload, delivery_id, delivery_timestamp)
      select ${tenantId}::uuid, e.id, ${integrationId}::uuid, e.provider_event_id, e.type, e.payload, e.delivery_id, to_timestamp(e.delivery_timestamp)
      from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as e(id uuid, provider_event_id text, type text, payload jsonb, delivery_id text, delivery_timestamp double precision)
      on conflict do nothing
      returning id`,
    (raw) => raw.unsafe(jobInsert.text, jobInsert.values as never[]),
  ])) as [unknown, postgres.RowList<{ id: string }[]>, postgres.RowList<postgres.Row[]>];
  const fresh = new Set(inserted.map((e) => e.id));
  if (jobResult.count < fresh.size) {
    // Only possible if the queue vanished (queues are created at every start-up): the COMMIT was
    // already pipelined, so enqueue the missing jobs now, or let the sender retry.
    app.log.error({ queue, events: fresh.size, jobs: jobResult.count }, 'webhook events stored without jobs; enqueueing again');
    await inTenant(app.ingestDb, actors.integration(integrationId, tenantId, { requestId: req.requestId }), (tx) => app.jobs.enqueue(tx, queue, [...fresh].map((id) => ({ tenantId, integrationId, eventId: id }))));
  }
  return batch.map(({ delivery: d }, i) => respond(d, perDelivery[i]!, (id) => fresh.has(id) && claimedBy.get(id) === i, queue));
}

/** The answer to one delivery, given which of its events this delivery stored (`isFresh`). */
function respond(d: Delivery, unique: { providerEventId: string; id: string }[], isFresh: (eventId: string) => boolean, queue: string): WebhookResponse {
  const byProviderId = new Map(unique.map((r) => [r.providerEventId, { id: r.id, duplicate: !isFresh(r.id) }]));
  const accepted = unique.filter((r) => isFresh(r.id)).length;
  const wake = accepted > 0 ? queue : undefined;
  if (!d.batch) {
    const one = byProviderId.get(d.rows[0]!.providerEventId)!;
    return one.duplicate ? { status: 200, body: { id: one.id, duplicate: true } } : { status: 202, body: { id: one.id, duplicate: false }, wake };
  }
  const events = d.rows.map((r) => ({ providerEventId: r.providerEventId, ...byProviderId.get(r.providerEventId)! }));
  return { status: accepted === 0 ? 200 : 202, body: { duplicate: accepted === 0, accepted, events }, wake };
}

/**
 * Our event id (also its first job's id) for a provider event: a UUID (version 8, name-based)
 * derived from tenant, integration and provider event id, so every copy of a delivery maps to the
 * same rows.
 */
export function eventIdFor(tenantId: string, integrationId: string, providerEventId: string): string {
  const h = crypto.createHash('sha256').update(`${tenantId}/${integrationId}/${providerEventId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
