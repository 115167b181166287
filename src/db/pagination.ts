import { and, asc, count, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { badInput } from '../errors.js';
import type { Scope } from './scope.js';

/**
 * Keyset pagination on (created_at, id): stable under concurrent inserts and index-only to seek.
 * Cursors are opaque to clients (base64url JSON of the sort key). The GraphQL connection shape
 * (edges, pageInfo) is built from a Page in src/graphql/connection.ts.
 */
export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
  /** Runs only if the client asked for totalCount. */
  countTotal: () => Promise<number>;
}

export interface CursorKey {
  createdAt: Date;
  id: string;
}

export const MAX_PAGE_SIZE = 100;

export function encodeCursor(row: CursorKey): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): CursorKey | undefined {
  if (cursor == null) return undefined;
  try {
    if (cursor.length > 200) throw new Error('too long');
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw badInput([{ field: 'after', message: 'Not a cursor returned by this API' }]);
  }
}

export function pageSize(first: number | null | undefined): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw badInput([{ field: 'first', message: `Must be between 1 and ${MAX_PAGE_SIZE}` }]);
  return n;
}

/** The keyset condition "after this cursor" for a (created_at, id) ordering; undefined on the first page. */
function afterCursor(createdAt: AnyColumn, id: AnyColumn, cursor: CursorKey | undefined): SQL | undefined {
  // Bound as text with explicit casts: drizzle's postgres.js client passes Date parameters through unserialized.
  return cursor ? sql`(${createdAt}, ${id}) > (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined;
}

/** The same for a newest-first (created_at DESC, id DESC) ordering. */
function beforeCursor(createdAt: AnyColumn, id: AnyColumn, cursor: CursorKey | undefined): SQL | undefined {
  return cursor ? sql`(${createdAt}, ${id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined;
}

/**
 * Shapes a fetched page (limit + 1 rows) into the connection resolvers' source. With pageSize and
 * decodeCursor, for pages `paginate` does not fit: one page per parent in one statement (sync runs
 * of many integrations).
 */
export function toPage<T>(rows: T[], limit: number, countTotal: () => Promise<number>): Page<T> {
  return { rows: rows.slice(0, limit), hasNextPage: rows.length > limit, countTotal };
}

export interface KeysetQuery<TTable extends PgTable, Row> {
  table: TTable;
  /** The sort key: a creation time and the id that breaks its ties (webhook events: received_at). */
  createdAt: AnyColumn;
  id: AnyColumn;
  /** The list's filters; the keyset condition is added to them, the total counts them alone. */
  where?: SQL;
  /** Newest first (created_at DESC, id DESC); oldest first by default. */
  newestFirst?: boolean;
  first: number | null | undefined;
  after: string | null | undefined;
  /** Shapes each row (e.g. adds the cursor's createdAt). */
  map?: (row: TTable['$inferSelect']) => Row;
}

/**
 * One page of a keyset-paginated list, read in the caller's scope (so RLS keeps it to the
 * tenant): validates `first` and the cursor, fetches limit + 1 rows to learn whether there is a
 * next page, and counts the total only if the client asks for it.
 */
export async function paginate<TTable extends PgTable, Row = TTable['$inferSelect']>(scope: Pick<Scope, 'read'>, q: KeysetQuery<TTable, Row>): Promise<Page<Row>> {
  const limit = pageSize(q.first);
  const cursor = decodeCursor(q.after);
  const keyset = q.newestFirst ? beforeCursor(q.createdAt, q.id, cursor) : afterCursor(q.createdAt, q.id, cursor);
  const order = q.newestFirst ? [desc(q.createdAt), desc(q.id)] : [asc(q.createdAt), asc(q.id)];
  const table = q.table as PgTable;
  const rows = (await scope.read((tx) =>
    tx
      .select()
      .from(table)
      .where(and(q.where, keyset))
      .orderBy(...order)
      .limit(limit + 1),
  )) as TTable['$inferSelect'][];
  const shaped = q.map ? rows.map(q.map) : (rows as Row[]);
  return toPage(shaped, limit, async () => (await scope.read((tx) => tx.select({ n: count() }).from(table).where(q.where)))[0]?.n ?? 0);
}
