import { and, asc, count, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client.js';
import { organizationMemberships, organizations, users, type OrganizationRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { notFound } from '../../errors.js';
import { fields, validate } from '../../validation.js';
import { parseFilter, parsePatch, paging, scimError, SCHEMAS, versionOf, type ListResponse, type PatchOperation } from './protocol.js';

/**
 * SCIM Groups (RFC 7643 §4.2) as Tessera's organizations: `displayName` is the organization's name,
 * `members` its memberships (users of the tenant only; added as organization MEMBERs, an existing
 * member keeps their organization role). Membership changes are audited on organization_memberships.
 */

export interface ScimGroup {
  schemas: [typeof SCHEMAS.group];
  id: string;
  externalId?: string;
  displayName: string;
  members?: { value: string; display: string; type: 'User'; $ref: string }[];
  meta: { resourceType: 'Group'; created: string; lastModified: string; location: string; version: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FILTERABLE = ['displayName', 'externalId'] as const;
const MAX_MEMBERS_PER_REQUEST = 1000;

const memberList = z.array(z.object({ value: z.string().max(100) }), { message: 'members must be an array of { value }' }).max(MAX_MEMBERS_PER_REQUEST, `At most ${MAX_MEMBERS_PER_REQUEST} members per request`);
const groupResource = z.object({
  displayName: fields.name,
  externalId: z.string().trim().max(256).nullish(),
  members: memberList.nullish(),
});

type Members = Map<string, { id: string; email: string }[]>;

function toScimGroup(o: OrganizationRow, baseUrl: string, members: { id: string; email: string }[] | undefined): ScimGroup {
  return {
    schemas: [SCHEMAS.group],
    id: o.id,
    ...(o.scimExternalId ? { externalId: o.scimExternalId } : {}),
    displayName: o.name,
    ...(members ? { members: members.map((m) => ({ value: m.id, display: m.email, type: 'User' as const, $ref: `${baseUrl}/Users/${m.id}` })) } : {}),
    meta: { resourceType: 'Group', created: o.createdAt.toISOString(), lastModified: o.updatedAt.toISOString(), location: `${baseUrl}/Groups/${o.id}`, version: versionOf(o.updatedAt) },
  };
}

async function membersOf(tx: Tx, ids: string[]): Promise<Members> {
  const out: Members = new Map(ids.map((id) => [id, []]));
  if (!ids.length) return out;
  const rows = await tx
    .select({ organizationId: organizationMemberships.organizationId, id: users.id, email: users.email })
    .from(organizationMemberships)
    .innerJoin(users, and(eq(users.tenantId, organizationMemberships.tenantId), eq(users.id, organizationMemberships.userId)))
    .where(inArray(organizationMemberships.organizationId, ids))
    .orderBy(asc(organizationMemberships.createdAt), asc(users.id));
  for (const r of rows) out.get(r.organizationId)!.push({ id: r.id, email: r.email });
  return out;
}

/** `excludedAttributes=members` (what Azure AD and Okta ask for when they only look a group up). */
const wantsMembers = (excluded: unknown) => typeof excluded !== 'string' || !excluded.split(',').some((a) => a.trim().toLowerCase() === 'members');

export async function listScimGroups(
  scope: Scope,
  baseUrl: string,
  query: { filter?: unknown; startIndex?: unknown; count?: unknown; excludedAttributes?: unknown },
): Promise<ListResponse<ScimGroup>> {
  const filter = parseFilter(query.filter, FILTERABLE);
  const { offset, limit, startIndex } = paging(query);
  const where: SQL | undefined = !filter
    ? undefined
    : filter.attribute === 'externalId'
      ? eq(organizations.scimExternalId, filter.value)
      : sql`lower(${organizations.name}) = lower(${filter.value})`;
  return scope.read(async (tx) => {
    const [total] = await tx.select({ n: count() }).from(organizations).where(where);
    const rows = limit === 0 ? [] : await tx.select().from(organizations).where(where).orderBy(asc(organizations.createdAt), asc(organizations.id)).limit(limit).offset(offset);
    const members = wantsMembers(query.excludedAttributes) ? await membersOf(tx, rows.map((r) => r.id)) : undefined;
    return { schemas: [SCHEMAS.list], totalResults: total!.n, startIndex, itemsPerPage: rows.length, Resources: rows.map((o) => toScimGroup(o, baseUrl, members?.get(o.id))) };
  });
}

export async function getScimGroup(scope: Scope, baseUrl: string, id: string, excludedAttributes?: unknown): Promise<ScimGroup> {
  return scope.read(async (tx) => {
    const org = await findGroup(tx, id);
    const members = wantsMembers(excludedAttributes) ? (await membersOf(tx, [org.id])).get(org.id) : undefined;
    return toScimGroup(org, baseUrl, members);
  });
}

export async function createScimGroup(scope: Scope, baseUrl: string, body: unknown): Promise<ScimGroup> {
  const data = validate(groupResource, body);
  return scope.write(async (tx) => {
    await assertUnique(tx, data.displayName, data.externalId ?? null, undefined);
    const [org] = await tx.insert(organizations).values({ tenantId: scope.actor.tenantId, name: data.displayName, scimExternalId: data.externalId || null }).returning();
    await setMembers(tx, scope.actor.tenantId, org!.id, memberIds(data.members ?? []));
    return toScimGroup(org!, baseUrl, (await membersOf(tx, [org!.id])).get(org!.id));
  });
}

/** PUT: name, externalId and the whole member list as given. */
export async function replaceScimGroup(scope: Scope, baseUrl: string, id: string, body: unknown): Promise<ScimGroup> {
  const data = validate(groupResource, body);
  return scope.write(async (tx) => {
    await findGroup(tx, id, true);
    await assertUnique(tx, data.displayName, data.externalId ?? null, id);
    const [org] = await tx.update(organizations).set({ name: data.displayName, scimExternalId: data.externalId || null, updatedAt: new Date() }).where(eq(organizations.id, id)).returning();
    await setMembers(tx, scope.actor.tenantId, id, memberIds(data.members ?? []));
    return toScimGroup(org!, baseUrl, (await membersOf(tx, [id])).get(id));
  });
}

/**
 * PATCH: `add`/`remove` members (`path: "members"` with `value: [{ value }]`, or
 * `path: 'members[value eq "…"]'` to remove one), `replace` members, displayName or externalId
 * (with a path or as an object). Applied in order, all or nothing.
 */
export async function patchScimGroup(scope: Scope, baseUrl: string, id: string, body: unknown): Promise<ScimGroup> {
  const ops = parsePatch(body);
  return scope.write(async (tx) => {
    const current = await findGroup(tx, id, true);
    let name = current.name;
    let externalId = current.scimExternalId;
    let members = new Set((await membersOf(tx, [id])).get(id)!.map((m) => m.id));
    const apply = (op: PatchOperation): void => {
      const path = op.path?.trim();
      const lower = path?.toLowerCase();
      if (lower === undefined) {
        if (!op.value || typeof op.value !== 'object' || Array.isArray(op.value)) throw scimError('BAD_USER_INPUT', 'invalidValue', 'Without a path, value must be an object of attributes');
        for (const [p, value] of Object.entries(op.value)) apply({ op: op.op, path: p, value });
        return;
      }
      if (lower === 'displayname') {
        if (op.op === 'remove') throw scimError('BAD_USER_INPUT', 'mutability', 'displayName is required');
        name = validate(fields.name, op.value);
      } else if (lower === 'externalid') {
        externalId = op.op === 'remove' ? null : validate(z.string().trim().max(256).nullable(), op.value) || null;
      } else if (lower === 'members') {
        // One member as an object instead of an array of one: some directories send it so.
        const value = op.value && typeof op.value === 'object' && !Array.isArray(op.value) ? [op.value] : op.value;
        const ids = value === undefined && op.op === 'remove' ? [...members] : memberIds(validate(memberList, value));
        if (op.op === 'replace') members = new Set(ids);
        else if (op.op === 'add') for (const m of ids) members.add(m);
        else for (const m of ids) members.delete(m);
      } else {
        const one = /^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i.exec(path!);
        if (!one || op.op !== 'remove') throw scimError('BAD_USER_INPUT', 'invalidPath', `Unsupported path ${path}`);
        members.delete(one[1]!.toLowerCase());
      }
    };
    for (const op of ops) apply(op);
    await assertUnique(tx, name, externalId, id);
    const [org] = await tx.update(organizations).set({ name, scimExternalId: externalId, updatedAt: new Date() }).where(eq(organizations.id, id)).returning();
    await setMembers(tx, scope.actor.tenantId, id, [...members]);
    return toScimGroup(org!, baseUrl, (await membersOf(tx, [id])).get(id));
  });
}

export async function deleteScimGroup(scope: Scope, id: string): Promise<void> {
  await scope.write(async (tx) => {
    await findGroup(tx, id, true);
    await tx.delete(organizations).where(eq(organizations.id, id));
  });
}

/** Member ids, lower-cased (UUIDs); anything that is not a UUID can't be one of our users. */
function memberIds(list: { value: string }[]): string[] {
  const ids = list.map((m) => m.value.trim().toLowerCase());
  const bad = ids.find((v) => !UUID.test(v));
  if (bad !== undefined) throw scimError('BAD_USER_INPUT', 'invalidValue', `members: "${bad.slice(0, 100)}" is not a user id`);
  return [...new Set(ids)];
}

/**
 * Makes the organization's members exactly `wanted`: removes the others, adds the missing ones as
 * MEMBER. Every id must be a user of this tenant (RLS hides the rest, so another tenant's user is
 * "not a user" here, as it should be).
 */
async function setMembers(tx: Tx, tenantId: string, organizationId: string, wanted: string[]): Promise<void> {
  if (wanted.length) {
    const found = await tx.select({ id: users.id }).from(users).where(inArray(users.id, wanted));
    const known = new Set(found.map((u) => u.id));
    const unknown = wanted.find((id) => !known.has(id));
    if (unknown) throw scimError('BAD_USER_INPUT', 'invalidValue', `members: ${unknown} is not a user of this tenant`);
  }
  const current = await tx.select({ userId: organizationMemberships.userId }).from(organizationMemberships).where(eq(organizationMemberships.organizationId, organizationId));
  const want = new Set(wanted);
  const gone = current.map((m) => m.userId).filter((id) => !want.has(id));
  if (gone.length) await tx.delete(organizationMemberships).where(and(eq(organizationMemberships.organizationId, organizationId), inArray(organizationMemberships.userId, gone)));
  const have = new Set(current.map((m) => m.userId));
  const added = wanted.filter((id) => !have.has(id));
  if (added.length) await tx.insert(organizationMemberships).values(added.map((userId) => ({ tenantId, organizationId, userId, role: 'MEMBER' as const }))).onConflictDoNothing();
}

async function assertUnique(tx: Tx, name: string, externalId: string | null, exceptId: string | undefined): Promise<void> {
  const clash = await tx
    .select({ id: organizations.id, name: organizations.name })
    .from(organizations)
    .where(sql`(lower(${organizations.name}) = lower(${name}) or ${organizations.scimExternalId} = ${externalId})`);
  const other = clash.filter((c) => c.id !== exceptId);
  if (other.some((c) => c.name.toLowerCase() === name.toLowerCase())) throw scimError('CONFLICT', 'uniqueness', 'A group with this displayName already exists');
  if (other.length) throw scimError('CONFLICT', 'uniqueness', 'A group with this externalId already exists');
}

async function findGroup(tx: Tx, id: string, lock = false): Promise<OrganizationRow> {
  if (!UUID.test(id)) throw notFound('Group');
  const q = tx.select().from(organizations).where(eq(organizations.id, id));
  const [row] = lock ? await q.for('update') : await q;
  if (!row) throw notFound('Group');
  return row;
}
