/**
 * The health monitor: evaluates an integration's health from its recorded signals (breaker state,
 * call outcomes, webhook failures, dead letters, last sync, last check) and records it, as the
 * SYSTEM actor or inside the caller's transaction; runs provider health checks. The rules that turn
 * signals into a status are in ./health.ts; the reads and admin actions behind the GraphQL fields
 * are in src/modules/integration-health/service.ts.
 */
import { and, eq, gte, lt, sql, sum } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import {
  integrationCallStats,
  integrationCircuits,
  integrationHealth,
  integrationHealthChanges,
  integrationPushes,
  outboundMessages,
  syncRuns,
  webhookEvents,
  type IntegrationHealthRow,
} from '../db/schema.js';
import { actors, inTenant } from '../db/tenant-transaction.js';
import { publish } from '../realtime/pubsub.js';
import type { IntegrationDeps } from './deps.js';
import { evaluateHealth, type HealthSignals, type HealthStatus } from './health.js';
import type { IntegrationTarget } from './types.js';

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
export type StoredSignals = HealthSignals & { lastSuccessfulSyncAt: string | null };

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

/**
 * Re-evaluates one integration's health and records it, as the SYSTEM actor:
 *  1. flushes this process's buffered call outcomes, so the ratio includes the latest calls;
 *  2. in one transaction, locks the current health row and reads circuit state and call stats;
 *  3. if the status changed, appends a history row and NOTIFYs subscribers (sent at commit).
 */
export async function reevaluateHealth(
  app: Pick<IntegrationDeps, 'db' | 'integrations'>,
  tenantId: string,
  integrationId: string,
  input: { external?: ExternalSignals; check?: { ok: boolean; at: Date } } = {},
): Promise<HealthView> {
  await app.integrations.stats.flush();
  const row = await inTenant(app.db, actors.system('health-monitor', tenantId), (tx) => evaluateInTx(tx, tenantId, integrationId, input));
  return toHealthView(row, integrationId);
}

/**
 * The same, inside the caller's transaction (after flushing call stats), so the change that moved a
 * signal (e.g. a sync run's final status) and the health it implies commit together.
 */
export async function reevaluateHealthInTx(app: Pick<IntegrationDeps, 'integrations'>, tx: Tx, tenantId: string, integrationId: string): Promise<HealthView> {
  await app.integrations.stats.flush();
  return toHealthView(await evaluateInTx(tx, tenantId, integrationId, {}), integrationId);
}

export async function evaluateInTx(tx: Tx, tenantId: string, integrationId: string, input: { external?: ExternalSignals; check?: { ok: boolean; at: Date } }): Promise<IntegrationHealthRow> {
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
 *  - dead letters: webhook events, pushes and outbound messages that went DEAD within DEAD_LETTER_WINDOW_MS (a replayed
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
        where integration_id = ${integrationId} and status = 'DEAD' and updated_at >= ${deadSince}::timestamptz)
      + (select count(*)::int from ${outboundMessages}
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
 * breaker apply) and re-evaluates. Run by the health-check job (src/integrations/health-checks.ts).
 */
export async function checkIntegrationHealth(app: Pick<IntegrationDeps, 'db' | 'integrations'>, target: IntegrationTarget): Promise<{ ok: boolean; health: HealthView }> {
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

export function toHealthView(row: IntegrationHealthRow | undefined, integrationId: string): HealthView {
  if (!row) return { integrationId, status: 'UNKNOWN', reason: 'Never evaluated', since: null, signals: toSignalsView({}, null) };
  return { integrationId, status: row.status, reason: row.reason, since: row.since, signals: toSignalsView(row.signals as Partial<StoredSignals>, row.lastCheckAt) };
}

export function toSignalsView(s: Partial<StoredSignals>, lastCheckAt: Date | null): HealthSignalsView {
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
