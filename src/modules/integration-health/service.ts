/**
 * Integration health and circuits: the reads and admin actions behind the GraphQL fields, in the
 * caller's scope (RLS). Evaluation and health checks are the health monitor's
 * (src/integrations/health-monitor.ts).
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { uuidArray } from '../../db/batch.js';
import type { Scope } from '../../db/scope.js';
import {
  integrationCallStats,
  integrationCircuits,
  integrationHealth,
  integrationHealthChanges,
  integrations,
  type IntegrationCircuitRow,
} from '../../db/schema.js';
import { circuitEvent } from '../../integrations/circuit-registry.js';
import type { HealthStatus } from '../../integrations/health.js';
import { evaluateInTx, toHealthView, toSignalsView, type HealthSignalsView, type HealthView, type StoredSignals } from '../../integrations/health-monitor.js';
import { publish, type HealthChangedEvent } from '../../realtime/pubsub.js';
import { fields, validate } from '../../validation.js';

export interface HealthChangeView {
  id: string;
  integrationId: string;
  status: HealthStatus;
  previousStatus: HealthStatus | null;
  reason: string | null;
  changedAt: Date | string;
  signals: HealthSignalsView | null;
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
