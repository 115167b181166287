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

export const versionOf = (r: { version: number; updated_at: string }): ExternalVersion => ({ version: r.version, updatedAt: new Date(r.updated_at) });
