import { and, asc, count, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client.js';
import { refreshTokens, users, type UserRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { notFound } from '../../errors.js';
import { fields, validate } from '../../validation.js';
import { parseFilter, parsePatch, paging, scimBoolean, scimError, SCHEMAS, versionOf, type ListResponse } from './protocol.js';

/**
 * SCIM Users (RFC 7643 §4.1) over Tessera's users. `userName` is the user's email (what people sign
 * in with); `externalId` is the directory's own id. Users created here are MEMBERs, ACTIVE without a
 * password (they sign in through SSO). The directory manages everyone below OWNER: an OWNER's
 * account is changed by people in Tessera only, so a directory can never lock the tenant's owners
 * out. Deactivation (`active: false`) and deletion end every session at once: refresh tokens are
 * revoked in the same transaction, and the users trigger tells open sockets (src/realtime/principals.ts).
 * Every change is audited with the SCIM actor (the token) by the usual triggers.
 */

export interface ScimUser {
  schemas: [typeof SCHEMAS.user];
  id: string;
  externalId?: string;
  userName: string;
  displayName: string;
  name: { formatted: string };
  emails: { value: string; type: 'work'; primary: true }[];
  active: boolean;
  roles: { value: string; primary: true }[];
  meta: { resourceType: 'User'; created: string; lastModified: string; location: string; version: string };
}

export function toScimUser(u: UserRow, baseUrl: string): ScimUser {
  return {
    schemas: [SCHEMAS.user],
    id: u.id,
    ...(u.scimExternalId ? { externalId: u.scimExternalId } : {}),
    userName: u.email,
    displayName: u.name,
    name: { formatted: u.name },
    emails: [{ value: u.email, type: 'work', primary: true }],
    active: u.status === 'ACTIVE',
    roles: [{ value: u.role, primary: true }],
    meta: { resourceType: 'User', created: u.createdAt.toISOString(), lastModified: u.updatedAt.toISOString(), location: `${baseUrl}/Users/${u.id}`, version: versionOf(u.updatedAt) },
  };
}

const text = (max: number) => z.string().trim().max(max, `At most ${max} characters`);
const userResource = z.object({
  userName: z.string({ message: 'userName is required' }).max(254, 'At most 254 characters'),
  externalId: text(256).nullish(),
  displayName: text(200).nullish(),
  name: z.object({ formatted: text(200).nullish(), givenName: text(100).nullish(), familyName: text(100).nullish() }).nullish(),
  emails: z.array(z.object({ value: z.string().max(254).nullish(), primary: z.unknown().optional(), type: z.string().max(50).nullish() })).max(20).nullish(),
  active: z.unknown().optional(),
});

/** What a User resource sets on our row. */
interface UserData {
  email: string;
  name: string;
  externalId: string | null;
  active: boolean;
}

function userData(body: unknown): UserData {
  const r = validate(userResource, body);
  // userName is the sign-in email; a directory whose userName is not an email gives its primary email.
  const primary = r.emails?.find((e) => e.primary === true || e.primary === 'true' || e.primary === 'True') ?? r.emails?.[0];
  const byUserName = fields.email.safeParse(r.userName);
  const email = byUserName.success ? byUserName.data : fields.email.safeParse(primary?.value ?? '').data;
  if (!email) throw scimError('BAD_USER_INPUT', 'invalidValue', 'userName (or the primary email) must be an email address');
  const given = [r.name?.givenName, r.name?.familyName].filter(Boolean).join(' ');
  const name = validate(fields.name, r.displayName || r.name?.formatted || given || email.split('@')[0]!);
  return { email, name, externalId: r.externalId || null, active: r.active === undefined ? true : scimBoolean(r.active, 'active') };
}

/** RFC 7643 §4.1 User attributes Tessera does not store (lower-cased), with their sub-attributes and filters. */
const UNSTORED = new Set(['nickname', 'profileurl', 'title', 'usertype', 'preferredlanguage', 'locale', 'timezone', 'phonenumbers', 'ims', 'photos', 'addresses', 'entitlements', 'x509certificates']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FILTERABLE = ['userName', 'externalId', 'emails.value'] as const;

export async function listScimUsers(scope: Scope, baseUrl: string, query: { filter?: unknown; startIndex?: unknown; count?: unknown }): Promise<ListResponse<ScimUser>> {
  const filter = parseFilter(query.filter, FILTERABLE);
  const { offset, limit, startIndex } = paging(query);
  // userName and emails are case-insensitive (caseExact: false); externalId is exact.
  const where: SQL | undefined = !filter
    ? undefined
    : filter.attribute === 'externalId'
      ? eq(users.scimExternalId, filter.value)
      : sql`lower(${users.email}) = lower(${filter.value})`;
  return scope.read(async (tx) => {
    const [total] = await tx.select({ n: count() }).from(users).where(where);
    const rows = limit === 0 ? [] : await tx.select().from(users).where(where).orderBy(asc(users.createdAt), asc(users.id)).limit(limit).offset(offset);
    return { schemas: [SCHEMAS.list], totalResults: total!.n, startIndex, itemsPerPage: rows.length, Resources: rows.map((u) => toScimUser(u, baseUrl)) };
  });
}

export async function getScimUser(scope: Scope, baseUrl: string, id: string): Promise<ScimUser> {
  return toScimUser(await scope.read((tx) => findUser(tx, id)), baseUrl);
}

export async function createScimUser(scope: Scope, baseUrl: string, body: unknown): Promise<ScimUser> {
  const data = userData(body);
  const row = await scope.write(async (tx) => {
    await assertUnique(tx, data, undefined);
    const [r] = await tx
      .insert(users)
      .values({ tenantId: scope.actor.tenantId, email: data.email, name: data.name, role: 'MEMBER', status: data.active ? 'ACTIVE' : 'DEACTIVATED', scimExternalId: data.externalId })
      .returning();
    return r!;
  });
  return toScimUser(row, baseUrl);
}

/** PUT: the resource as given replaces what the directory manages (email, name, externalId, active). */
export async function replaceScimUser(scope: Scope, baseUrl: string, id: string, body: unknown): Promise<ScimUser> {
  const data = userData(body);
  return toScimUser(await scope.write((tx) => applyUser(tx, id, data)), baseUrl);
}

/**
 * PATCH: the operations apply to the resource as it is now, and the result is stored as a PUT would
 * store it (one set of rules for both). Paths: active, userName, externalId, displayName,
 * name.formatted / givenName / familyName, emails (with or without a value filter); or no path and
 * an object of those attributes (Okta's `{ op: replace, value: { active: false } }`).
 */
export async function patchScimUser(scope: Scope, baseUrl: string, id: string, body: unknown): Promise<ScimUser> {
  const ops = parsePatch(body);
  return toScimUser(
    await scope.write(async (tx) => {
      const current = await findUser(tx, id, true);
      const resource: Record<string, unknown> = {
        userName: current.email,
        externalId: current.scimExternalId,
        displayName: current.name,
        name: { formatted: current.name },
        active: current.status === 'ACTIVE',
      };
      for (const op of ops) applyUserOperation(resource, op);
      return applyUser(tx, id, userData(resource), current);
    }),
    baseUrl,
  );
}

export async function deleteScimUser(scope: Scope, id: string): Promise<void> {
  await scope.write(async (tx) => {
    const target = await findUser(tx, id, true);
    assertDirectoryManaged(target);
    await tx.delete(users).where(eq(users.id, id));
  });
}

function applyUserOperation(resource: Record<string, unknown>, op: { op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown }): void {
  if (op.path === undefined) {
    if (!op.value || typeof op.value !== 'object' || Array.isArray(op.value)) throw scimError('BAD_USER_INPUT', 'invalidValue', 'Without a path, value must be an object of attributes');
    for (const [path, value] of Object.entries(op.value)) applyUserOperation(resource, { op: op.op, path, value });
    return;
  }
  const path = op.path.trim();
  const lower = path.toLowerCase();
  const value = op.op === 'remove' ? undefined : op.value;
  if (lower === 'active') resource.active = value === undefined ? false : value;
  else if (lower === 'username') resource.userName = value;
  else if (lower === 'externalid') resource.externalId = value ?? null;
  else if (lower === 'displayname') resource.displayName = value ?? null;
  else if (lower === 'name') {
    resource.name = value ?? null;
    resource.displayName = null;
  } else if (lower.startsWith('name.')) {
    const key = { 'name.formatted': 'formatted', 'name.givenname': 'givenName', 'name.familyname': 'familyName' }[lower];
    if (!key) throw scimError('BAD_USER_INPUT', 'invalidPath', `Unsupported path ${path}`);
    const name = { ...((resource.name as Record<string, unknown> | null) ?? {}) };
    if (key !== 'formatted') delete name.formatted; // the parts change: the full name is rebuilt from them
    name[key] = value ?? null;
    resource.name = name;
    resource.displayName = null;
  } else if (lower === 'emails' || lower.startsWith('emails[') || lower.startsWith('emails.')) {
    // The work (primary) email is the only one kept: setting any email sets it; removing it is refused below.
    if (value === undefined || value === null) throw scimError('BAD_USER_INPUT', 'mutability', 'The email a user signs in with cannot be removed');
    const email = typeof value === 'string' ? value : Array.isArray(value) ? (value.find((e: { primary?: unknown }) => e?.primary) ?? value[0])?.value : (value as { value?: unknown }).value;
    if (typeof email !== 'string') throw scimError('BAD_USER_INPUT', 'invalidValue', 'emails: expected an email value');
    resource.userName = email;
  } else if (lower === 'roles' || lower.startsWith('urn:') || UNSTORED.has(/^[a-z0-9]+/.exec(lower)?.[0] ?? '')) {
    // Roles are not provisioned by the directory (the tenant role is set in Tessera or by SSO role mapping),
    // and the other core attributes are not stored: ignored, as in a POST or PUT, so a directory's
    // default mapping (Entra ID's sends title, addresses, phoneNumbers…) does not fail every update.
  } else throw scimError('BAD_USER_INPUT', 'invalidPath', `Unsupported path ${path}`);
}

async function applyUser(tx: Tx, id: string, data: UserData, locked?: UserRow): Promise<UserRow> {
  const current = locked ?? (await findUser(tx, id, true));
  assertDirectoryManaged(current);
  await assertUnique(tx, data, id);
  const status = data.active ? 'ACTIVE' : 'DEACTIVATED';
  if (status === 'DEACTIVATED' && current.status !== 'DEACTIVATED') {
    await tx.update(refreshTokens).set({ revokedAt: new Date() }).where(and(eq(refreshTokens.userId, id), isNull(refreshTokens.revokedAt)));
  }
  const [row] = await tx
    .update(users)
    .set({ email: data.email, name: data.name, scimExternalId: data.externalId, status, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning();
  return row!;
}

/** SCIM's uniqueness errors name the attribute (the unique indexes would only say "conflict"). */
async function assertUnique(tx: Tx, data: UserData, exceptId: string | undefined): Promise<void> {
  const clash = await tx
    .select({ id: users.id, email: users.email, externalId: users.scimExternalId })
    .from(users)
    .where(sql`(lower(${users.email}) = lower(${data.email}) or (${users.scimExternalId} = ${data.externalId}))`);
  const other = clash.filter((c) => c.id !== exceptId);
  if (other.some((c) => c.email.toLowerCase() === data.email)) throw scimError('CONFLICT', 'uniqueness', 'A user with this userName already exists');
  if (other.length) throw scimError('CONFLICT', 'uniqueness', 'A user with this externalId already exists');
}

function assertDirectoryManaged(user: UserRow): void {
  if (user.role === 'OWNER') throw scimError('FORBIDDEN', 'mutability', 'OWNER accounts are managed in Tessera, not by the directory');
}

async function findUser(tx: Tx, id: string, lock = false): Promise<UserRow> {
  if (!UUID.test(id)) throw notFound('User');
  const q = tx.select().from(users).where(eq(users.id, id));
  const [row] = lock ? await q.for('update') : await q;
  if (!row) throw notFound('User');
  return row;
}

