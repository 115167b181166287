import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { assertCanManage, ROLE_RANK, type Actor } from '../../auth/roles.js';
import type { TenantRole } from '../../auth/tokens.js';
import { ssoConnections, type SsoConnectionRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { badInput, notFound, type FieldError } from '../../errors.js';
import { outboundUrlSchema, type OutboundPolicy } from '../../integrations/outbound-policy.js';
import type { SecretBox } from '../../integrations/secrets.js';
import { fields, validate } from '../../validation.js';
import { certificateInfo, normalizeCertificate, parseIdpMetadata, SamlInputError } from './saml-metadata.js';

/**
 * SSO connections: the identity providers a tenant's people sign in with (OWNER/ADMIN configure
 * them). The OIDC client secret is encrypted like integration credentials, bound to the row, and
 * never returned. Role rules: nobody configures a role above their own for new people, so only an
 * OWNER can map anyone to OWNER; an ADMIN can't change a connection an OWNER mapped to OWNER. And as
 * an identity provider asserts whatever email and subject it likes, a connection signs in no account
 * above the role of whoever last changed what it trusts (`configuredByRole`, checked in sign-in.ts):
 * an ADMIN pointing a connection at their own IdP can't sign in as an OWNER.
 */

const ROLES = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'] as const;

/** What the client secret of a connection is bound to (AES-GCM additional data). */
export const ssoSecretBinding = (tenantId: string, connectionId: string) => `${tenantId}/sso/${connectionId}/client-secret`;


const mapping = z
  .array(z.object({ value: z.string().trim().min(1, 'Must not be empty').max(200, 'At most 200 characters'), role: z.enum(ROLES) }))
  .max(100, 'At most 100 entries');
const scopes = z
  .string()
  .trim()
  .max(500, 'At most 500 characters')
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'Space-separated scope names')
  .refine((s) => s.split(' ').includes('openid'), 'Must include openid');
const secret = z.string().min(1, 'Must not be empty').max(1000, 'At most 1000 characters');
const clientId = z.string().trim().min(1, 'Must not be empty').max(500, 'At most 500 characters');
const claimName = z.string().trim().min(1).max(100, 'At most 100 characters').regex(/^[A-Za-z0-9_:.\/-]+$/, 'A claim name');

const createInput = (policy: OutboundPolicy) =>
  z.object({
    name: fields.name,
    issuer: outboundUrlSchema(policy),
    clientId,
    clientSecret: secret,
    scopes: scopes.nullish(),
    defaultRole: z.enum(ROLES).nullish(),
    roleClaim: claimName.nullish(),
    roleMapping: mapping.nullish(),
    enabled: z.boolean().nullish(),
  });
const updateInput = (policy: OutboundPolicy) =>
  z.object({
    name: fields.name.nullish(),
    issuer: outboundUrlSchema(policy).nullish(),
    clientId: clientId.nullish(),
    clientSecret: secret.nullish(),
    scopes: scopes.nullish(),
    defaultRole: z.enum(ROLES).nullish(),
    roleClaim: claimName.nullable().optional(),
    roleMapping: mapping.nullish(),
    enabled: z.boolean().nullish(),
    ...samlFields,
  });

// SAML: the identity provider's settings, as metadata XML or as fields (fields win).
const samlUrl = z
  .string()
  .trim()
  .max(2000, 'At most 2000 characters')
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'An http(s) URL');
const samlFields = {
  idpMetadataXml: z.string().min(1, 'Must not be empty').max(200_000, 'At most 200000 characters').nullish(),
  idpEntityId: z.string().trim().min(1, 'Must not be empty').max(1000, 'At most 1000 characters').nullish(),
  idpSsoUrl: samlUrl.nullish(),
  idpCertificates: z.array(z.string().max(20_000, 'At most 20000 characters')).min(1, 'At least one certificate').max(5, 'At most 5 certificates').nullish(),
  allowIdpInitiated: z.boolean().nullish(),
  clockSkewSeconds: z.number().int().min(0, 'At least 0').max(300, 'At most 300').nullish(),
};
const createSamlInput = z.object({
  name: fields.name,
  ...samlFields,
  defaultRole: z.enum(ROLES).nullish(),
  roleClaim: claimName.nullish(),
  roleMapping: mapping.nullish(),
  enabled: z.boolean().nullish(),
});

interface SamlSettings {
  samlIdpEntityId: string;
  samlIdpSsoUrl: string;
  samlIdpCertificates: string[];
}

type SamlFieldsInput = { [K in keyof typeof samlFields]?: z.infer<(typeof samlFields)[K]> };

/**
 * The IdP settings from metadata and/or fields, merged over `current` (an update). Malformed
 * metadata, a bad certificate or a missing setting is BAD_USER_INPUT naming the field.
 */
function samlSettings(input: SamlFieldsInput, current?: Partial<SamlSettings>): SamlSettings {
  const errors: FieldError[] = [];
  let fromMetadata: { entityId?: string; ssoUrl?: string; certificates?: string[] } = {};
  if (input.idpMetadataXml) {
    try {
      const md = parseIdpMetadata(input.idpMetadataXml);
      fromMetadata = { entityId: md.entityId, ssoUrl: md.ssoUrl, certificates: md.certificates.length ? md.certificates : undefined };
      if (md.ssoUrl && !samlUrl.safeParse(md.ssoUrl).success) errors.push({ field: 'idpMetadataXml', message: 'Its HTTP-Redirect SingleSignOnService Location is not an http(s) URL' });
      if (md.entityId.length > 1000) errors.push({ field: 'idpMetadataXml', message: 'Its entityID is longer than 1000 characters' });
    } catch (err) {
      if (!(err instanceof SamlInputError)) throw err;
      errors.push({ field: 'idpMetadataXml', message: err.message });
    }
  }
  const entityId = input.idpEntityId ?? fromMetadata.entityId ?? current?.samlIdpEntityId;
  const ssoUrl = input.idpSsoUrl ?? fromMetadata.ssoUrl ?? current?.samlIdpSsoUrl;
  const rawCerts = input.idpCertificates ?? fromMetadata.certificates ?? current?.samlIdpCertificates;
  const certField = input.idpCertificates ? 'idpCertificates' : 'idpMetadataXml';
  const certificates: string[] = [];
  (rawCerts ?? []).forEach((c, i) => {
    try {
      certificates.push(normalizeCertificate(c).pem);
    } catch (err) {
      if (!(err instanceof SamlInputError)) throw err;
      errors.push({ field: input.idpCertificates ? `idpCertificates.${i}` : certField, message: err.message });
    }
  });
  if (errors.length === 0) {
    const missing = ' (or give idpMetadataXml with it)';
    if (!entityId) errors.push({ field: 'idpEntityId', message: `Required${missing}` });
    if (!ssoUrl) errors.push({ field: 'idpSsoUrl', message: `Required: an HTTP-Redirect SingleSignOnService${missing}` });
    if (!rawCerts?.length) errors.push({ field: 'idpCertificates', message: `Required: the IdP's signing certificate${missing}` });
    if (certificates.length > 5) errors.push({ field: certField, message: 'At most 5 certificates' });
  }
  if (errors.length) throw badInput(errors);
  return { samlIdpEntityId: entityId!, samlIdpSsoUrl: ssoUrl!, samlIdpCertificates: certificates };
}

const toMap = (list: { value: string; role: TenantRole }[]) => Object.fromEntries(list.map((m) => [m.value, m.role])) as Record<string, TenantRole>;

/** Every role a connection can give: the default and each mapped one. Nobody may configure one above their own role. */
function assertMayGrant(actor: Actor, defaultRole: TenantRole, roleMapping: Record<string, TenantRole>) {
  for (const role of new Set([defaultRole, ...Object.values(roleMapping)])) assertCanManage(actor, { role: 'VIEWER' }, role);
}

/** The columns every new connection sets the same way, after checking the actor may grant its roles. */
function newConnectionValues(
  actor: Actor,
  input: { name: string; enabled?: boolean | null; defaultRole?: TenantRole | null; roleClaim?: string | null; roleMapping?: { value: string; role: TenantRole }[] | null },
) {
  const roleMapping = toMap(input.roleMapping ?? []);
  const defaultRole = input.defaultRole ?? 'MEMBER';
  assertMayGrant(actor, defaultRole, roleMapping);
  return { tenantId: actor.tenantId, name: input.name, enabled: input.enabled ?? true, defaultRole, roleClaim: input.roleClaim ?? null, roleMapping, configuredByRole: actor.role };
}

export function listSsoConnections(scope: Scope): Promise<SsoConnectionRow[]> {
  return scope.read((tx) => tx.select().from(ssoConnections).orderBy(desc(ssoConnections.createdAt), desc(ssoConnections.id)));
}

export async function createOidcConnection(scope: Scope, actor: Actor, deps: { secrets: SecretBox; policy: OutboundPolicy }, raw: unknown): Promise<SsoConnectionRow> {
  const input = validate(createInput(deps.policy), raw);
  const common = newConnectionValues(actor, input);
  return scope.write(async (tx) => {
    const [row] = await tx
      .insert(ssoConnections)
      .values({
        ...common,
        protocol: 'OIDC',
        oidcIssuer: input.issuer,
        oidcClientId: input.clientId,
        oidcClientSecretEncrypted: 'pending',
        oidcScopes: input.scopes ?? 'openid email profile',
      })
      .returning();
    // The ciphertext is bound to the row's id, known only now.
    const [sealed] = await tx
      .update(ssoConnections)
      .set({ oidcClientSecretEncrypted: deps.secrets.encrypt(input.clientSecret, ssoSecretBinding(actor.tenantId, row!.id)) })
      .where(eq(ssoConnections.id, row!.id))
      .returning();
    return sealed!;
  });
}

export async function createSamlConnection(scope: Scope, actor: Actor, raw: unknown): Promise<SsoConnectionRow> {
  const input = validate(createSamlInput, raw);
  const settings = samlSettings(input);
  const common = newConnectionValues(actor, input);
  return scope.write(async (tx) => {
    const [row] = await tx
      .insert(ssoConnections)
      .values({
        ...common,
        protocol: 'SAML',
        ...settings,
        samlAllowIdpInitiated: input.allowIdpInitiated ?? false,
        samlClockSkewSeconds: input.clockSkewSeconds ?? 60,
      })
      .returning();
    return row!;
  });
}

export async function updateSsoConnection(scope: Scope, actor: Actor, deps: { secrets: SecretBox; policy: OutboundPolicy }, id: string, raw: unknown): Promise<SsoConnectionRow> {
  const input = validate(updateInput(deps.policy), raw);
  return scope.write(async (tx) => {
    const [current] = await tx.select().from(ssoConnections).where(eq(ssoConnections.id, id)).for('update');
    if (!current) throw notFound('SSO connection');
    // The connection as it is may already give a role above the actor's (set by an OWNER): hands off.
    assertMayGrant(actor, current.defaultRole, current.roleMapping);
    const roleMapping = input.roleMapping ? toMap(input.roleMapping) : current.roleMapping;
    const defaultRole = input.defaultRole ?? current.defaultRole;
    assertMayGrant(actor, defaultRole, roleMapping);
    // Each protocol's settings only on its own connections.
    const oidcOnly = (['issuer', 'clientId', 'clientSecret', 'scopes'] as const).filter((k) => input[k] != null);
    const samlOnly = (['idpMetadataXml', 'idpEntityId', 'idpSsoUrl', 'idpCertificates', 'allowIdpInitiated', 'clockSkewSeconds'] as const).filter((k) => input[k] != null);
    const misplaced = current.protocol === 'SAML' ? oidcOnly : samlOnly;
    if (misplaced.length) throw badInput(misplaced.map((field) => ({ field, message: `Not a setting of ${current.protocol} connections` })));
    const saml =
      current.protocol === 'SAML' && (input.idpMetadataXml || input.idpEntityId || input.idpSsoUrl || input.idpCertificates)
        ? samlSettings(input, { samlIdpEntityId: current.samlIdpEntityId ?? undefined, samlIdpSsoUrl: current.samlIdpSsoUrl ?? undefined, samlIdpCertificates: current.samlIdpCertificates ?? undefined })
        : {};
    // Anything but its name and on/off changes whom the connection trusts: it now trusts up to the actor's role.
    const trustChanged = Object.entries(input).some(([k, v]) => v !== undefined && k !== 'name' && k !== 'enabled');
    const [row] = await tx
      .update(ssoConnections)
      .set({
        configuredByRole: trustChanged ? actor.role : undefined,
        name: input.name ?? undefined,
        enabled: input.enabled ?? undefined,
        oidcIssuer: input.issuer ?? undefined,
        oidcClientId: input.clientId ?? undefined,
        oidcClientSecretEncrypted: input.clientSecret ? deps.secrets.encrypt(input.clientSecret, ssoSecretBinding(current.tenantId, id)) : undefined,
        oidcScopes: input.scopes ?? undefined,
        defaultRole,
        roleClaim: input.roleClaim === undefined ? undefined : input.roleClaim,
        roleMapping,
        ...saml,
        samlAllowIdpInitiated: input.allowIdpInitiated ?? undefined,
        samlClockSkewSeconds: input.clockSkewSeconds ?? undefined,
        updatedAt: new Date(),
      })
      .where(eq(ssoConnections.id, id))
      .returning();
    return row!;
  });
}

export function deleteSsoConnection(scope: Scope, actor: Actor, id: string): Promise<{ id: string }> {
  return scope.write(async (tx) => {
    const [current] = await tx.select().from(ssoConnections).where(eq(ssoConnections.id, id)).for('update');
    if (!current) throw notFound('SSO connection');
    assertMayGrant(actor, current.defaultRole, current.roleMapping);
    await tx.delete(ssoConnections).where(eq(ssoConnections.id, id));
    return { id };
  });
}

export async function getSsoConnection(scope: Scope, id: string): Promise<SsoConnectionRow> {
  const [row] = await scope.read((tx) => tx.select().from(ssoConnections).where(eq(ssoConnections.id, id)));
  if (!row) throw notFound('SSO connection');
  return row;
}

/** The role a new person gets: the highest role the mapping gives any value of the role claim, else the default. */
export function roleFor(connection: Pick<SsoConnectionRow, 'defaultRole' | 'roleClaim' | 'roleMapping'>, claims: Record<string, unknown>): TenantRole {
  if (!connection.roleClaim) return connection.defaultRole;
  const raw = claims[connection.roleClaim];
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
  const mapped = values.filter((v) => Object.hasOwn(connection.roleMapping, v)).map((v) => connection.roleMapping[v]!);
  return mapped.length ? mapped.reduce((a, b) => (ROLE_RANK[b] > ROLE_RANK[a] ? b : a)) : connection.defaultRole;
}

/**
 * test-connection for SAML (nothing to call: the browser carries every message): the settings are
 * complete and at least one certificate is valid now. Certificates that expired, aren't valid yet or
 * expire within 30 days are named in the message (a warning when another one is valid).
 */
export function testSamlConnection(conn: SsoConnectionRow): { ok: boolean; message: string | null; issuer: string | null } {
  const now = Date.now();
  const certs = (conn.samlIdpCertificates ?? []).map((pem) => certificateInfo(pem));
  const failures: string[] = [];
  const warnings: string[] = [];
  if (!conn.samlIdpEntityId || !conn.samlIdpSsoUrl) failures.push('The identity provider’s entity id or SSO URL is missing');
  if (!certs.some((c) => c.notBefore.getTime() <= now && now < c.notAfter.getTime())) failures.push(certs.length ? 'No certificate is valid now' : 'No signing certificate');
  for (const c of certs) {
    const name = `Certificate ${c.fingerprintSha256.slice(0, 23)}…`;
    if (c.notAfter.getTime() <= now) warnings.push(`${name} expired on ${c.notAfter.toISOString()}`);
    else if (c.notBefore.getTime() > now) warnings.push(`${name} is valid only from ${c.notBefore.toISOString()}`);
    else if (c.notAfter.getTime() - now < 30 * 86_400_000) warnings.push(`${name} expires on ${c.notAfter.toISOString()}`);
  }
  const message = [...failures, ...warnings].join('; ');
  return { ok: failures.length === 0, message: message || null, issuer: conn.samlIdpEntityId };
}
