import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { hashPassword } from '../../auth/passwords.js';
import type { AppDb } from '../../db/client.js';
import { actors, inPlatform, type Scope } from '../../db/tenant-transaction.js';
import { tenants, type TenantRow } from '../../db/schema.js';
import { notFound } from '../../errors.js';
import { fields, validate } from '../../validation.js';

type Plan = TenantRow['plan'];

export async function getTenant(scope: Scope): Promise<TenantRow> {
  const [row] = await scope.read((tx) => tx.select().from(tenants));
  if (!row) throw notFound('Tenant');
  return row;
}

const updateInput = z.object({ name: fields.name, auditRetentionDays: z.number().int().min(30, 'At least 30').max(3650, 'At most 3650').nullish() });

export function updateTenant(scope: Scope, input: z.input<typeof updateInput>): Promise<TenantRow> {
  const data = validate(updateInput, input);
  return scope.write(async (tx) => {
    const [row] = await tx.update(tenants).set({ name: data.name, auditRetentionDays: data.auditRetentionDays ?? undefined, updatedAt: new Date() }).returning();
    if (!row) throw notFound('Tenant');
    return row;
  });
}

// Platform operator operations: each calls one narrow SECURITY DEFINER function (see
// migrations/0001_roles_and_security.sql); the request itself stays under RLS with no tenant.

const createInput = z.object({
  slug: fields.slug,
  name: fields.name,
  plan: z.enum(['FREE', 'STARTER', 'PRO', 'ENTERPRISE']).nullish(),
  ownerEmail: fields.email,
  ownerName: fields.name,
  ownerPassword: fields.password.nullish(),
});

export async function createTenant(db: AppDb, operatorId: string, input: z.input<typeof createInput>): Promise<TenantRow> {
  const data = validate(createInput, input);
  const hash = data.ownerPassword ? await hashPassword(data.ownerPassword) : null;
  const rows = await inPlatform(db, actors.platform(operatorId), (tx) =>
    tx.execute(sql`select * from platform.create_tenant(${data.slug}, ${data.name}, ${data.plan ?? 'FREE'}::tenant_plan, ${data.ownerEmail}, ${data.ownerName}, ${hash})`),
  );
  return toTenantRow(rows[0]);
}

export async function listAllTenants(db: AppDb, operatorId: string): Promise<TenantRow[]> {
  const rows = await inPlatform(db, actors.platform(operatorId), (tx) => tx.execute(sql`select * from platform.list_tenants()`));
  return rows.map(toTenantRow);
}

export async function setTenantStatus(db: AppDb, operatorId: string, id: string, status: TenantRow['status']): Promise<TenantRow> {
  const rows = await inPlatform(db, actors.platform(operatorId), (tx) => tx.execute(sql`select * from platform.set_tenant_status(${id}::uuid, ${status}::tenant_status)`));
  if (!rows[0]) throw notFound('Tenant');
  return toTenantRow(rows[0]);
}

export async function setTenantPlan(db: AppDb, operatorId: string, id: string, plan: Plan): Promise<TenantRow> {
  const rows = await inPlatform(db, actors.platform(operatorId), (tx) => tx.execute(sql`select * from platform.set_tenant_plan(${id}::uuid, ${plan}::tenant_plan)`));
  if (!rows[0]) throw notFound('Tenant');
  return toTenantRow(rows[0]);
}

/** Raw rows from functions come back with snake_case columns and string timestamps. */
function toTenantRow(r: Record<string, unknown> | undefined): TenantRow {
  if (!r) throw notFound('Tenant');
  return {
    id: String(r.id),
    slug: String(r.slug),
    name: String(r.name),
    status: r.status as TenantRow['status'],
    plan: r.plan as Plan,
    auditRetentionDays: Number(r.audit_retention_days),
    ssoEnforced: r.sso_enforced === true,
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

