/**
 * The pull-sync engine: runs one `sync_runs` row to completion.
 *
 *  1. Claims the run (QUEUED → RUNNING). A RUNNING run is a retried job after its worker died: it
 *     is resumed (FULL from the start, its seen-set kept; INCREMENTAL from the saved checkpoint)
 *     once the heartbeat is older than SYNC_STALE_AFTER_SECONDS.
 *  2. For each of the provider's resources, streams pages through the integration's outbound client
 *     (timeouts, retries, breaker), the next page fetched while the current one is applied, so at
 *     most two pages are in memory whatever the collection size.
 *     - INCREMENTAL: `updated_since` = the resource's checkpoint (inclusive, so a boundary record is
 *       seen again and comes out 'unchanged').
 *     - FULL: everything, and every external id seen is recorded in sync_seen_records.
 *     Each page is one transaction as the INTEGRATION actor: its records go through the shared apply
 *     functions (the one conflict rule), plus the seen ids, the run's counters and the checkpoint, so
 *     progress is never recorded without its writes.
 *  3. FULL only: sweeps mirrored rows the run did not see (deleted at the provider), unless a record
 *     the provider sent could not be identified (then nothing is swept: better stale than wrong).
 *  4. Records the outcome and re-evaluates the integration's health (last successful sync).
 *
 * A record that fails validation or its apply is counted as failed and the run goes on; the
 * checkpoint then stops at the first failed record so the next incremental run retries it.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { integrations, syncCheckpoints, syncRuns, type SyncRunRow } from '../../db/schema.js';
import { actors, inTenant, type TenantActor } from '../../db/tenant-transaction.js';
import type { ApplyOutcome, ApplyTarget } from '../apply/index.js';
import { failureMessage, JobFailure } from '../errors.js';
import type { IntegrationDeps } from '../deps.js';
import { reevaluateHealthInTx } from '../health-monitor.js';
import type { IntegrationClient } from '../http-client.js';
import { loadIntegrationTarget } from '../targets.js';
import type { IntegrationTarget } from '../types.js';
import { inviteNewMirroredUsers } from '../communication/mirrored-invites.js';
import { forgetSeen, markSeen } from './mark-and-sweep.js';
import { SYNC_RESOURCES, type SyncResource } from './resources.js';
import { isoDateTime } from '../../validation.js';

export interface SyncRunRef {
  tenantId: string;
  integrationId: string;
  runId: string;
}

interface Counts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  failed: number;
}

interface ProviderPage {
  data: unknown[];
  next_cursor: string | null;
}

/** Runs (or resumes) one sync run; returns its final row, or null if it was already finished. */
export async function executeSyncRun(app: IntegrationDeps, ref: SyncRunRef): Promise<SyncRunRow | null> {
  const settings = actors.integration(ref.integrationId, ref.tenantId);
  const claimed = await inTenant(app.db, settings, async (tx) => {
    const [run] = await tx.select().from(syncRuns).where(eq(syncRuns.id, ref.runId)).for('update');
    if (!run || (run.status !== 'QUEUED' && run.status !== 'RUNNING')) return null;
    const now = new Date();
    // A RUNNING run is resumed only once its worker has stopped reporting progress: a job that
    // pg-boss expired because it was slow (not dead) must not be run twice at once.
    if (run.status === 'RUNNING' && run.heartbeatAt && now.getTime() - run.heartbeatAt.getTime() < app.config.SYNC_STALE_AFTER_SECONDS * 1000) {
      throw new Error(`Sync run ${run.id} is still reporting progress elsewhere; retry later`);
    }
    const [running] = await tx
      .update(syncRuns)
      .set({ status: 'RUNNING', startedAt: run.startedAt ?? now, heartbeatAt: now })
      .where(eq(syncRuns.id, run.id))
      .returning();
    return running!;
  });
  if (!claimed) return null;
  app.log.debug({ runId: claimed.id, queuedMs: Date.now() - claimed.createdAt.getTime() }, 'sync run claimed');

  let error: string | null = null;
  try {
    const [state] = await inTenant(app.db, settings, (tx) => tx.select({ enabled: integrations.enabled }).from(integrations).where(eq(integrations.id, ref.integrationId)));
    const target = state?.enabled ? await loadIntegrationTarget(app, ref.tenantId, ref.integrationId) : null;
    if (!target) throw new SyncAbort('The integration is disabled or was deleted');
    const client = app.integrations.clients.client(target);
    let sweepable = true;
    for (const resource of SYNC_RESOURCES[target.provider]) {
      sweepable = (await syncResource(app, client, target, claimed, resource)) && sweepable;
    }
    if (claimed.mode === 'FULL') {
      if (sweepable) await sweep(app, target, claimed);
      else app.log.warn({ runId: claimed.id }, 'full sync saw unidentifiable records: sweep skipped');
    }
  } catch (err) {
    error = failureMessage(err);
    app.log.warn({ err, runId: claimed.id, integrationId: ref.integrationId }, 'sync run failed');
  }

  const finished = await inTenant(app.db, settings, async (tx) => {
    await forgetSeen(tx, claimed.id);
    const [row] = await tx
      .update(syncRuns)
      .set({ status: error ? 'FAILED' : 'SUCCEEDED', finishedAt: new Date(), error })
      .where(eq(syncRuns.id, claimed.id))
      .returning();
    // Health sees the outcome (last successful sync) in the same commit as the run's final status.
    await reevaluateHealthInTx(app, tx, ref.tenantId, ref.integrationId);
    return row!;
  });
  app.metrics.syncRuns.inc({ mode: finished.mode, status: finished.status });
  return finished;
}

/** Streams one resource; returns false when a record without a usable id was seen (no sweep then). */
async function syncResource(app: IntegrationDeps, client: IntegrationClient, target: IntegrationTarget, run: SyncRunRow, resource: SyncResource): Promise<boolean> {
  const integration: ApplyTarget = { tenantId: target.tenantId, id: target.id };
  const settings = actors.integration(target.id, target.tenantId);
  const since = run.mode === 'INCREMENTAL' ? await readCheckpoint(app, settings, target.id, resource.name) : null;
  const pageSize = app.config.SYNC_PAGE_SIZE;
  const fetchPage = (cursor: string | null) => {
    const params = new URLSearchParams({ limit: String(pageSize), include_deleted: 'true' });
    if (since) params.set('updated_since', since.toISOString());
    if (cursor) params.set('cursor', cursor);
    return client.get<ProviderPage>(`${resource.path}?${params}`).then((r) => checkPage(r.body));
  };

  let identified = true;
  // The checkpoint only moves forward, and never past a record that failed.
  let highWater: string | null = since?.toISOString() ?? null;
  let failedFloor: string | null = null;
  let next: Promise<ProviderPage> | null = fetchPage(null);
  while (next) {
    const tWait = performance.now();
    const page: ProviderPage = await next;
    const waited = performance.now() - tWait;
    const tApply = performance.now();
    next = page.next_cursor ? fetchPage(page.next_cursor) : null;
    next?.catch(() => undefined); // surfaced when awaited; not an unhandled rejection meanwhile

    const valid: { record: unknown; updatedAt: string }[] = [];
    const seen: string[] = [];
    const counts: Counts = { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
    for (const raw of page.data) {
      const parsed = resource.schema.safeParse(raw);
      const rawId = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : null;
      // A failed record holds the checkpoint back only with a date Postgres can store (else saving the checkpoint would fail the page).
      const rawDate = isoDateTime.safeParse((raw as { updated_at?: unknown } | null)?.updated_at);
      const rawUpdatedAt = rawDate.success ? rawDate.data.toISOString() : null;
      if (rawId) seen.push(rawId);
      else identified = false;
      if (parsed.success) {
        // Parsed as a Date (year-checked): the checkpoint keeps it in one form (UTC), so strings compare in time order.
        const updatedAt = (parsed.data as { updated_at: Date }).updated_at.toISOString();
        valid.push({ record: parsed.data, updatedAt });
        if (!highWater || updatedAt > highWater) highWater = updatedAt;
      } else {
        counts.failed++;
        if (rawUpdatedAt && (!failedFloor || rawUpdatedAt < failedFloor)) failedFloor = rawUpdatedAt;
      }
    }

    const failedAt = await inTenant(app.db, settings, async (tx) => {
      const created: string[] = [];
      const failures = await applyRecords(tx, integration, resource, valid, counts, created);
      // Users who first appeared on this page are invited, if the integration says so (issue 13).
      if (resource.name === 'users') await inviteNewMirroredUsers(tx, { config: app.config, jobs: app.jobs, secrets: app.secrets }, integration.id, created);
      if (run.mode === 'FULL') await markSeen(tx, target.tenantId, run.id, resource.name, seen);
      const floor = [failedFloor, ...failures].filter((v): v is string => !!v).sort()[0] ?? null;
      const checkpoint = floor ?? highWater;
      if (checkpoint) await saveCheckpoint(tx, target, resource.name, run.id, checkpoint);
      await tx
        .update(syncRuns)
        .set({
          created: sql`${syncRuns.created} + ${counts.created}`,
          updated: sql`${syncRuns.updated} + ${counts.updated}`,
          deleted: sql`${syncRuns.deleted} + ${counts.deleted}`,
          unchanged: sql`${syncRuns.unchanged} + ${counts.unchanged}`,
          failed: sql`${syncRuns.failed} + ${counts.failed}`,
          heartbeatAt: new Date(),
        })
        .where(eq(syncRuns.id, run.id));
      return floor;
    });
    failedFloor = failedAt;
    app.log.debug({ resource: resource.name, records: page.data.length, waitMs: Math.round(waited), applyMs: Math.round(performance.now() - tApply) }, 'sync page');
    for (const [outcome, n] of Object.entries(counts)) if (n) app.metrics.syncRecords.inc({ resource: resource.name, outcome }, n);
  }
  return identified;
}

/**
 * Applies a page's records in the page transaction, in one batch when the resource has a batched
 * apply (a few statements per page instead of one or two per record). If anything throws, the page
 * is redone record by record, each in its own savepoint, so one bad record costs only itself.
 * Returns the updated_at of records that failed.
 */
async function applyRecords(
  tx: Tx,
  integration: ApplyTarget,
  resource: SyncResource,
  records: { record: unknown; updatedAt: string }[],
  counts: Counts,
  /** Filled with the provider ids of records this page created. */
  created: string[] = [],
): Promise<string[]> {
  const outcomes: ApplyOutcome[] = [];
  const idOf = (r: unknown) => String((r as { id?: unknown }).id);
  try {
    await tx.transaction(async (sp) => {
      const all = records.map((r) => r.record);
      if (resource.applyBatch) outcomes.push(...(await resource.applyBatch(sp as unknown as Tx, integration, all)));
      else for (const r of all) outcomes.push(await resource.apply(sp as unknown as Tx, integration, r));
    });
    outcomes.forEach((o, i) => {
      counts[o]++;
      if (o === 'created') created.push(idOf(records[i]!.record));
    });
    return [];
  } catch {
    const failed: string[] = [];
    for (const r of records) {
      try {
        const o = await tx.transaction((sp) => resource.apply(sp as unknown as Tx, integration, r.record));
        counts[o]++;
        if (o === 'created') created.push(idOf(r.record));
      } catch {
        counts.failed++;
        failed.push(r.updatedAt);
      }
    }
    return failed;
  }
}

async function sweep(app: IntegrationDeps, target: IntegrationTarget, run: SyncRunRow): Promise<void> {
  const started = performance.now();
  const integration: ApplyTarget = { tenantId: target.tenantId, id: target.id };
  await inTenant(app.db, actors.integration(target.id, target.tenantId), async (tx) => {
    let deleted = 0;
    for (const resource of SYNC_RESOURCES[target.provider]) {
      if (resource.sweep) deleted += await resource.sweep(tx, { integration, runId: run.id, runStartedAt: run.startedAt! });
    }
    if (deleted) await tx.update(syncRuns).set({ deleted: sql`${syncRuns.deleted} + ${deleted}` }).where(eq(syncRuns.id, run.id));
  });
  app.log.debug({ runId: run.id, ms: Math.round(performance.now() - started) }, 'sync sweep');
}

async function readCheckpoint(app: IntegrationDeps, settings: TenantActor, integrationId: string, resource: string): Promise<Date | null> {
  const [row] = await inTenant(app.db, settings, (tx) =>
    tx
      .select({ since: syncCheckpoints.updatedSince })
      .from(syncCheckpoints)
      .where(and(eq(syncCheckpoints.integrationId, integrationId), eq(syncCheckpoints.resource, resource))),
  );
  return row?.since ?? null;
}

async function saveCheckpoint(tx: Tx, target: IntegrationTarget, resource: string, runId: string, at: string) {
  const values = { updatedSince: new Date(at), lastRunId: runId, updatedAt: new Date() };
  await tx
    .insert(syncCheckpoints)
    .values({ tenantId: target.tenantId, integrationId: target.id, resource, ...values })
    .onConflictDoUpdate({
      target: [syncCheckpoints.tenantId, syncCheckpoints.integrationId, syncCheckpoints.resource],
      set: values,
      // Only forward: a resumed or concurrent writer never moves it back.
      setWhere: sql`${syncCheckpoints.updatedSince} is null or ${syncCheckpoints.updatedSince} <= excluded.updated_since`,
    });
}

function checkPage(body: unknown): ProviderPage {
  const page = body as Partial<ProviderPage> | null;
  if (!page || !Array.isArray(page.data) || (page.next_cursor != null && typeof page.next_cursor !== 'string')) {
    throw new SyncAbort('The provider answered a page in an unexpected shape');
  }
  return { data: page.data, next_cursor: page.next_cursor ?? null };
}

/** A failure that ends the run with a message safe to show to the tenant's ADMIN. */
class SyncAbort extends JobFailure {}
