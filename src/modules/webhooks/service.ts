/**
 * Webhook events as ADMINs see them: listing with filters, one event with its attempts and last
 * error, and replay (single, or bulk by filter). Replaying re-queues the stored event in the same
 * transaction that marks it RECEIVED; applying is idempotent, so replaying a processed event is safe.
 */
import { and, asc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { App } from '../../app.js';
import type { Tx } from '../../db/client.js';
import type { Scope } from '../../db/scope.js';
import { integrations, webhookEvents, type WebhookEventRow } from '../../db/schema.js';
import { conflict, notFound } from '../../errors.js';
import { paginate, type Page } from '../../db/pagination.js';
import { QUEUES, type WebhookJobData } from '../../jobs/queues.js';
import type { Provider } from '../../db/providers.js';
import { validate } from '../../validation.js';

/** Rows carry createdAt (= receivedAt) so the shared keyset cursor helpers apply. */
export type WebhookEventView = WebhookEventRow & { createdAt: Date };
export type WebhookEventConnectionResult = Page<WebhookEventView>;

const STATUSES = ['RECEIVED', 'PROCESSING', 'PROCESSED', 'FAILED', 'DEAD'] as const;
const REPLAYABLE = ['FAILED', 'DEAD', 'PROCESSED'] as const;

const filterInput = z.object({
  integrationId: z.string().uuid('Not a UUID').nullish(),
  status: z.array(z.enum(STATUSES)).max(5).nullish(),
  type: z.string().trim().min(1).max(100).nullish(),
  receivedAfter: z.coerce.date().nullish(),
  receivedBefore: z.coerce.date().nullish(),
});
type Filter = z.infer<typeof filterInput>;

function filterConditions(f: Filter | null | undefined): SQL | undefined {
  return and(
    f?.integrationId ? eq(webhookEvents.integrationId, f.integrationId) : undefined,
    f?.status?.length ? inArray(webhookEvents.status, f.status) : undefined,
    f?.type ? eq(webhookEvents.type, f.type) : undefined,
    // Bound as text: drizzle's postgres.js client passes Date parameters through unserialized.
    f?.receivedAfter ? gte(webhookEvents.receivedAt, sql`${f.receivedAfter.toISOString()}::timestamptz`) : undefined,
    f?.receivedBefore ? lt(webhookEvents.receivedAt, sql`${f.receivedBefore.toISOString()}::timestamptz`) : undefined,
  );
}

const view = (r: WebhookEventRow): WebhookEventView => ({ ...r, createdAt: r.receivedAt });

const listInput = z.object({ first: z.number().nullish(), after: z.string().nullish(), filter: filterInput.nullish() });

export async function listWebhookEvents(scope: Scope, input: z.input<typeof listInput>): Promise<WebhookEventConnectionResult> {
  const { first, after, filter } = validate(listInput, input);
  return paginate(scope, { table: webhookEvents, createdAt: webhookEvents.receivedAt, id: webhookEvents.id, where: filterConditions(filter), first, after, map: view });
}

const idInput = z.object({ id: z.string().uuid('Not a UUID') });

export async function getWebhookEvent(scope: Scope, id: string): Promise<WebhookEventView | null> {
  validate(idInput, { id });
  const [row] = await scope.read((tx) => tx.select().from(webhookEvents).where(eq(webhookEvents.id, id)));
  return row ? view(row) : null;
}

/** Marks the events RECEIVED and enqueues one job each, in the caller's transaction. */
async function requeue(app: App, tx: Tx, tenantId: string, events: { id: string; integrationId: string; provider: Provider }[]): Promise<Provider[]> {
  if (events.length === 0) return [];
  await tx
    .update(webhookEvents)
    .set({ status: 'RECEIVED', updatedAt: new Date() })
    .where(inArray(webhookEvents.id, events.map((e) => e.id)));
  const byProvider = new Map<Provider, WebhookJobData[]>();
  for (const e of events) byProvider.set(e.provider, [...(byProvider.get(e.provider) ?? []), { tenantId, integrationId: e.integrationId, eventId: e.id }]);
  for (const [provider, jobs] of byProvider) await app.jobs.enqueue(tx, QUEUES.webhooks(provider), jobs);
  return [...byProvider.keys()];
}

/** Queues one event again. Refused (CONFLICT) while it is already queued or running. */
export async function replayWebhookEvent(app: App, scope: Scope, id: string): Promise<WebhookEventView> {
  validate(idInput, { id });
  const row = await scope.write(async (tx) => {
    const [e] = await tx
      .select({ event: webhookEvents, provider: integrations.provider })
      .from(webhookEvents)
      .innerJoin(integrations, and(eq(integrations.tenantId, webhookEvents.tenantId), eq(integrations.id, webhookEvents.integrationId)))
      .where(eq(webhookEvents.id, id))
      .for('update', { of: webhookEvents });
    if (!e) throw notFound('Webhook event');
    if (!(REPLAYABLE as readonly string[]).includes(e.event.status)) throw conflict(`The event is ${e.event.status}: it is already queued or running`);
    await requeue(app, tx, scope.settings.tenantId, [{ id, integrationId: e.event.integrationId, provider: e.provider }]);
    const [updated] = await tx.select().from(webhookEvents).where(eq(webhookEvents.id, id));
    return updated!;
  });
  return view(row);
}

const bulkInput = z.object({ filter: filterInput, limit: z.number().int().min(1, 'At least 1').max(1000, 'At most 1000') });

/** Queues again every FAILED or DEAD event matching the filter (DEAD when no status is given), oldest first. */
export async function replayWebhookEvents(app: App, scope: Scope, input: z.input<typeof bulkInput>): Promise<{ count: number }> {
  const { filter, limit } = validate(bulkInput, input);
  const statuses = (filter.status?.length ? filter.status : ['DEAD']).filter((s) => s === 'FAILED' || s === 'DEAD');
  if (statuses.length === 0) return { count: 0 };
  const n = await scope.write(async (tx) => {
    const rows = await tx
      .select({ id: webhookEvents.id, integrationId: webhookEvents.integrationId, provider: integrations.provider })
      .from(webhookEvents)
      .innerJoin(integrations, and(eq(integrations.tenantId, webhookEvents.tenantId), eq(integrations.id, webhookEvents.integrationId)))
      .where(and(filterConditions({ ...filter, status: statuses }), inArray(webhookEvents.status, statuses)))
      .orderBy(asc(webhookEvents.receivedAt), asc(webhookEvents.id))
      .limit(limit)
      .for('update', { of: webhookEvents, skipLocked: true });
    await requeue(app, tx, scope.settings.tenantId, rows);
    return rows.length;
  });
  return { count: n };
}
