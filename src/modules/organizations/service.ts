import { and, eq, ilike, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { atLeast, type Actor } from '../../auth/roles.js';
import type { Tx } from '../../db/client.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { organizationMemberships, organizations, users, type MembershipRow, type OrganizationRow } from '../../db/schema.js';
import { conflict, forbidden, notFound } from '../../errors.js';
import { containsPattern } from '../../db/like.js';
import { paginate, type Page } from '../../db/pagination.js';
import { fields, validate } from '../../validation.js';
import { assertBulkSize, emptyResults, tryItem, type ItemResult } from '../bulk.js';

type OrganizationRole = MembershipRow['role'];
export type MemberItemResult = ItemResult<MembershipRow>;
export type MemberResults = MemberItemResult[];

const listInput = z.object({ first: z.number().nullish(), after: z.string().nullish(), filter: z.object({ search: fields.search.nullish() }).nullish() });

export async function listOrganizations(scope: Scope, input: z.input<typeof listInput>): Promise<Page<OrganizationRow>> {
  const { first, after, filter } = validate(listInput, input);
  const where = filter?.search ? ilike(organizations.name, containsPattern(filter.search)) : undefined;
  return paginate(scope, { table: organizations, createdAt: organizations.createdAt, id: organizations.id, where, first, after });
}

const createInput = z.object({ name: fields.name, description: fields.description.nullish() });
const updateInput = z.object({ name: fields.name.nullish(), description: fields.description.nullish() });

export function createOrganization(scope: Scope, actor: Actor, input: z.input<typeof createInput>): Promise<OrganizationRow> {
  const data = validate(createInput, input);
  return scope.write(async (tx) => {
    const [row] = await tx.insert(organizations).values({ tenantId: actor.tenantId, name: data.name, description: data.description ?? null }).returning();
    return row!;
  });
}

export function updateOrganization(scope: Scope, id: string, input: z.input<typeof updateInput>): Promise<OrganizationRow> {
  const data = validate(updateInput, input);
  return scope.write(async (tx) => {
    const [row] = await tx
      .update(organizations)
      .set({ name: data.name ?? undefined, description: data.description === undefined ? undefined : data.description, updatedAt: new Date() })
      .where(eq(organizations.id, id))
      .returning();
    if (!row) throw notFound('Organization');
    return row;
  });
}

export function deleteOrganization(scope: Scope, id: string): Promise<{ id: string }> {
  return scope.write(async (tx) => {
    const [row] = await tx.delete(organizations).where(eq(organizations.id, id)).returning({ id: organizations.id });
    if (!row) throw notFound('Organization');
    return row;
  });
}

/** Tenant ADMIN+ may manage any organization's members; an organization ADMIN may manage their own. */
export function addMember(scope: Scope, actor: Actor, organizationId: string, userId: string, role: OrganizationRole): Promise<MembershipRow> {
  return scope.write(async (tx) => {
    await assertCanManageMembers(tx, actor, organizationId);
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!user) throw notFound('User');
    const [row] = await tx.insert(organizationMemberships).values({ tenantId: actor.tenantId, organizationId, userId, role }).onConflictDoNothing().returning();
    if (!row) throw conflict('The user is already a member of this organization');
    return row;
  });
}

const memberInput = z.object({ userId: z.string().uuid('Not a UUID'), role: z.enum(['ADMIN', 'MEMBER']).nullish() });

/**
 * Adds many users to one organization (src/modules/bulk.ts has the semantics). Who may manage the
 * organization's members is checked once for the call (a failure fails the call); then per item: the
 * user must exist in the tenant, appear once in the call, and not be a member yet (CONFLICT).
 * Statements: the organization check, one read of the users, one INSERT … ON CONFLICT DO NOTHING.
 */
export async function addMembers(scope: Scope, actor: Actor, organizationId: string, inputs: z.input<typeof memberInput>[]): Promise<ItemResult<MembershipRow>[]> {
  assertBulkSize(inputs.length, 'members');
  const results = emptyResults<MembershipRow>(inputs.length);
  const firstByUser = new Map<string, number>();
  const valid = inputs.flatMap((input, index) => {
    const item = tryItem(results, index, () => {
      const data = validate(memberInput, input);
      const first = firstByUser.get(data.userId);
      if (first !== undefined) throw conflict(`The same user as item ${first} of this call`);
      firstByUser.set(data.userId, index);
      return { index, userId: data.userId, role: data.role ?? ('MEMBER' as const) };
    });
    return item ? [item] : [];
  });
  return scope.write(async (tx) => {
    await assertCanManageMembers(tx, actor, organizationId);
    if (!valid.length) return results;
    const known = new Set((await tx.select({ id: users.id }).from(users).where(inArray(users.id, valid.map((v) => v.userId)))).map((u) => u.id));
    for (const v of valid) if (!known.has(v.userId)) results[v.index]!.error = notFound('User');
    const toAdd = valid.filter((v) => known.has(v.userId));
    if (!toAdd.length) return results;
    const inserted = await tx
      .insert(organizationMemberships)
      .values(toAdd.map((v) => ({ tenantId: actor.tenantId, organizationId, userId: v.userId, role: v.role })))
      .onConflictDoNothing()
      .returning();
    const byUser = new Map(inserted.map((m) => [m.userId, m]));
    for (const v of toAdd) {
      const row = byUser.get(v.userId);
      if (row) results[v.index]!.record = row;
      else results[v.index]!.error = conflict('The user is already a member of this organization');
    }
    return results;
  });
}

export function changeMemberRole(scope: Scope, actor: Actor, organizationId: string, userId: string, role: OrganizationRole): Promise<MembershipRow> {
  return scope.write(async (tx) => {
    await assertCanManageMembers(tx, actor, organizationId);
    const [row] = await tx
      .update(organizationMemberships)
      .set({ role })
      .where(and(eq(organizationMemberships.organizationId, organizationId), eq(organizationMemberships.userId, userId)))
      .returning();
    if (!row) throw notFound('Membership');
    return row;
  });
}

export function removeMember(scope: Scope, actor: Actor, organizationId: string, userId: string): Promise<{ id: string }> {
  return scope.write(async (tx) => {
    await assertCanManageMembers(tx, actor, organizationId);
    const [row] = await tx
      .delete(organizationMemberships)
      .where(and(eq(organizationMemberships.organizationId, organizationId), eq(organizationMemberships.userId, userId)))
      .returning();
    if (!row) throw notFound('Membership');
    return { id: userId };
  });
}

async function assertCanManageMembers(tx: Tx, actor: Actor, organizationId: string) {
  const [org] = await tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, organizationId)).for('update');
  if (!org) throw notFound('Organization');
  if (atLeast(actor.role, 'ADMIN')) return;
  const [own] = await tx
    .select({ role: organizationMemberships.role })
    .from(organizationMemberships)
    .where(and(eq(organizationMemberships.organizationId, organizationId), eq(organizationMemberships.userId, actor.userId)));
  if (own?.role !== 'ADMIN' || actor.role === 'VIEWER') throw forbidden('Only tenant ADMINs or this organization\'s ADMINs may manage its members');
}
