/**
 * Mark and sweep: how a FULL sync learns what the provider deleted. Each page's transaction marks
 * the external ids it saw (sync_seen_records, keyed by run and resource); after the last page, the
 * integration's mirrored rows that were not marked, and that nothing changed since the run started
 * (a webhook during the run), are tombstoned. A record without a usable id makes the engine skip
 * the sweep (better stale than wrong).
 */
import { and, eq, ne, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Tx } from '../../db/client.js';
import { syncSeenRecords } from '../../db/schema.js';
import type { ApplyTarget } from '../apply/index.js';

export type SyncResourceName = 'users' | 'subscriptions' | 'invoices';

export interface SweepContext {
  integration: ApplyTarget;
  runId: string;
  /** Rows our side changed after this (a webhook during the run) are left for the next FULL run. */
  runStartedAt: Date;
}

/** Marks the external ids a FULL run saw on one page, in the page's transaction. */
export async function markSeen(tx: Tx, tenantId: string, runId: string, resource: SyncResourceName, externalIds: string[]): Promise<void> {
  if (externalIds.length === 0) return;
  await tx.execute(sql`
    insert into ${syncSeenRecords} (tenant_id, run_id, resource, external_id)
    select ${tenantId}::uuid, ${runId}::uuid, ${resource}, value from json_array_elements_text(${JSON.stringify(externalIds)}::json)
    on conflict do nothing`);
}

/** Drops a finished run's marks. */
export async function forgetSeen(tx: Tx, runId: string): Promise<void> {
  await tx.delete(syncSeenRecords).where(eq(syncSeenRecords.runId, runId));
}

/**
 * "Not seen by this run", as NOT IN over the run's seen-set: Postgres hashes the subquery once
 * (hashed SubPlan) instead of probing per row, which matters because the seen-set was just written
 * and has no statistics yet. external_id is NOT NULL in the seen-set, so NOT IN has no NULL trap.
 */
const notSeen = (ctx: SweepContext, resource: SyncResourceName, externalId: AnyColumn) =>
  sql`${externalId} not in (select ${syncSeenRecords.externalId} from ${syncSeenRecords} where ${syncSeenRecords.runId} = ${ctx.runId} and ${syncSeenRecords.resource} = ${resource})`;

/** A mirrored table a sweep can tombstone: a status column, the provider's id, our updated_at. */
type SweepableTable = PgTable & { id: PgColumn; externalId: PgColumn; status: PgColumn; updatedAt: PgColumn };

/**
 * Sets `status = tombstone` on the integration's rows of `table` that the run did not mark (and that
 * are not already tombstoned, not changed since the run started, and match `also`); returns their ids.
 */
export async function sweepUnseen(
  tx: Tx,
  ctx: SweepContext,
  resource: SyncResourceName,
  table: SweepableTable,
  spec: { integrationColumn: AnyColumn; tombstone: string; also?: SQL },
): Promise<string[]> {
  const gone = await tx
    .update(table)
    .set({ status: spec.tombstone, updatedAt: new Date() } as never)
    .where(
      and(
        eq(spec.integrationColumn, ctx.integration.id),
        ne(table.status, spec.tombstone),
        spec.also,
        sql`${table.updatedAt} < ${ctx.runStartedAt.toISOString()}::timestamptz`,
        notSeen(ctx, resource, table.externalId),
      ),
    )
    .returning({ id: table.id });
  return gone.map((g) => g.id as string);
}
