import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { badInput } from '../errors.js';

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
export function afterCursor(createdAt: AnyColumn, id: AnyColumn, cursor: CursorKey | undefined): SQL | undefined {
  // Bound as text with explicit casts: drizzle's postgres.js client passes Date parameters through unserialized.
  return cursor ? sql`(${createdAt}, ${id}) > (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined;
}

/** The same for a newest-first (created_at DESC, id DESC) ordering. */
export function beforeCursor(createdAt: AnyColumn, id: AnyColumn, cursor: CursorKey | undefined): SQL | undefined {
  return cursor ? sql`(${createdAt}, ${id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined;
}

/** Shapes a fetched page (limit + 1 rows) into the connection resolvers' source. */
export function toPage<T>(rows: T[], limit: number, countTotal: () => Promise<number>): Page<T> {
  return { rows: rows.slice(0, limit), hasNextPage: rows.length > limit, countTotal };
}
