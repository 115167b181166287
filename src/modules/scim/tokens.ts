import crypto from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../../auth/roles.js';
import type { AppDb } from '../../db/client.js';
import { scimTokens, type ScimTokenRow } from '../../db/schema.js';
import { actors, inTenant, type RequestInfo, type Scope } from '../../db/tenant-transaction.js';
import { AppError, notFound, unauthenticated } from '../../errors.js';
import { fields, validate } from '../../validation.js';

/**
 * SCIM bearer tokens: `scim_<tenant uuid>_<43 base64url chars>`. The tenant part lets a request be
 * looked up under that tenant's RLS (as refresh tokens are); only the SHA-256 is stored, so a token
 * with another tenant's id in front finds nothing there.
 */
const TOKEN = /^scim_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export interface ScimTokenWithSecret {
  scimToken: ScimTokenRow;
  token: string;
  baseUrl: string;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

export function listScimTokens(scope: Scope): Promise<ScimTokenRow[]> {
  return scope.read((tx) => tx.select().from(scimTokens).orderBy(desc(scimTokens.createdAt), desc(scimTokens.id)));
}

export async function createScimToken(scope: Scope, actor: Actor, rawName: string, publicUrl: string): Promise<ScimTokenWithSecret> {
  const { name } = validate(z.object({ name: fields.name }), { name: rawName });
  const token = `scim_${actor.tenantId}_${crypto.randomBytes(32).toString('base64url')}`;
  const row = await scope.write(async (tx) => {
    const [r] = await tx.insert(scimTokens).values({ tenantId: actor.tenantId, name, tokenHash: sha256(token), createdBy: actor.userId }).returning();
    return r!;
  });
  return { scimToken: row, token, baseUrl: `${publicUrl}/scim/v2` };
}

export function revokeScimToken(scope: Scope, id: string): Promise<ScimTokenRow> {
  return scope.write(async (tx) => {
    const [row] = await tx.select().from(scimTokens).where(eq(scimTokens.id, id)).for('update');
    if (!row) throw notFound('SCIM token');
    if (row.revokedAt) return row;
    const [revoked] = await tx.update(scimTokens).set({ revokedAt: new Date() }).where(eq(scimTokens.id, id)).returning();
    return revoked!;
  });
}

/** Who a SCIM request acts as: the token's tenant and the token (the audit trail's SCIM actor). */
export interface ScimCaller {
  tenantId: string;
  tokenId: string;
}

/**
 * The `Authorization: Bearer scim_…` of a SCIM request → its tenant and token, or UNAUTHENTICATED
 * (unknown, malformed, revoked, or another tenant's id in front of a real token: all look the same).
 * A suspended tenant's directory is refused with FORBIDDEN.
 */
export async function authenticateScim(db: AppDb, authorization: string | undefined, request: RequestInfo): Promise<ScimCaller> {
  const m = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '');
  const parsed = m?.[1] ? TOKEN.exec(m[1]) : null;
  if (!m?.[1] || !parsed?.[1]) throw unauthenticated('A SCIM bearer token is required');
  const tenantId = parsed[1];
  const found = await inTenant(db, actors.system('scim-auth', tenantId, request), async (tx, session) => {
    const [row] = await tx
      .select({ id: scimTokens.id })
      .from(scimTokens)
      .where(and(eq(scimTokens.tokenHash, sha256(m[1]!)), isNull(scimTokens.revokedAt)));
    return { row, tenantStatus: session.tenantStatus };
  });
  if (!found.row || !found.tenantStatus) throw unauthenticated('Invalid SCIM token');
  if (found.tenantStatus !== 'ACTIVE') throw new AppError('FORBIDDEN', 'This tenant is suspended', { reason: 'TENANT_SUSPENDED' });
  return { tenantId, tokenId: found.row.id };
}
