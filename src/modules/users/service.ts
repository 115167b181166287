import { and, count, eq, ilike, inArray, ne, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { hashPassword } from '../../auth/passwords.js';
import { endSessions } from '../../auth/session-service.js';
import { assertCanManage, atLeast, type Actor } from '../../auth/roles.js';
import type { TenantRole } from '../../auth/tokens.js';
import type { Tx } from '../../db/client.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { refreshTokens, users, type OrganizationRow, type UserRow } from '../../db/schema.js';
import { badInput, conflict, forbidden, notFound } from '../../errors.js';
import { containsPattern } from '../../db/like.js';
import { decodeCursor, pageSize, toPage, type Page } from '../../db/pagination.js';
import { userPage, userPageStatement } from './queries.js';
import { organizationsOfSelectedUsers } from '../organizations/queries.js';
import { pushUserChange, pushUserChanges } from '../../integrations/push.js';
import { revokeLiveTokens } from '../../integrations/communication/user-links.js';
import { assertBulkSize, emptyResults, tryItem, type ItemResult } from '../bulk.js';
import { fields, validate } from '../../validation.js';

type UserStatus = UserRow['status'];
export type UserItemResult = ItemResult<UserRow>;
export type UserResults = UserItemResult[];

const listInput = z.object({
  first: z.number().nullish(),
  after: z.string().nullish(),
  filter: z
    .object({ search: fields.search.nullish(), role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']).nullish(), status: z.enum(['ACTIVE', 'INVITED', 'DEACTIVATED']).nullish() })
    .nullish(),
});

/** A page of users; with their organizations when they were asked for (by user id; see listUsers). */
export type UserPage = Page<UserRow> & { organizations?: Map<string, OrganizationRow[]> };

/**
 * A page of the tenant's users, oldest first; RLS keeps it to the tenant. The page is a prepared
 * statement (queries.ts); the total, asked for rarely, is built by drizzle. `withOrganizations`: the
 * page's users' organizations are read too, sent with the page in one round trip (a user changed in
 * between may be missing from them: whoever uses them reads that user's on its own).
 */
export async function listUsers(scope: Scope, input: z.input<typeof listInput>, opts: { withOrganizations?: boolean } = {}): Promise<UserPage> {
  const { first, after, filter } = validate(listInput, input);
  const limit = pageSize(first);
  const cursor = decodeCursor(after);
  const pattern = filter?.search ? containsPattern(filter.search) : undefined;
  const query = { pattern, role: filter?.role ?? undefined, status: filter?.status ?? undefined, after: cursor, limit: limit + 1 };
  const [rows, organizations] = await Promise.all([
    scope.read((tx) => userPage(tx, query)),
    opts.withOrganizations ? scope.read((tx) => organizationsOfSelectedUsers(tx, userPageStatement(query, 'id'))) : undefined,
  ]);
  const page: UserPage = toPage(rows, limit, async () => {
    const where = and(
      pattern !== undefined ? or(ilike(users.email, pattern), ilike(users.name, pattern)) : undefined,
      filter?.role ? eq(users.role, filter.role) : undefined,
      filter?.status ? eq(users.status, filter.status) : undefined,
    );
    return (await scope.read((tx) => tx.select({ n: count() }).from(users).where(where)))[0]?.n ?? 0;
  });
  return organizations ? { ...page, organizations } : page;
}

const createInput = z.object({ email: fields.email, name: fields.name, role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']).nullish(), password: fields.password.nullish() });

/** Creates an ACTIVE user (with a password) or invites one (without): createUsers with one item. */
export async function createUser(scope: Scope, actor: Actor, input: z.input<typeof createInput>): Promise<UserRow> {
  const [result] = await createUsers(scope, actor, [input]);
  if (result!.error) throw result!.error;
  return result!.record!;
}

/**
 * The one way users are created (createUser is this with one item; src/modules/bulk.ts has the
 * semantics): 1. each item is validated, and its role checked (nobody creates a user above their own
 * role; API keys never create OWNERs); 2. an email twice in the call fails the later item;
 * 3. passwords are hashed (in parallel, on libuv's pool); 4. one INSERT … ON CONFLICT DO NOTHING
 * writes every valid item: an email the tenant already has fails its item with CONFLICT; 5. the
 * pushes to the tenant's user service are enqueued for all of them at once.
 */
export async function createUsers(scope: Scope, actor: Actor, inputs: z.input<typeof createInput>[]): Promise<UserResults> {
  assertBulkSize(inputs.length, 'inputs');
  const results = emptyResults<UserRow>(inputs.length);
  const firstByEmail = new Map<string, number>();
  const valid = inputs.flatMap((input, index) => {
    const item = tryItem(results, index, () => {
      const data = validate(createInput, input);
      const role = data.role ?? 'MEMBER';
      assertCanManage(actor, { role }, role);
      const first = firstByEmail.get(data.email);
      if (first !== undefined) throw conflict(`The same email as item ${first} of this call`);
      firstByEmail.set(data.email, index);
      return { index, data, role };
    });
    return item ? [item] : [];
  });
  if (!valid.length) return results;
  const hashes = await Promise.all(valid.map((v) => (v.data.password ? hashPassword(v.data.password) : null)));
  const rows = await scope.write(async (tx) => {
    const inserted = await tx
      .insert(users)
      .values(valid.map((v, i) => ({ tenantId: actor.tenantId, email: v.data.email, name: v.data.name, role: v.role, status: hashes[i] ? ('ACTIVE' as const) : ('INVITED' as const), passwordHash: hashes[i] })))
      .onConflictDoNothing()
      .returning();
    await pushUserChanges(tx, scope, inserted.map((after) => ({ before: null, after })));
    return inserted;
  });
  const byEmail = new Map(rows.map((r) => [r.email.toLowerCase(), r]));
  for (const v of valid) {
    const row = byEmail.get(v.data.email.toLowerCase());
    if (row) results[v.index]!.record = row;
    else results[v.index]!.error = conflict('A user with this email already exists in this tenant');
  }
  return results;
}

const bulkUpdateInput = z
  .object({
    id: z.string().uuid('Not a UUID'),
    name: fields.name.nullish(),
    role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']).nullish(),
    status: z.enum(['ACTIVE', 'DEACTIVATED']).nullish(),
  })
  .refine((v) => v.name != null || v.role != null || v.status != null, { message: 'Give at least one of name, role, status', path: ['input'] });

/**
 * Changes the name, role and/or status of many users (bulk.ts has the semantics). The rules of the
 * single mutations hold per item, in item order: not above your own role (target and new role), no
 * raising your own role, no changing your own status, API keys never make OWNERs, and the tenant
 * keeps an active OWNER (the item that would remove the last one fails with CONFLICT). Deactivation
 * ends the user's sessions; reactivating a user without a password makes them INVITED.
 * Statements: the targets and the active OWNERs (one read each, locked), one UPDATE for all items,
 * one for the sessions ended, and the pushes.
 */
export async function updateUsers(scope: Scope, actor: Actor, inputs: (Omit<z.input<typeof bulkUpdateInput>, 'status'> & { status?: string | null })[]): Promise<UserResults> {
  assertBulkSize(inputs.length, 'inputs');
  const results = emptyResults<UserRow>(inputs.length);
  const firstById = new Map<string, number>();
  const valid = inputs.flatMap((input, index) => {
    const item = tryItem(results, index, () => {
      const data = validate(bulkUpdateInput, input);
      const first = firstById.get(data.id);
      if (first !== undefined) throw conflict(`The same user as item ${first} of this call`);
      firstById.set(data.id, index);
      return { index, data };
    });
    return item ? [item] : [];
  });
  if (!valid.length) return results;
  const touchesOwners = valid.some((v) => v.data.role != null || v.data.status != null);
  return scope.write(async (tx) => {
    if (touchesOwners) await serializeOwnerChanges(tx);
    const targets = new Map((await tx.select().from(users).where(inArray(users.id, valid.map((v) => v.data.id))).for('update')).map((u) => [u.id, u]));
    const activeOwners = new Set(
      touchesOwners ? (await tx.select({ id: users.id }).from(users).where(and(eq(users.role, 'OWNER'), eq(users.status, 'ACTIVE'))).for('update')).map((o) => o.id) : [],
    );
    const changes = valid.flatMap(({ index, data }) => {
      const change = tryItem(results, index, () => {
        const target = targets.get(data.id);
        if (!target) throw notFound('User');
        const self = target.id === actor.userId;
        if (!self) assertCanManage(actor, target, data.role ?? undefined);
        if (data.role) {
          if (self && atLeast(data.role, actor.role) && data.role !== actor.role) throw forbidden('You cannot raise your own role');
          assertCanManage(actor, { role: self ? actor.role : target.role }, data.role);
        }
        if (data.status && self) throw forbidden('You cannot change your own status');
        const role = data.role ?? target.role;
        const status: UserStatus = data.status === 'ACTIVE' && !target.passwordHash ? 'INVITED' : (data.status ?? target.status);
        const wasOwner = activeOwners.has(target.id);
        const isOwner = role === 'OWNER' && status === 'ACTIVE';
        if (wasOwner && !isOwner) {
          if (activeOwners.size <= 1) throw conflict('The tenant must keep at least one active OWNER');
          activeOwners.delete(target.id);
        } else if (isOwner) activeOwners.add(target.id);
        return { index, target, name: data.name ?? target.name, role, status };
      });
      return change ? [change] : [];
    });
    if (!changes.length) return results;
    const values = changes.map((c) => ({ id: c.target.id, name: c.name, role: c.role, status: c.status }));
    await tx.execute(sql`
      update users u set name = v.name, role = v.role::tenant_role, status = v.status::user_status, updated_at = now()
      from json_to_recordset(${JSON.stringify(values)}::text::json) as v(id uuid, name text, role text, status text)
      where u.id = v.id`);
    const ended = changes.filter((c) => c.status === 'DEACTIVATED' && c.target.status !== 'DEACTIVATED').map((c) => c.target.id);
    if (ended.length) await tx.update(refreshTokens).set({ revokedAt: new Date() }).where(and(inArray(refreshTokens.userId, ended), sql`${refreshTokens.revokedAt} is null`));
    const after = new Map((await tx.select().from(users).where(inArray(users.id, values.map((v) => v.id)))).map((u) => [u.id, u]));
    await pushUserChanges(tx, scope, changes.map((c) => ({ before: c.target, after: after.get(c.target.id)! })));
    for (const c of changes) results[c.index]!.record = after.get(c.target.id)!;
    return results;
  });
}

const updateInput = z.object({ name: fields.name.nullish(), email: fields.email.nullish(), password: fields.password.nullish() });

/** Anyone may edit themselves; editing others needs ADMIN+ (the permission map) and a target not above the actor. */
export async function updateUser(scope: Scope, actor: Actor, id: string, input: z.input<typeof updateInput>): Promise<UserRow> {
  const data = validate(updateInput, input);
  const passwordHash = data.password ? await hashPassword(data.password) : undefined;
  return scope.write(async (tx) => {
    const target = await lockUser(tx, id);
    if (target.id === actor.userId) {
      // One's own sign-in details change only through the flows that prove it is you: a stolen
      // access token must not be enough to take the account over. (Decided on the row, not the id as sent.)
      const own = [
        ...(data.email ? [{ field: 'email', message: 'Change your own email with requestEmailChange (confirmed by a link to the new address)' }] : []),
        ...(data.password ? [{ field: 'password', message: 'Change your own password with changePassword (needs the current one)' }] : []),
      ];
      if (own.length) throw badInput(own);
    } else assertCanManage(actor, target);
    const patch = { name: data.name ?? undefined, email: data.email ?? undefined, passwordHash, updatedAt: new Date() };
    const [row] = await tx.update(users).set(patch).where(eq(users.id, id)).returning();
    // A password set by an ADMIN ends the user's sessions, as a reset does.
    if (passwordHash) await endSessions(tx, { userId: id });
    // A new address: links already mailed to the old one (reset, invitation, email change) die with it.
    if (data.email && data.email.toLowerCase() !== target.email.toLowerCase()) await revokeLiveTokens(tx, id, ['PASSWORD_RESET', 'INVITATION', 'EMAIL_CHANGE']);
    await pushUserChange(tx, scope, target, row!);
    return row!;
  });
}

/** Role changes: never raise your own role, never leave the tenant without an active OWNER. */
export async function changeUserRole(scope: Scope, actor: Actor, id: string, role: TenantRole): Promise<UserRow> {
  return scope.write(async (tx) => {
    await serializeOwnerChanges(tx);
    const target = await lockUser(tx, id);
    if (target.id === actor.userId && atLeast(role, actor.role) && role !== actor.role) throw forbidden('You cannot raise your own role');
    assertCanManage(actor, target, role);
    if (target.role === 'OWNER' && role !== 'OWNER') await assertAnotherOwner(tx, target.id);
    const [row] = await tx.update(users).set({ role, updatedAt: new Date() }).where(eq(users.id, id)).returning();
    return row!;
  });
}

/** Deactivation also ends every session of the user (their refresh tokens are revoked). */
export async function setUserStatus(scope: Scope, actor: Actor, id: string, status: Extract<UserStatus, 'ACTIVE' | 'DEACTIVATED'>): Promise<UserRow> {
  return scope.write(async (tx) => {
    await serializeOwnerChanges(tx);
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
    await serializeOwnerChanges(tx);
    const target = await lockUser(tx, id);
    if (target.id === actor.userId) throw forbidden('You cannot delete yourself');
    assertCanManage(actor, target);
    if (target.role === 'OWNER') await assertAnotherOwner(tx, target.id);
    await tx.delete(users).where(eq(users.id, id));
    return { id };
  });
}

/**
 * Changes that may take an OWNER away (role, status, deletion) take this tenant-wide lock before any
 * row: two OWNERs demoting each other at once then queue up, instead of each holding its target's row
 * while waiting for the other's (a deadlock Postgres breaks after a second, in chains: 503s).
 */
async function serializeOwnerChanges(tx: Tx) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('owners:' || current_setting('app.tenant_id'), 0))`);
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
