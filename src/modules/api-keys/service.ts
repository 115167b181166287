import crypto from 'node:crypto';
import { and, count, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { generateApiKey } from '../../auth/api-keys.js';
import { assertCanManage, type Actor } from '../../auth/roles.js';
import { apiKeys, apiKeyUsage, type ApiKeyRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { conflict, notFound } from '../../errors.js';
import { fields, validate } from '../../validation.js';

/** A tenant holds at most this many active (unrevoked, unexpired) keys. */
export const MAX_ACTIVE_API_KEYS = 100;

export type ApiKeyView = ApiKeyRow & { lastUsedAt: Date | null; lastUsedIp: string | null; status: 'ACTIVE' | 'REVOKED' | 'EXPIRED' };
export interface CreatedApiKey {
  apiKey: ApiKeyView;
  key: string;
}

const createInput = z.object({
  name: fields.name,
  role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']),
  expiresAt: z
    .union([z.date(), z.string()])
    .pipe(z.coerce.date())
    .refine((d) => d.getTime() > Date.now(), 'Must be in the future')
    .nullish(),
});

const statusOf = (row: ApiKeyRow): ApiKeyView['status'] => (row.revokedAt ? 'REVOKED' : row.expiresAt && row.expiresAt.getTime() <= Date.now() ? 'EXPIRED' : 'ACTIVE');
const view = (row: ApiKeyRow, usage?: { lastUsedAt: Date | null; lastUsedIp: string | null } | null): ApiKeyView => ({
  ...row,
  lastUsedAt: usage?.lastUsedAt ?? null,
  lastUsedIp: usage?.lastUsedIp ?? null,
  status: statusOf(row),
});

/**
 * Creates a key: 1. its role may not exceed the creator's; 2. the tenant's active keys stay under
 * MAX_ACTIVE_API_KEYS; 3. the key is made with its row's id in it and only its hash is stored. The
 * permission map keeps API keys themselves from calling this.
 */
export async function createApiKey(scope: Scope, actor: Actor, input: z.input<typeof createInput>): Promise<CreatedApiKey> {
  const data = validate(createInput, input);
  assertCanManage(actor, { role: data.role }, data.role);
  const id = crypto.randomUUID();
  const { key, hash, prefix } = generateApiKey(id, actor.tenantId);
  const row = await scope.write(async (tx) => {
    // Serialises concurrent creations in the tenant, so the cap holds.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('api-keys:' || ${actor.tenantId}, 0))`);
    const [active] = await tx.select({ n: count() }).from(apiKeys).where(and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`))));
    if ((active?.n ?? 0) >= MAX_ACTIVE_API_KEYS) throw conflict(`A tenant may hold at most ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first`);
    const [inserted] = await tx
      .insert(apiKeys)
      .values({ tenantId: actor.tenantId, id, name: data.name, role: data.role, prefix, keyHash: hash, createdBy: actor.apiKeyId ? null : actor.userId, expiresAt: data.expiresAt ?? null })
      .returning();
    await tx.insert(apiKeyUsage).values({ tenantId: actor.tenantId, apiKeyId: id });
    return inserted!;
  });
  return { apiKey: view(row), key };
}

/** The tenant's keys, newest first; revoked ones only when asked for. */
export async function listApiKeys(scope: Scope, includeRevoked: boolean): Promise<ApiKeyView[]> {
  const rows = await scope.read((tx) =>
    tx
      .select({ key: apiKeys, lastUsedAt: apiKeyUsage.lastUsedAt, lastUsedIp: apiKeyUsage.lastUsedIp })
      .from(apiKeys)
      .leftJoin(apiKeyUsage, and(eq(apiKeyUsage.tenantId, apiKeys.tenantId), eq(apiKeyUsage.apiKeyId, apiKeys.id)))
      .where(includeRevoked ? undefined : isNull(apiKeys.revokedAt))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
      .limit(1000),
  );
  return rows.map((r) => view(r.key, r));
}

/** Revokes at once (open sockets of the key close: a principal change). Not for a key above the caller's role. */
export async function revokeApiKey(scope: Scope, actor: Actor, id: string): Promise<ApiKeyView> {
  return scope.write(async (tx) => {
    const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    if (!row) throw notFound('API key');
    assertCanManage(actor, row);
    if (row.revokedAt) return view(row);
    const [updated] = await tx.update(apiKeys).set({ revokedAt: new Date(), updatedAt: new Date() }).where(eq(apiKeys.id, id)).returning();
    return view(updated!);
  });
}
