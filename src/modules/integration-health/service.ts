/**
 * Integration health and circuits: evaluation, health checks, and the reads and admin actions
 * behind the GraphQL fields. Everything runs inside withTenant (RLS); background paths act as the
 * SYSTEM actor, admin actions as the user.
 */
import { and, desc, eq, gte, inArray, lt, sql, sum } from 'drizzle-orm';
import { z } from 'zod';
import type { App } from '../../app.js';
import { uuidArray } from '../../db/batch.js';
import type { Tx } from '../../db/client.js';
import type { Scope } from '../../db/scope.js';
import {
  integrationCallStats,
  integrationCircuits,
  integrationHealth,
  integrationHealthChanges,
  integrationPushes,
  integrations,
  syncRuns,
  webhookEvents,
  type IntegrationCircuitRow,
  type IntegrationHealthRow,
} from '../../db/schema.js';
import { withTenant } from '../../db/tenant-context.js';
import { circuitEvent, systemSettings } from '../../integrations/circuit-registry.js';
import { evaluateHealth, type HealthSignals, type HealthStatus } from '../../integrations/health.js';
import type { IntegrationTarget } from '../../integrations/types.js';
import { publish, type HealthChangedEvent } from '../../realtime/pubsub.js';
import { fields, validate } from '../../validation.js';

/** Outbound calls older than this no longer count towards the failure ratio. */
export const CALL_WINDOW_MS = 5 * 60_000;
/** Webhook events received longer ago no longer count towards the webhook failure ratio. */
export const WEBHOOK_WINDOW_MS = 15 * 60_000;
/** Dead letters (webhook events, pushes) count against health for this long after they died. */
export const DEAD_LETTER_WINDOW_MS = 24 * 3600_000;
/** Buckets kept for inspection beyond the window, then pruned on evaluation. */
const STATS_RETENTION_MS = 60 * 60_000;

/** Overrides for the recorded signals (tests, benchmarks); normally they are read from the tables. */
export interface ExternalSignals {
  webhookFailureRatio?: number | null;
  lastSuccessfulSyncAt?: Date | null;
  deadLetterCount?: number | null;
}

/** What is stored in the signals column: the evaluated signals plus the sync time the age came from. */
type StoredSignals = HealthSignals & { lastSuccessfulSyncAt: string | null };

export interface HealthSignalsView extends HealthSignals {
  lastCheckAt: Date | null;
}

export interface HealthView {
  integrationId: string;
  status: HealthStatus;
  reason: string | null;
  since: Date | null;
  signals: HealthSignalsView;
}

export interface HealthChangeView {
  id: string;
  integrationId: string;
  status: HealthStatus;
  previousStatus: HealthStatus | null;
  reason: string | null;
  changedAt: Date | string;
  signals: HealthSignalsView | null;
}

/**
 * Re-evaluates one integration's health and records it, as the SYSTEM actor:
 *  1. flushes this process's buffered call outcomes, so the ratio includes the latest calls;
 *  2. in one transaction, locks the current health row and reads circuit state and call stats;
 *  3. if the status changed, appends a history row and NOTIFYs subscribers (sent at commit).
 */
export async function reevaluateHealth(
  app: App,
  tenantId: string,
  integrationId: string,
  input: { external?: ExternalSignals; check?: { ok: boolean; at: Date } } = {},
): Promise<HealthView> {
  await app.integrations.stats.flush();
  const row = await withTenant(app.db, systemSettings(tenantId, 'health-monitor'), (tx) => evaluateInTx(tx, tenantId, integrationId, input));
  return toHealthView(row, integrationId);
}

/**
 * The same, inside the caller's transaction (after flushing call stats), so the change that moved a
 * signal (e.g. a sync run's final status) and the health it implies commit together.
 */
export async function reevaluateHealthInTx(app: App, tx: Tx, tenantId: string, integrationId: string): Promise<HealthView> {
  await app.integrations.stats.flush();
  return toHealthView(await evaluateInTx(tx, tenantId, integrationId, {}), integrationId);
}

async function evaluateInTx(tx: Tx, tenantId: string, integrationId: string, input: { external?: ExternalSignals; check?: { ok: boolean; at: Date } }): Promise<IntegrationHealthRow> {
  const now = new Date();
  await tx.insert(integrationHealth).values({ tenantId, integrationId }).onConflictDoNothing();
  const [current] = await tx.select().from(integrationHealth).where(eq(integrationHealth.integrationId, integrationId)).for('update');
  const [circuit] = await tx.select({ state: integrationCircuits.state }).from(integrationCircuits).where(eq(integrationCircuits.integrationId, integrationId));
  await tx.delete(integrationCallStats).where(and(eq(integrationCallStats.integrationId, integrationId), lt(integrationCallStats.bucket, new Date(now.getTime() - STATS_RETENTION_MS))));
  const windowStart = new Date(Math.floor((now.getTime() - CALL_WINDOW_MS) / 60_000) * 60_000);
  const [calls] = await tx
    .select({ ok: sum(integrationCallStats.successes).mapWith(Number), failed: sum(integrationCallStats.failures).mapWith(Number) })
    .from(integrationCallStats)
    .where(and(eq(integrationCallStats.integrationId, integrationId), gte(integrationCallStats.bucket, windowStart)));

  const recorded = await readRecordedSignals(tx, integrationId, now);
  const ext = input.external ?? {};
  const ok = calls?.ok ?? 0;
  const failed = calls?.failed ?? 0;
  const lastSync = ext.lastSuccessfulSyncAt !== undefined ? ext.lastSuccessfulSyncAt : recorded.lastSuccessfulSyncAt;
  const syncAt = lastSync ? new Date(lastSync).toISOString() : null;
  const signals: StoredSignals = {
    breakerState: circuit?.state ?? 'CLOSED',
    callCount: ok + failed,
    failureRatio: ok + failed > 0 ? failed / (ok + failed) : null,
    webhookFailureRatio: ext.webhookFailureRatio !== undefined ? ext.webhookFailureRatio : recorded.webhookFailureRatio,
    deadLetterCount: ext.deadLetterCount !== undefined ? ext.deadLetterCount : recorded.deadLetterCount,
    lastSuccessfulSyncAt: syncAt,
    lastSuccessfulSyncAgeSeconds: syncAt ? Math.max(0, Math.round((now.getTime() - Date.parse(syncAt)) / 1000)) : null,
    lastCheckOk: input.check ? input.check.ok : current!.lastCheckOk,
  };
  const verdict = evaluateHealth(signals);
  const changed = verdict.status !== current!.status;
  const [updated] = await tx
    .update(integrationHealth)
    .set({
      status: verdict.status,
      reason: verdict.reason,
      signals,
      since: changed ? now : current!.since,
      updatedAt: now,
      ...(input.check ? { lastCheckOk: input.check.ok, lastCheckAt: input.check.at } : {}),
    })
    .where(eq(integrationHealth.integrationId, integrationId))
    .returning();
  if (changed) {
    const [change] = await tx
      .insert(integrationHealthChanges)
      .values({ tenantId, integrationId, status: verdict.status, previousStatus: current!.status, reason: verdict.reason, signals, changedAt: now })
      .returning({ id: integrationHealthChanges.id });
    await publish(tx, {
      topic: 'integration_health_changed',
      tenantId,
      integrationId,
      id: change!.id,
      status: verdict.status,
      previousStatus: current!.status,
      reason: verdict.reason.slice(0, 500),
      changedAt: now.toISOString(),
    });
  }
  return updated!;
}

/**
 * The signals other parts of the engine record, read in one statement:
 *  - webhook failure ratio: of the events received in the window that have been attempted, the share
 *    now FAILED or DEAD (a retry that later succeeded is PROCESSED and no longer counts);
 *  - dead letters: webhook events and pushes that went DEAD within DEAD_LETTER_WINDOW_MS (a replayed
 *    event leaves DEAD and stops counting);
 *  - the last successful sync: when the newest SUCCEEDED sync run finished.
 */
async function readRecordedSignals(tx: Tx, integrationId: string, now: Date) {
  const windowStart = new Date(now.getTime() - WEBHOOK_WINDOW_MS).toISOString();
  const deadSince = new Date(now.getTime() - DEAD_LETTER_WINDOW_MS).toISOString();
  const [row] = (await tx.execute(sql`
    select
      (select count(*) filter (where status in ('FAILED', 'DEAD'))::int from ${webhookEvents}
        where integration_id = ${integrationId} and received_at >= ${windowStart}::timestamptz) as webhook_failed,
      (select count(*) filter (where status in ('PROCESSED', 'FAILED', 'DEAD'))::int from ${webhookEvents}
        where integration_id = ${integrationId} and received_at >= ${windowStart}::timestamptz) as webhook_attempted,
      (select count(*)::int from ${webhookEvents}
        where integration_id = ${integrationId} and status = 'DEAD' and updated_at >= ${deadSince}::timestamptz)
      + (select count(*)::int from ${integrationPushes}
        where integration_id = ${integrationId} and status = 'DEAD' and updated_at >= ${deadSince}::timestamptz) as dead_letters,
      (select max(finished_at) from ${syncRuns} where integration_id = ${integrationId} and status = 'SUCCEEDED') as last_sync`)) as unknown as {
    webhook_failed: number;
    webhook_attempted: number;
    dead_letters: number;
    last_sync: Date | string | null;
  }[];
  return {
    webhookFailureRatio: row && row.webhook_attempted > 0 ? row.webhook_failed / row.webhook_attempted : null,
    deadLetterCount: row?.dead_letters ?? 0,
    lastSuccessfulSyncAt: row?.last_sync ? new Date(row.last_sync) : null,
  };
}

/**
 * Calls the provider's GET /health through the integration's client (so timeouts, retries and the
 * breaker apply) and re-evaluates. A plain function: pg-boss cron schedules it at merge.
 */
export async function checkIntegrationHealth(app: App, target: IntegrationTarget): Promise<{ ok: boolean; health: HealthView }> {
  let ok: boolean;
  try {
    await app.integrations.clients.client(target).get('/health');
    ok = true;
  } catch {
    ok = false; // circuit open, unreachable, or an error status: the check failed
  }
  // Breaker transitions re-evaluate too; let them land first so this evaluation sees the final state.
  await app.integrations.circuits.settled(target.id);
  const health = await reevaluateHealth(app, target.tenantId, target.id, { check: { ok, at: new Date() } });
  return { ok, health };
}

const idInput = z.object({ integrationId: z.string().uuid('Not a UUID') });

export async function getIntegrationHealth(scope: Scope, integrationId: string): Promise<HealthView> {
  validate(idInput, { integrationId });
  const [row] = await scope.read((tx) => tx.select().from(integrationHealth).where(eq(integrationHealth.integrationId, integrationId)));
  return toHealthView(row, integrationId);
}

const historyInput = idInput.extend({ first: z.number().int().min(1, 'At least 1').max(100, 'At most 100') });

export async function listHealthChanges(scope: Scope, integrationId: string, first: number | null | undefined): Promise<HealthChangeView[]> {
  const input = validate(historyInput, { integrationId, first: first ?? 20 });
  const rows = await scope.read((tx) =>
    tx
      .select()
      .from(integrationHealthChanges)
      .where(eq(integrationHealthChanges.integrationId, input.integrationId))
      .orderBy(desc(integrationHealthChanges.changedAt), desc(integrationHealthChanges.id))
      .limit(input.first),
  );
  return rows.map((r) => ({ ...r, signals: toSignalsView(r.signals as Partial<StoredSignals>, null) }));
}

/** Integration.health of a batch of integrations (UNKNOWN where never evaluated), in one statement. */
export async function healthOf(scope: Scope, integrationIds: readonly string[]): Promise<HealthView[]> {
  const rows = await scope.read((tx) => tx.select().from(integrationHealth).where(inArray(integrationHealth.integrationId, [...integrationIds])));
  const byId = new Map(rows.map((r) => [r.integrationId, r]));
  return integrationIds.map((id) => toHealthView(byId.get(id), id));
}

/** Integration.circuit of a batch of integrations (CLOSED where never opened), in one statement. */
export async function circuitsOf(scope: Scope, integrationIds: readonly string[]) {
  const rows = await scope.read((tx) => tx.select().from(integrationCircuits).where(inArray(integrationCircuits.integrationId, [...integrationIds])));
  const byId = new Map(rows.map((r) => [r.integrationId, r]));
  return integrationIds.map((id) => toCircuitView(byId.get(id), id));
}

const firstInput = z.object({ first: z.number().int().min(1, 'At least 1').max(100, 'At most 100') });

/**
 * Integration.healthHistory of a batch of integrations: each one's latest `first` changes, newest
 * first, in one statement (a lateral join reads each integration's rows through its index).
 */
export async function healthChangesOf(scope: Scope, integrationIds: readonly string[], first: number | null | undefined): Promise<HealthChangeView[][]> {
  const { first: limit } = validate(firstInput, { first: first ?? 20 });
  const rows = await scope.read((tx) =>
    tx
      .select()
      .from(integrationHealthChanges)
      .where(
        sql`${integrationHealthChanges.id} in (select l.id from unnest(${uuidArray(integrationIds)}) as k(integration_id) cross join lateral (
          select c.id from ${integrationHealthChanges} c where c.integration_id = k.integration_id order by c.changed_at desc, c.id desc limit ${limit}) l)`,
      )
      .orderBy(desc(integrationHealthChanges.changedAt), desc(integrationHealthChanges.id)),
  );
  return integrationIds.map((id) => rows.filter((r) => r.integrationId === id).map((r) => ({ ...r, signals: toSignalsView(r.signals as Partial<StoredSignals>, null) })));
}

/** Counts over all the tenant's integrations; one never evaluated (no health row yet) is UNKNOWN. */
export async function tenantHealthSummary(scope: Scope): Promise<{ healthy: number; degraded: number; down: number; unknown: number }> {
  const rows = await scope.read((tx) =>
    tx
      .select({ status: sql<HealthStatus>`coalesce(${integrationHealth.status}, 'UNKNOWN')`, n: sql<number>`count(*)::int` })
      .from(integrations)
      .leftJoin(integrationHealth, and(eq(integrationHealth.tenantId, integrations.tenantId), eq(integrationHealth.integrationId, integrations.id)))
      .groupBy(sql`1`),
  );
  const count = (s: HealthStatus) => rows.find((r) => r.status === s)?.n ?? 0;
  return { healthy: count('HEALTHY'), degraded: count('DEGRADED'), down: count('DOWN'), unknown: count('UNKNOWN') };
}

export async function getCircuit(scope: Scope, integrationId: string) {
  validate(idInput, { integrationId });
  const [row] = await scope.read((tx) => tx.select().from(integrationCircuits).where(eq(integrationCircuits.integrationId, integrationId)));
  return toCircuitView(row, integrationId);
}

/**
 * Manual close: clears any isolation, writes CLOSED and NOTIFYs with resetLocal, so every process
 * replaces its local breaker; then re-evaluates health in the same transaction.
 */
export function resetCircuit(scope: Scope, processId: string, integrationId: string) {
  validate(idInput, { integrationId });
  return setCircuitManually(scope, processId, integrationId, { state: 'CLOSED', manual: false, openedAt: null, reason: 'Reset by an administrator' });
}

const isolateInput = idInput.extend({ reason: fields.description.min(1, 'Must not be empty').max(500, 'At most 500 characters') });

/** Manual hold-open: every process refuses calls while the row says ISOLATED. */
export function isolateCircuit(scope: Scope, processId: string, integrationId: string, reason: string) {
  const input = validate(isolateInput, { integrationId, reason });
  return setCircuitManually(scope, processId, integrationId, { state: 'ISOLATED', manual: true, openedAt: new Date(), reason: input.reason });
}

async function setCircuitManually(
  scope: Scope,
  processId: string,
  integrationId: string,
  values: { state: 'CLOSED' | 'ISOLATED'; manual: boolean; openedAt: Date | null; reason: string },
) {
  const row = await scope.write(async (tx) => {
    const set = { ...values, updatedAt: new Date(), updatedByProcess: processId };
    const [r] = await tx
      .insert(integrationCircuits)
      .values({ tenantId: scope.settings.tenantId, integrationId, ...set })
      .onConflictDoUpdate({ target: [integrationCircuits.tenantId, integrationCircuits.integrationId], set })
      .returning();
    if (values.state === 'CLOSED') await tx.delete(integrationCallStats).where(eq(integrationCallStats.integrationId, integrationId));
    await publish(tx, circuitEvent(r!, processId));
    await evaluateInTx(tx, scope.settings.tenantId, integrationId, {});
    return r!;
  });
  return toCircuitView(row, integrationId);
}

export function healthChangeFromEvent(e: HealthChangedEvent): HealthChangeView {
  return { id: e.id, integrationId: e.integrationId, status: e.status, previousStatus: e.previousStatus, reason: e.reason, changedAt: e.changedAt, signals: null };
}

function toHealthView(row: IntegrationHealthRow | undefined, integrationId: string): HealthView {
  if (!row) return { integrationId, status: 'UNKNOWN', reason: 'Never evaluated', since: null, signals: toSignalsView({}, null) };
  return { integrationId, status: row.status, reason: row.reason, since: row.since, signals: toSignalsView(row.signals as Partial<StoredSignals>, row.lastCheckAt) };
}

function toSignalsView(s: Partial<StoredSignals>, lastCheckAt: Date | null): HealthSignalsView {
  return {
    breakerState: s.breakerState ?? 'CLOSED',
    failureRatio: s.failureRatio ?? null,
    callCount: s.callCount ?? 0,
    webhookFailureRatio: s.webhookFailureRatio ?? null,
    lastSuccessfulSyncAgeSeconds: s.lastSuccessfulSyncAgeSeconds ?? null,
    deadLetterCount: s.deadLetterCount ?? null,
    lastCheckOk: s.lastCheckOk ?? null,
    lastCheckAt,
  };
}

function toCircuitView(row: IntegrationCircuitRow | undefined, integrationId: string) {
  return {
    integrationId,
    state: row?.state ?? ('CLOSED' as const),
    openedAt: row?.openedAt ?? null,
    reason: row?.reason ?? null,
    manual: row?.manual ?? false,
    updatedAt: row?.updatedAt ?? null,
  };
}
