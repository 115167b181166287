/**
 * Sync requests and the sync-run history behind GraphQL, and the scheduler's fan-out.
 *
 * One sync per integration at a time, enforced by the database (a partial unique index over QUEUED
 * and RUNNING runs): a request while one is active JOINS it when the mode is the same (the caller
 * gets the running run back, `joined: true`) and is refused with CONFLICT when the mode differs
 * (an admin who asked for FULL must not silently get an INCREMENTAL run). A RUNNING run whose
 * heartbeat is older than SYNC_STALE_AFTER_SECONDS was abandoned by a dead worker: it is marked
 * FAILED and replaced.
 */
import { and, count, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { App } from '../../app.js';
import { uuidArray } from '../../db/batch.js';
import type { Tx } from '../../db/client.js';
import type { Scope } from '../../db/scope.js';
import { integrations, syncRuns, type SyncRunRow } from '../../db/schema.js';
import { AppError, conflict, notFound } from '../../errors.js';
import { decodeCursor, pageSize, paginate, toPage, type Page } from '../../db/pagination.js';
import { QUEUES, type SyncJobData } from '../../jobs/queues.js';
import { SYNC_RESOURCES } from '../../integrations/sync/resources.js';
import { validate } from '../../validation.js';

export type SyncMode = SyncRunRow['mode'];
export type SyncRunConnectionResult = Page<SyncRunRow>;

const idInput = z.object({ integrationId: z.string().uuid('Not a UUID') });

/**
 * Queues a sync (or joins the active one) in the caller's transaction:
 *  1. the integration must exist in the tenant, be enabled and have something to pull;
 *  2. the active run, if any, is locked: same mode → joined; other mode → CONFLICT; stale → FAILED;
 *  3. otherwise a QUEUED run is inserted and its job enqueued in the same transaction, so a rolled
 *     back request leaves neither.
 */
export async function requestSync(
  app: App,
  tx: Tx,
  tenantId: string,
  input: { integrationId: string; mode: SyncMode; trigger: 'MANUAL' | 'SCHEDULED'; requestedBy?: string | null },
): Promise<{ run: SyncRunRow; joined: boolean }> {
  validate(idInput, { integrationId: input.integrationId });
  const [integration] = await tx
    .select({ id: integrations.id, provider: integrations.provider, enabled: integrations.enabled })
    .from(integrations)
    .where(eq(integrations.id, input.integrationId));
  if (!integration) throw notFound('Integration');
  if (!integration.enabled) throw conflict('The integration is disabled');
  if (SYNC_RESOURCES[integration.provider].length === 0) throw conflict(`A ${integration.provider} integration has nothing to sync`);

  for (let attempt = 0; attempt < 2; attempt++) {
    const [active] = await tx
      .select()
      .from(syncRuns)
      .where(and(eq(syncRuns.integrationId, integration.id), inArray(syncRuns.status, ['QUEUED', 'RUNNING'])))
      .for('update');
    if (active) {
      const lastSign = active.heartbeatAt ?? active.createdAt;
      const stale = active.status === 'RUNNING' && Date.now() - lastSign.getTime() > app.config.SYNC_STALE_AFTER_SECONDS * 1000;
      if (!stale) {
        if (active.mode === input.mode) return { run: active, joined: true };
        throw new AppError('CONFLICT', `A ${active.mode} sync of this integration is already ${active.status.toLowerCase()}`, { runId: active.id });
      }
      await tx.update(syncRuns).set({ status: 'FAILED', finishedAt: new Date(), error: 'Abandoned: its worker stopped reporting progress' }).where(eq(syncRuns.id, active.id));
    }
    // ON CONFLICT on the partial index: a concurrent request that inserted first makes this a no-op,
    // and the loop joins (or refuses) its run instead.
    const inserted = (await tx.execute(sql`
      insert into ${syncRuns} (tenant_id, integration_id, mode, trigger, requested_by)
      values (${tenantId}::uuid, ${integration.id}::uuid, ${input.mode}, ${input.trigger}, ${input.requestedBy ?? null}::uuid)
      on conflict (tenant_id, integration_id) where status in ('QUEUED', 'RUNNING') do nothing
      returning id`)) as unknown as { id: string }[];
    const id = inserted[0]?.id;
    if (!id) continue;
    await app.jobs.enqueue<SyncJobData>(tx, QUEUES.sync, [{ tenantId, integrationId: integration.id, runId: id }]);
    const [run] = await tx.select().from(syncRuns).where(eq(syncRuns.id, id));
    return { run: run!, joined: false };
  }
  throw conflict('A concurrent sync request got in the way; retry');
}

/** triggerSync: as the requesting ADMIN, in the operation's transaction. */
export function triggerSync(app: App, scope: Scope, userId: string, integrationId: string, mode: SyncMode) {
  return scope.write((tx) => requestSync(app, tx, scope.settings.tenantId, { integrationId, mode, trigger: 'MANUAL', requestedBy: userId }));
}

const listInput = idInput.extend({ first: z.number().nullish(), after: z.string().nullish() });

/** An integration's runs, newest first (keyset on created_at, id). */
export async function listSyncRuns(scope: Scope, input: z.input<typeof listInput>): Promise<SyncRunConnectionResult> {
  const { integrationId, first, after } = validate(listInput, input);
  const where = eq(syncRuns.integrationId, integrationId);
  return paginate(scope, { table: syncRuns, createdAt: syncRuns.createdAt, id: syncRuns.id, where, newestFirst: true, first, after });
}

export async function getSyncRun(scope: Scope, id: string): Promise<SyncRunRow | null> {
  validate(z.object({ id: z.string().uuid('Not a UUID') }), { id });
  const [row] = await scope.read((tx) => tx.select().from(syncRuns).where(eq(syncRuns.id, id)));
  return row ?? null;
}

/**
 * Integration.syncRuns of a batch of integrations with the same page arguments: each one's page
 * (newest first, keyset after `after`) in one statement, a lateral join reading each integration's
 * runs through its (integration_id, created_at, id) index. `countOf` answers totalCount, batched too.
 */
export async function syncRunPages(
  scope: Scope,
  integrationIds: readonly string[],
  page: { first?: number | null; after?: string | null },
  countOf: (integrationId: string) => Promise<number>,
): Promise<SyncRunConnectionResult[]> {
  const limit = pageSize(page.first);
  const cursor = decodeCursor(page.after);
  const after = cursor ? sql`and (r.created_at, r.id) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : sql``;
  const rows = await scope.read((tx) =>
    tx
      .select()
      .from(syncRuns)
      .where(
        sql`${syncRuns.id} in (select l.id from unnest(${uuidArray(integrationIds)}) as k(integration_id) cross join lateral (
          select r.id from ${syncRuns} r where r.integration_id = k.integration_id ${after} order by r.created_at desc, r.id desc limit ${limit + 1}) l)`,
      )
      .orderBy(desc(syncRuns.createdAt), desc(syncRuns.id)),
  );
  return integrationIds.map((id) => toPage(rows.filter((r) => r.integrationId === id), limit, () => countOf(id)));
}

/** How many runs each integration has (Integration.syncRuns.totalCount), in one statement. */
export async function syncRunCounts(scope: Scope, integrationIds: readonly string[]): Promise<number[]> {
  const rows = await scope.read((tx) =>
    tx.select({ integrationId: syncRuns.integrationId, n: count() }).from(syncRuns).where(inArray(syncRuns.integrationId, [...integrationIds])).groupBy(syncRuns.integrationId),
  );
  return integrationIds.map((id) => rows.find((r) => r.integrationId === id)?.n ?? 0);
}

/** The latest run of each of the given integrations (for Integration.lastSyncRun, batched). */
export async function latestRuns(scope: Scope, integrationIds: readonly string[]): Promise<(SyncRunRow | null)[]> {
  // The first page of one: an index probe per integration, where DISTINCT ON read every run they ever had.
  const pages = await syncRunPages(scope, integrationIds, { first: 1 }, async () => 0);
  return pages.map((p) => p.rows[0] ?? null);
}
