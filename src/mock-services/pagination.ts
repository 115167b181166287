/**
 * Keyset pagination ordered by (updated_at, id). The cursor is the last row's sort key, so a record
 * changed mid-scan moves behind the cursor and is seen again later rather than shifting others out.
 */
import { z } from 'zod';
import { HttpError } from './errors.js';
import type { Versioned } from './types.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export const listQuerySchema = z.object({
  // Over-large limits are clamped rather than rejected, as most providers do.
  limit: z.coerce.number().int().min(1).default(DEFAULT_LIMIT).transform((n) => Math.min(n, MAX_LIMIT)),
  cursor: z.string().min(1).optional(),
  updated_since: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 timestamp')
    .transform((s) => new Date(s).toISOString())
    .optional(),
  include_deleted: z.enum(['true', 'false']).default('false').transform((s) => s === 'true'),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

type SortKey = [updatedAt: string, id: string];

/** ISO timestamps of one format compare correctly as strings. */
function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

const keyOf = (r: Versioned): SortKey => [r.updated_at, r.id];

function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): SortKey {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === 2 && key.every((k) => typeof k === 'string')) return key as SortKey;
  } catch {
    // fall through to the error below
  }
  throw new HttpError(400, 'INVALID_CURSOR', 'cursor is not one this service issued');
}

/** updated_since is inclusive, so a sync that restarts from its last seen timestamp misses nothing. */
export function paginate<T extends Versioned>(records: T[], query: ListQuery, visible: (r: T) => boolean = () => true): Page<T> {
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const since = query.updated_since;
  const matching = records
    .filter((r) => visible(r) && (!since || r.updated_at >= since) && (!after || compareKeys(keyOf(r), after) > 0))
    .sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  const data = matching.slice(0, query.limit);
  const last = data.at(-1);
  return { data, next_cursor: matching.length > query.limit && last ? encodeCursor(keyOf(last)) : null };
}
