/**
 * The one conflict rule, shared by webhooks and sync (ARCHITECTURE invariant 7):
 *
 *   the provider's (version, updated_at) decides. A record is applied only if it is strictly newer
 *   than the one we hold — version first, updated_at breaks ties. So stale data never overwrites
 *   newer data, applying the same record twice is a no-op ('unchanged'), and an update that arrives
 *   before its create simply creates (the later create is then stale).
 *
 * The rule is evaluated inside the write itself (the WHERE of an upsert, or under a row lock), so a
 * webhook and a sync racing on the same record end in the newest state whichever commits first.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Tx } from '../../db/client.js';

/** What applying one record did; sync counts these. */
export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';

/** The integration a record came from: its tenant, id and provider. */
export interface ApplyTarget {
  tenantId: string;
  id: string;
}

export interface ExternalVersion {
  version: number;
  updatedAt: Date;
}

/** The rule in code: is `incoming` newer than what is stored (nothing stored → yes)? */
export function isNewer(incoming: ExternalVersion, stored: { version: number | null; updatedAt: Date | null } | null | undefined): boolean {
  if (!stored || stored.version == null) return true;
  if (incoming.version !== stored.version) return incoming.version > stored.version;
  return stored.updatedAt == null || incoming.updatedAt.getTime() > stored.updatedAt.getTime();
}

/** The same rule for an upsert's `ON CONFLICT DO UPDATE ... WHERE`: the stored row vs `excluded`. */
export function storedIsOlder(versionCol: AnyColumn, updatedAtCol: AnyColumn): SQL {
  return sql`(coalesce(${versionCol}, -1), coalesce(${updatedAtCol}, '-infinity')) < (excluded.external_version, excluded.external_updated_at)`;
}

export const versionOf = (r: { version: number; updated_at: Date }): ExternalVersion => ({ version: r.version, updatedAt: r.updated_at });

/** A table of provider-mirrored records (src/db/schema.ts `mirrored` columns, keyed per integration). */
export type MirroredTable = PgTable & {
  tenantId: PgColumn;
  integrationId: PgColumn;
  externalId: PgColumn;
  externalVersion: PgColumn;
  externalUpdatedAt: PgColumn;
};

/** `excluded.<column>` for each mapped field: a multi-row upsert sets each row from its own values. */
const fromExcluded = (table: PgTable, values: Record<string, unknown>) =>
  Object.fromEntries(Object.keys(values).map((k) => [k, sql.raw(`excluded.${((table as unknown as Record<string, PgColumn>)[k]!).name}`)])) as Record<string, SQL>;

/**
 * Upsert-if-newer, the conflict rule as one statement for any number of records: inserts the
 * records we don't hold and updates those whose stored (version, updated_at) is older (the WHERE
 * of the upsert, so concurrent writers end in the newest state). `overrides` replaces the update of
 * some columns (default: each row's incoming value). Returns, by external id, the records it wrote
 * and whether each was inserted; a record it did not write was not newer ('unchanged').
 */
export async function upsertIfNewer(
  tx: Tx,
  table: MirroredTable,
  integration: ApplyTarget,
  records: { externalId: string; values: Record<string, unknown> }[],
  overrides: Record<string, SQL> = {},
): Promise<Map<string, { inserted: boolean }>> {
  if (records.length === 0) return new Map();
  const rows = await tx
    .insert(table)
    .values(records.map((r) => ({ tenantId: integration.tenantId, integrationId: integration.id, externalId: r.externalId, ...r.values })) as never)
    .onConflictDoUpdate({
      target: [table.tenantId, table.integrationId, table.externalId],
      set: { ...fromExcluded(table, records[0]!.values), ...overrides, updatedAt: new Date() } as never,
      setWhere: storedIsOlder(table.externalVersion, table.externalUpdatedAt),
    })
    .returning({ externalId: table.externalId, inserted: sql<boolean>`(xmax = 0)` });
  return new Map(rows.map((r) => [r.externalId as string, { inserted: r.inserted }]));
}

/** The outcome of one record of an upsertIfNewer. */
export const upsertOutcome = (written: { inserted: boolean } | undefined): ApplyOutcome => (!written ? 'unchanged' : written.inserted ? 'created' : 'updated');
