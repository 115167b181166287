/**
 * The users' hot reads as hand-written, prepared statements (see src/db/statements.ts): a page of the
 * tenant's users (the users list, oldest first, filtered) and users by id (the DataLoader). RLS
 * keeps both to the transaction's tenant. A column added to `users` is a type error in toUserRow
 * until it is read here too.
 */
import type { UserRow } from '../../db/schema.js';
import { runStatement, toDate, toDateOrNull, toNumberOrNull } from '../../db/statements.js';
import type { Tx } from '../../db/client.js';
import type { CursorKey } from '../../db/pagination.js';

const COLUMNS = 'tenant_id, id, email, name, role, status, password_hash, external_source, external_id, external_version, external_updated_at, scim_external_id, sso_break_glass, created_at, updated_at';

interface UserRecord {
  tenant_id: string;
  id: string;
  email: string;
  name: string;
  role: UserRow['role'];
  status: UserRow['status'];
  password_hash: string | null;
  external_source: string | null;
  external_id: string | null;
  external_version: string | null;
  external_updated_at: string | null;
  scim_external_id: string | null;
  sso_break_glass: boolean;
  created_at: string;
  updated_at: string;
}

function toUserRow(r: UserRecord): UserRow {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    status: r.status,
    passwordHash: r.password_hash,
    externalSource: r.external_source,
    externalId: r.external_id,
    externalVersion: toNumberOrNull(r.external_version),
    externalUpdatedAt: toDateOrNull(r.external_updated_at),
    scimExternalId: r.scim_external_id,
    ssoBreakGlass: r.sso_break_glass === true,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

export async function usersByIds(tx: Tx, ids: readonly string[]): Promise<UserRow[]> {
  return (await runStatement<UserRecord>(tx, `select ${COLUMNS} from users where id = any($1::uuid[])`, [ids])).map(toUserRow);
}

export interface UserPageQuery {
  /** A LIKE pattern matched against email and name (case-insensitive). */
  pattern?: string | undefined;
  role?: UserRow['role'] | undefined;
  status?: UserRow['status'] | undefined;
  after?: CursorKey | undefined;
  /** Rows to fetch (the page size + 1, to learn whether there is a next page). */
  limit: number;
}

/** One statement text per combination of filters and columns (32 at most), built once. */
const pageTexts = new Map<string, string>();

/**
 * The page's statement: `limit` of the tenant's users, oldest first (created_at, id), after the
 * cursor, filtered, selecting `columns`. Also the subquery of reads that go with the page
 * (organizationsOfSelectedUsers: the same users, `id` only).
 */
export function userPageStatement(q: UserPageQuery, columns: 'all' | 'id'): { text: string; params: unknown[] } {
  const key = `${columns}${q.pattern !== undefined ? 's' : ''}${q.role ? 'r' : ''}${q.status ? 't' : ''}${q.after ? 'a' : ''}`;
  const params: unknown[] = [];
  const conditions: string[] = [];
  if (q.pattern !== undefined) conditions.push(`(email ilike $${params.push(q.pattern)} or name ilike $${params.length})`);
  if (q.role) conditions.push(`role = $${params.push(q.role)}::tenant_role`);
  if (q.status) conditions.push(`status = $${params.push(q.status)}::user_status`);
  if (q.after) conditions.push(`(created_at, id) > ($${params.push(q.after.createdAt.toISOString())}::timestamptz, $${params.push(q.after.id)}::uuid)`);
  params.push(q.limit);
  let text = pageTexts.get(key);
  if (!text) {
    text = `select ${columns === 'all' ? COLUMNS : 'id'} from users${conditions.length ? ` where ${conditions.join(' and ')}` : ''} order by created_at, id limit $${params.length}`;
    pageTexts.set(key, text);
  }
  return { text, params };
}

/** A page of the tenant's users (userPageStatement). */
export async function userPage(tx: Tx, q: UserPageQuery): Promise<UserRow[]> {
  const { text, params } = userPageStatement(q, 'all');
  return (await runStatement<UserRecord>(tx, text, params)).map(toUserRow);
}
