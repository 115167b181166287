import { and, desc, eq, gt, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { AppDb, Tx } from '../../db/client.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { auditLogs, type AuditLogRow } from '../../db/schema.js';
import { badInput, notFound } from '../../errors.js';
import { pageSize } from '../../db/pagination.js';
import { isoDateTime, validate } from '../../validation.js';

/** A page of entries, newest first; the cursor is the entry's seq. */
export interface AuditLogPage {
  rows: AuditLogRow[];
  hasNextPage: boolean;
}

const text = (max: number) => z.string().trim().min(1, 'Must not be empty').max(max, `At most ${max} characters`);
const filterInput = z
  .object({
    actorType: z.enum(['USER', 'API_KEY', 'PLATFORM', 'INTEGRATION', 'SYSTEM', 'SCIM']).nullish(),
    actorId: text(200).nullish(),
    entityType: text(100).nullish(),
    entityId: text(200).nullish(),
    action: text(100).nullish(),
    from: z.coerce.date().nullish(),
    to: z.coerce.date().nullish(),
  })
  .refine((f) => !f.entityId || f.entityType, { message: 'entityId needs entityType', path: ['entityId'] })
  .refine((f) => !f.from || !f.to || f.from < f.to, { message: 'Must be after from', path: ['to'] });
export type AuditLogFilter = z.input<typeof filterInput>;

const listInput = z.object({ first: z.number().nullish(), after: z.string().nullish(), filter: filterInput.nullish() });

/**
 * The filters as SQL. RLS keeps every condition to the tenant. A time range becomes a seq range
 * (occurred_at never decreases along the chain), found with two index probes, so every filter
 * combination is an index range scan on (tenant_id, …, seq) in seq order. No entry on one side of a
 * bound makes the subquery NULL and the page empty, as it should; no COALESCE, which would turn the
 * bounds from index conditions into a filter.
 */
function filterConditions(filter: z.infer<typeof filterInput> | null | undefined): (SQL | undefined)[] {
  if (!filter) return [];
  return [
    filter.actorType ? eq(auditLogs.actorType, filter.actorType) : undefined,
    filter.actorId ? eq(auditLogs.actorId, filter.actorId) : undefined,
    filter.entityType ? eq(auditLogs.entityType, filter.entityType) : undefined,
    filter.entityId ? eq(auditLogs.entityId, filter.entityId) : undefined,
    filter.action ? eq(auditLogs.action, filter.action) : undefined,
    filter.from
      ? sql`${auditLogs.seq} >= (select f.seq from audit_logs f where f.occurred_at >= ${filter.from.toISOString()}::timestamptz order by f.occurred_at, f.seq limit 1)`
      : undefined,
    filter.to
      ? sql`${auditLogs.seq} <= (select t.seq from audit_logs t where t.occurred_at < ${filter.to.toISOString()}::timestamptz order by t.occurred_at desc, t.seq desc limit 1)`
      : undefined,
  ];
}

export async function listAuditLogs(scope: Scope, input: z.input<typeof listInput>): Promise<AuditLogPage> {
  const { first, after, filter } = validate(listInput, input);
  const limit = pageSize(first);
  const before = decodeSeqCursor(after);
  // A write, not a read: sealing moves entries into the chain, and the answer must wait for its COMMIT.
  const rows = await scope.write(async (tx) => {
    // Sealing and the page leave in one write (pipelined), the page reads after the seal.
    const [, page] = await Promise.all([
      sealStatement(tx),
      tx
        .select()
        .from(auditLogs)
        .where(and(...filterConditions(filter), before !== undefined ? lt(auditLogs.seq, before) : undefined))
        .orderBy(desc(auditLogs.seq))
        .limit(limit + 1),
    ]);
    return page;
  });
  return { rows: rows.slice(0, limit), hasNextPage: rows.length > limit };
}

export const encodeSeqCursor = (seq: number) => Buffer.from(`a:${seq}`).toString('base64url');

function decodeSeqCursor(cursor: string | null | undefined): number | undefined {
  if (cursor == null) return undefined;
  const m = cursor.length > 40 ? null : /^a:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw badInput([{ field: 'after', message: 'Not a cursor returned by this API' }]);
  return Number(m[1]);
}

export interface IntegrityReport {
  ok: boolean;
  checkedEntries: number;
  firstBrokenId: string | null;
  reason: string | null;
}

/** Verifies the tenant's whole chain in the database (audit.verify_chain). */
export async function verifyIntegrity(scope: Scope, input: { fromId?: string | null } = {}): Promise<IntegrityReport> {
  const { fromId } = validate(z.object({ fromId: z.string().regex(/^\d{1,15}$/, 'An audit entry id').nullish() }), input);
  // An id that is not an entry of this tenant (RLS) is NOT_FOUND, not a broken chain.
  const [, rows] = await scope.write((tx) =>
    Promise.all([
      sealStatement(tx), // (a write: see listAuditLogs)
      tx.execute(sql`
      select v.ok, v.checked_entries, v.first_broken_seq, v.reason,
             (${fromId ?? null}::bigint is null or exists (select 1 from audit_logs e where e.seq = ${fromId ?? null}::bigint)) as found
      from audit.verify_chain(${fromId ?? null}::bigint) v`),
    ]),
  );
  const r = rows[0] as { ok: boolean; checked_entries: string | number; first_broken_seq: string | number | null; reason: string | null; found: boolean };
  if (!r.found) throw notFound('Audit entry');
  return { ok: r.ok, checkedEntries: Number(r.checked_entries), firstBrokenId: r.first_broken_seq == null ? null : String(r.first_broken_seq), reason: r.reason };
}

const exportInput = z.object({ from: isoDateTime, to: isoDateTime.optional() });

/**
 * A time range, oldest first, in batches: each batch is its own short tenant transaction (keyset on
 * seq), so an export of millions of entries holds no transaction open and never sits in memory.
 */
export async function* exportAuditLogs(scope: Scope, query: unknown, batchSize = 1000): AsyncGenerator<AuditLogRow[]> {
  const { from, to } = validate(exportInput, query);
  const range = filterConditions({ from, to: to ?? null });
  let lastSeq = 0;
  await scope.write((tx) => sealStatement(tx));
  for (;;) {
    const rows = await scope.read((tx) =>
      tx
        .select()
        .from(auditLogs)
        .where(and(...range, gt(auditLogs.seq, lastSeq)))
        .orderBy(auditLogs.seq)
        .limit(batchSize),
    );
    if (rows.length) yield rows;
    if (rows.length < batchSize) return;
    lastSeq = rows[rows.length - 1]!.seq;
  }
}

/** Checks the export's query before the response starts (a stream can't change its status later). */
export function validateExportQuery(query: unknown): void {
  validate(exportInput, query);
}

/**
 * Seals the scope's tenant's committed entries into its chain (audit.seal()): every read of the trail
 * starts with it, so a reader sees every committed change although the worker seals only every
 * AUDIT_SEAL_INTERVAL_MS.
 */
function sealStatement(tx: Tx) {
  return tx.execute(sql`select audit.seal()`);
}

/** The worker's sealing pass over every tenant (audit.seal_all()); returns how many entries it sealed. */
export async function sealAllAuditLogs(db: AppDb): Promise<number> {
  const [row] = (await db.execute(sql`select audit.seal_all() as n`)) as unknown as [{ n: string | number }];
  return Number(row.n);
}

/** Deletes every tenant's entries past its retention (audit.prune_expired); returns how many. */
export async function pruneAuditLogs(db: AppDb): Promise<number> {
  const [row] = (await db.execute(sql`select audit.prune_expired() as n`)) as unknown as [{ n: string | number }];
  return Number(row.n);
}

/** One entry as an NDJSON line (the API's field names). */
export function toExportLine(r: AuditLogRow): string {
  return `${JSON.stringify({
    id: String(r.seq),
    occurredAt: r.occurredAt,
    actorType: r.actorType,
    actorId: r.actorId,
    action: r.action,
    entityType: r.entityType,
    entityId: r.entityId,
    changes: r.changes,
    requestId: r.requestId,
    clientIp: r.clientIp,
    userAgent: r.userAgent,
    prevHash: r.prevHash,
    hash: r.hash,
  })}\n`;
}
