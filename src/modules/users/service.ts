import { and, count, eq, ilike, ne, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { hashPassword } from '../../auth/passwords.js';
import { assertCanManage, assertKeyMayGrant, atLeast, type Actor } from '../../auth/roles.js';
import type { TenantRole } from '../../auth/tokens.js';
import type { Tx } from '../../db/client.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { refreshTokens, users, type UserRow } from '../../db/schema.js';
import { conflict, forbidden, notFound } from '../../errors.js';
import { containsPattern } from '../../db/like.js';
import { decodeCursor, pageSize, toPage, type Page } from '../../db/pagination.js';
import { userPage } from './queries.js';
import { pushUserChange } from '../../integrations/push.js';
import { fields, validate } from '../../validation.js';

type UserStatus = UserRow['status'];

const listInput = z.object({
  first: z.number().nullish(),
  after: z.string().nullish(),
  filter: z
    .object({ search: fields.search.nullish(), role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']).nullish(), status: z.enum(['ACTIVE', 'INVITED', 'DEACTIVATED']).nullish() })
    .nullish(),
});

/** A page of the tenant's users, oldest first; RLS keeps it to the tenant. The page is a prepared statement (queries.ts); the total, asked for rarely, is built by drizzle. */
export async function listUsers(scope: Scope, input: z.input<typeof listInput>): Promise<Page<UserRow>> {
  const { first, after, filter } = validate(listInput, input);
  const limit = pageSize(first);
  const cursor = decodeCursor(after);
  const pattern = filter?.search ? containsPattern(filter.search) : undefined;
  const rows = await scope.read((tx) => userPage(tx, { pattern, role: filter?.role ?? undefined, status: filter?.status ?? undefined, after: cursor, limit: limit + 1 }));
  return toPage(rows, limit, async () => {
    const where = and(
      pattern !== undefined ? or(ilike(users.email, pattern), ilike(users.name, pattern)) : undefined,
      filter?.role ? eq(users.role, filter.role) : undefined,
      filter?.status ? eq(users.status, filter.status) : undefined,
    );
    return (await scope.read((tx) => tx.select({ n: count() }).from(users).where(where)))[0]?.n ?? 0;
  });
}

const createInput = z.object({ email: fields.email, name: fields.name, role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']).nullish(), password: fields.password.nullish() });

/** Creates an ACTIVE user (with a password) or invites one (without). Nobody may create a user above their own role. */
export async function createUser(scope: Scope, actor: Actor, input: z.input<typeof createInput>): Promise<UserRow> {
  const data = validate(createInput, input);
  const role = data.role ?? 'MEMBER';
  assertCanManage(actor, { role }, role);
  assertKeyMayGrant(actor, role);
  const passwordHash = data.password ? await hashPassword(data.password) : null;
  return scope.write(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({ tenantId: actor.tenantId, email: data.email, name: data.name, role, status: passwordHash ? 'ACTIVE' : 'INVITED', passwordHash })
      .returning();
    await pushUserChange(tx, scope, null, row!);
    return row!;
  });
}

const updateInput = z.object({ name: fields.name.nullish(), email: fields.email.nullish(), password: fields.password.nullish() });

/** Anyone may edit themselves; editing others needs ADMIN+ (the permission map) and a target not above the actor. */
export async function updateUser(scope: Scope, actor: Actor, id: string, input: z.input<typeof updateInput>): Promise<UserRow> {
  const data = validate(updateInput, input);
  const passwordHash = data.password ? await hashPassword(data.password) : undefined;
  return scope.write(async (tx) => {
    const target = await lockUser(tx, id);
    if (target.id !== actor.userId) assertCanManage(actor, target);
    const patch = { name: data.name ?? undefined, email: data.email ?? undefined, passwordHash, updatedAt: new Date() };
    const [row] = await tx.update(users).set(patch).where(eq(users.id, id)).returning();
    await pushUserChange(tx, scope, target, row!);
    return row!;
  });
}

/** Role changes: never raise your own role, never leave the tenant without an active OWNER. */
export async function changeUserRole(scope: Scope, actor: Actor, id: string, role: TenantRole): Promise<UserRow> {
  return scope.write(async (tx) => {
    const target = await lockUser(tx, id);
    if (target.id === actor.userId && atLeast(role, actor.role) && role !== actor.role) throw forbidden('You cannot raise your own role');
    assertCanManage(actor, target, role);
    assertKeyMayGrant(actor, role);
    if (target.role === 'OWNER' && role !== 'OWNER') await assertAnotherOwner(tx, target.id);
    const [row] = await tx.update(users).set({ role, updatedAt: new Date() }).where(eq(users.id, id)).returning();
    return row!;
  });
}

/** Deactivation also ends every session of the user (their refresh tokens are revoked). */
export async function setUserStatus(scope: Scope, actor: Actor, id: string, status: Extract<UserStatus, 'ACTIVE' | 'DEACTIVATED'>): Promise<UserRow> {
  return scope.write(async (tx) => {
    const target = await lockUser(tx, id);
    if (target.id === actor.userId) throw forbidden('You cannot change your own status');
    assertCanManage(actor, target);
    if (status === 'DEACTIVATED' && target.role === 'OWNER') await assertAnotherOwner(tx, target.id);
    if (status === 'DEACTIVATED') await tx.update(refreshTokens).set({ revokedAt: new Date() }).where(and(eq(refreshTokens.userId, id), sql`${refreshTokens.revokedAt} is null`));
    const nextStatus: UserStatus = status === 'ACTIVE' && !target.passwordHash ? 'INVITED' : status;
    const [row] = await tx.update(users).set({ status: nextStatus, updatedAt: new Date() }).where(eq(users.id, id)).returning();
    await pushUserChange(tx, scope, target, row!);
    return row!;
  });
}

export async function deleteUser(scope: Scope, actor: Actor, id: string): Promise<{ id: string }> {
  return scope.write(async (tx) => {
    const target = await lockUser(tx, id);
    if (target.id === actor.userId) throw forbidden('You cannot delete yourself');
    assertCanManage(actor, target);
    if (target.role === 'OWNER') await assertAnotherOwner(tx, target.id);
    await tx.delete(users).where(eq(users.id, id));
    return { id };
  });
}

/** Locks the target row for the rest of the change; NOT_FOUND for ids outside the tenant too. */
async function lockUser(tx: Tx, id: string): Promise<UserRow> {
  const [row] = await tx.select().from(users).where(eq(users.id, id)).for('update');
  if (!row) throw notFound('User');
  return row;
}

/**
 * Locks every active OWNER, so two owners demoting each other at once are serialized and the
 * second sees the first's change.
 */
async function assertAnotherOwner(tx: Tx, exceptId: string) {
  const owners = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'OWNER'), eq(users.status, 'ACTIVE'), ne(users.id, exceptId)))
    .for('update');
  if (owners.length === 0) throw conflict('The tenant must keep at least one active OWNER');
}
