import { and, eq, isNotNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../../auth/roles.js';
import { endPasswordSessions } from '../../auth/session-service.js';
import type { Tx } from '../../db/client.js';
import { ssoConnections, tenantDomains, tenants, users, type TenantDomainRow, type TenantRow, type UserRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { conflict, forbidden, notFound } from '../../errors.js';
import { validate } from '../../validation.js';

/**
 * Email domains and SSO enforcement.
 *  - An ADMIN claims a domain (PENDING); an OWNER verifies it: the OWNER attests the tenant owns it.
 *    A verified domain belongs to one tenant only (a unique index across tenants), drives
 *    "sign in with your work email" (/auth/sso/start?email=…) and lets SSO link an existing user
 *    whose IdP does not assert email_verified.
 *  - An OWNER enforces SSO: password logins are then refused (FORBIDDEN, reason SSO_REQUIRED) for
 *    everyone but the OWNERs marked break-glass, the way back in when the identity provider is down;
 *    sessions already started with a password end at once (and can't be refreshed), SSO ones stay.
 */

/** Mailbox providers anyone can sign up at: no tenant may claim them. */
const PUBLIC_EMAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'yahoo.com', 'ymail.com', 'icloud.com', 'me.com',
  'mac.com', 'aol.com', 'proton.me', 'protonmail.com', 'gmx.com', 'gmx.de', 'web.de', 'mail.com', 'yandex.com', 'yandex.ru', 'zoho.com', 'fastmail.com',
]);

const domainInput = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, 'At most 253 characters')
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/, 'A domain name such as example.com')
  .refine((d) => !PUBLIC_EMAIL_DOMAINS.has(d), 'A public email provider can’t be claimed');

/** The domain of an email address, lower-cased. */
export const emailDomain = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

export function listTenantDomains(scope: Scope): Promise<TenantDomainRow[]> {
  return scope.read((tx) => tx.select().from(tenantDomains).orderBy(tenantDomains.domain));
}

export function addTenantDomain(scope: Scope, actor: Actor, raw: string): Promise<TenantDomainRow> {
  const domain = validate(z.object({ domain: domainInput }), { domain: raw }).domain;
  return scope.write(async (tx) => {
    const [row] = await tx.insert(tenantDomains).values({ tenantId: actor.tenantId, domain }).onConflictDoNothing().returning();
    if (!row) throw conflict('This tenant has already claimed this domain');
    return row;
  });
}

/** OWNER only (the permission map). CONFLICT if another tenant verified it first. */
export function verifyTenantDomain(scope: Scope, actor: Actor, id: string): Promise<TenantDomainRow> {
  return scope.write(async (tx) => {
    const [row] = await tx.select().from(tenantDomains).where(eq(tenantDomains.id, id)).for('update');
    if (!row) throw notFound('Domain');
    if (row.verifiedAt) return row;
    try {
      return await tx.transaction(async (sp) => {
        const [verified] = await sp.update(tenantDomains).set({ verifiedAt: new Date(), verifiedBy: actor.userId }).where(eq(tenantDomains.id, id)).returning();
        return verified!;
      });
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code === '23505' || (err as { code?: string }).code === '23505') throw conflict('Another tenant has verified this domain');
      throw err;
    }
  });
}

export function removeTenantDomain(scope: Scope, id: string): Promise<{ id: string }> {
  return scope.write(async (tx) => {
    const [row] = await tx.delete(tenantDomains).where(eq(tenantDomains.id, id)).returning({ id: tenantDomains.id });
    if (!row) throw notFound('Domain');
    return row;
  });
}

/** Is this email's domain verified by the transaction's tenant? */
export async function domainVerified(tx: Tx, email: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: tenantDomains.id })
    .from(tenantDomains)
    .where(and(eq(tenantDomains.domain, emailDomain(email)), isNotNull(tenantDomains.verifiedAt)));
  return !!row;
}

/** OWNER only. Enforcing needs an enabled connection, so nobody but break-glass OWNERs is locked out by a typo. */
export function setSsoEnforcement(scope: Scope, actor: Actor, enforced: boolean): Promise<TenantRow> {
  return scope.write(async (tx) => {
    if (enforced) {
      const [conn] = await tx.select({ id: ssoConnections.id }).from(ssoConnections).where(eq(ssoConnections.enabled, true)).limit(1);
      if (!conn) throw conflict('Enable an SSO connection before enforcing SSO');
    }
    const [row] = await tx.update(tenants).set({ ssoEnforced: enforced, updatedAt: new Date() }).where(eq(tenants.id, actor.tenantId)).returning();
    // Enforcing means "only through the identity provider" for sessions already open too.
    if (enforced) await endPasswordSessions(tx);
    return row!;
  });
}

/** OWNER only; only OWNERs can be break-glass. */
export function setSsoBreakGlass(scope: Scope, userId: string, enabled: boolean): Promise<UserRow> {
  return scope.write(async (tx) => {
    const [target] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
    if (!target) throw notFound('User');
    if (enabled && target.role !== 'OWNER') throw forbidden('Only OWNERs can be break-glass accounts');
    const [row] = await tx.update(users).set({ ssoBreakGlass: enabled, updatedAt: new Date() }).where(eq(users.id, userId)).returning();
    // No longer break-glass while SSO is enforced: their password sessions end as everyone else's did.
    if (!enabled && target.ssoBreakGlass) {
      const [tenant] = await tx.select({ enforced: tenants.ssoEnforced }).from(tenants).where(eq(tenants.id, row!.tenantId));
      if (tenant?.enforced) await endPasswordSessions(tx, userId);
    }
    return row!;
  });
}
