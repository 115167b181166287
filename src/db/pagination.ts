import { and, asc, count, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { badInput } from '../errors.js';
import { dateProblem } from '../validation.js';
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/**
 * A cursor back to its sort key, checked completely (shape, UUID, a timestamp Postgres can store)
 * so that a forged one is refused here, naming the argument (`after`, `before`), and never reaches
 * the database.
 */
export function decodeCursor(cursor: string | null | undefined, field: 'after' | 'before' = 'after'): CursorKey | undefined {
  if (cursor == null) return undefined;
  const refused = () => badInput([{ field, message: 'Not a cursor returned by this API' }]);
  if (cursor.length > 200) throw refused();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused();
  }
  if (!Array.isArray(key) || key.length !== 2) throw refused();
  const [at, id] = key as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !ISO_INSTANT.test(at) || !UUID.test(id)) throw refused();
  const createdAt = new Date(at);
  if (dateProblem(createdAt)) throw refused();
  return { createdAt, id };
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
