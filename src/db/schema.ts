/**
 * Tables. Every tenant-owned table:
 *  - has `tenant_id NOT NULL` and keys that start with it (FKs are composite, so a row can never
 *    point into another tenant even though FK checks bypass RLS — ARCHITECTURE invariant 3);
 *  - carries the `tenant_isolation` policy below (USING and WITH CHECK), with RLS enabled here and
 *    FORCED in migrations/0001_roles_and_security.sql (drizzle-kit does not emit FORCE).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgPolicy,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** The tenant of the current transaction, set by withTenant. Evaluated once per query (initplan). */
export const currentTenantId = sql`(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

const tenantIsolation = () =>
  pgPolicy('tenant_isolation', { as: 'permissive', for: 'all', using: sql`tenant_id = ${currentTenantId}`, withCheck: sql`tenant_id = ${currentTenantId}` });

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
};

export const tenantStatus = pgEnum('tenant_status', ['ACTIVE', 'SUSPENDED']);
export const tenantPlan = pgEnum('tenant_plan', ['FREE', 'STARTER', 'PRO', 'ENTERPRISE']);
export const tenantRole = pgEnum('tenant_role', ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']);
export const userStatus = pgEnum('user_status', ['ACTIVE', 'INVITED', 'DEACTIVATED']);
export const organizationRole = pgEnum('organization_role', ['ADMIN', 'MEMBER']);

/** The tenant itself. Its users may read their own row; creating and suspending go through platform.* functions. */
export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    status: tenantStatus('status').notNull().default('ACTIVE'),
    plan: tenantPlan('plan').notNull().default('FREE'),
    /** Audit entries older than this are pruned by the scheduled audit-prune job. */
    auditRetentionDays: integer('audit_retention_days').notNull().default(365),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('tenants_slug_key').on(t.slug),
    pgPolicy('tenant_isolation', { as: 'permissive', for: 'all', using: sql`id = ${currentTenantId}`, withCheck: sql`id = ${currentTenantId}` }),
  ],
).enableRLS();

export const users = pgTable(
  'users',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: tenantRole('role').notNull().default('MEMBER'),
    status: userStatus('status').notNull().default('ACTIVE'),
    passwordHash: text('password_hash'),
    /** Set when the user is mirrored from an integration's provider (see the integration engine). */
    externalSource: text('external_source'),
    externalId: text('external_id'),
    externalVersion: bigint('external_version', { mode: 'number' }),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('users_tenant_email_key').on(t.tenantId, sql`lower(${t.email})`),
    uniqueIndex('users_tenant_external_key').on(t.tenantId, t.externalSource, t.externalId),
    index('users_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    tenantIsolation(),
  ],
).enableRLS();

export const organizations = pgTable(
  'organizations',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('organizations_tenant_name_key').on(t.tenantId, sql`lower(${t.name})`),
    index('organizations_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    tenantIsolation(),
  ],
).enableRLS();

export const organizationMemberships = pgTable(
  'organization_memberships',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    organizationId: uuid('organization_id').notNull(),
    userId: uuid('user_id').notNull(),
    role: organizationRole('role').notNull().default('MEMBER'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.organizationId, t.userId] }),
    foreignKey({ columns: [t.tenantId, t.organizationId], foreignColumns: [organizations.tenantId, organizations.id] }).onDelete('cascade'),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete('cascade'),
    index('organization_memberships_user_idx').on(t.tenantId, t.userId),
    tenantIsolation(),
  ],
).enableRLS();

/** Opaque refresh tokens, stored as SHA-256 hashes; a family is one login's chain of rotations. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    userId: uuid('user_id').notNull(),
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true, precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete('cascade'),
    uniqueIndex('refresh_tokens_hash_key').on(t.tenantId, t.tokenHash),
    index('refresh_tokens_family_idx').on(t.tenantId, t.familyId),
    tenantIsolation(),
  ],
).enableRLS();

export type TenantRow = typeof tenants.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type OrganizationRow = typeof organizations.$inferSelect;
export type MembershipRow = typeof organizationMemberships.$inferSelect;

// ─── Integration health (issue #5) ─────────────────────────────────────────────────────────────
// Keyed by (tenant_id, integration_id). The composite FK to integrations is added at merge
// (see the TODO in the custom migration); until then integration ids are opaque uuids.

export const circuitState = pgEnum('circuit_state', ['CLOSED', 'OPEN', 'HALF_OPEN', 'ISOLATED']);
export const integrationHealthStatus = pgEnum('integration_health_status', ['HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN']);

/**
 * The circuit breaker state every process sees (ARCHITECTURE invariant 9). Written on each local
 * breaker transition and by the admin reset/isolate mutations; see src/integrations/circuit-registry.ts
 * for how processes reconcile it with their in-memory breakers.
 */
export const integrationCircuits = pgTable(
  'integration_circuits',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    integrationId: uuid('integration_id').notNull(),
    state: circuitState('state').notNull().default('CLOSED'),
    openedAt: timestamp('opened_at', { withTimezone: true, precision: 3 }),
    reason: text('reason'),
    /** True while an admin's isolate holds the circuit open; automatic transitions never override it. */
    manual: boolean('manual').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedByProcess: text('updated_by_process'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId] }), tenantIsolation()],
).enableRLS();

/** Outbound call outcomes in per-minute buckets: one UPSERT per integration per flush, not per call. */
export const integrationCallStats = pgTable(
  'integration_call_stats',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    integrationId: uuid('integration_id').notNull(),
    bucket: timestamp('bucket', { withTimezone: true, precision: 3 }).notNull(),
    successes: integer('successes').notNull().default(0),
    failures: integer('failures').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId, t.bucket] }), tenantIsolation()],
).enableRLS();

/** The current health of each integration and the last health-check result that fed it. */
export const integrationHealth = pgTable(
  'integration_health',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    integrationId: uuid('integration_id').notNull(),
    status: integrationHealthStatus('status').notNull().default('UNKNOWN'),
    reason: text('reason'),
    since: timestamp('since', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    signals: jsonb('signals').notNull().default({}),
    lastCheckOk: boolean('last_check_ok'),
    lastCheckAt: timestamp('last_check_at', { withTimezone: true, precision: 3 }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId] }), index('integration_health_status_idx').on(t.tenantId, t.status), tenantIsolation()],
).enableRLS();

/** Health history: one row per status change, never per evaluation. */
export const integrationHealthChanges = pgTable(
  'integration_health_changes',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    integrationId: uuid('integration_id').notNull(),
    status: integrationHealthStatus('status').notNull(),
    previousStatus: integrationHealthStatus('previous_status'),
    reason: text('reason'),
    signals: jsonb('signals').notNull().default({}),
    changedAt: timestamp('changed_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('integration_health_changes_integration_idx').on(t.tenantId, t.integrationId, t.changedAt),
    tenantIsolation(),
  ],
).enableRLS();

export type IntegrationCircuitRow = typeof integrationCircuits.$inferSelect;
export type IntegrationHealthRow = typeof integrationHealth.$inferSelect;
export type IntegrationHealthChangeRow = typeof integrationHealthChanges.$inferSelect;

// ─── Audit trail (issue #3) ────────────────────────────────────────────────────────────────────
// Written only by the audit.* SECURITY DEFINER functions (row trigger and auth events, see the
// custom migration); the app role may only SELECT. Each tenant's entries form a hash chain in
// `seq` order: hash = sha256(prev_hash || canonical entry), checked by audit.verify_chain().

export const actorType = pgEnum('actor_type', ['USER', 'PLATFORM', 'INTEGRATION', 'SYSTEM']);

export const auditLogs = pgTable(
  'audit_logs',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    /** Position in the tenant's chain: 1, 2, 3, … with no gaps (pruning removes a prefix). */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    /** Never decreases along the chain (the appender takes max(clock, previous)), so time maps to seq. */
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 6 }).notNull(),
    actorType: actorType('actor_type').notNull(),
    actorId: text('actor_id'),
    /** INSERT, UPDATE, DELETE for row changes; LOGIN_SUCCEEDED, LOGIN_FAILED, … for auth events. */
    action: text('action').notNull(),
    /** The table name for row changes (users, organizations, …); SESSION / USER for auth events. */
    entityType: text('entity_type').notNull(),
    entityId: text('entity_id'),
    /** Row changes: { column: { old, new } } (secret columns as { redacted: true }); events: details. */
    changes: jsonb('changes').notNull().default({}),
    requestId: text('request_id'),
    clientIp: text('client_ip'),
    userAgent: text('user_agent'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.seq] }),
    // Each filter of auditLogs has an index ending in seq, so "newest first, limit N" is an index scan.
    index('audit_logs_entity_idx').on(t.tenantId, t.entityType, t.entityId, t.seq),
    index('audit_logs_actor_idx').on(t.tenantId, t.actorId, t.seq),
    index('audit_logs_action_idx').on(t.tenantId, t.action, t.seq),
    index('audit_logs_time_idx').on(t.tenantId, t.occurredAt, t.seq),
    tenantIsolation(),
  ],
).enableRLS();

/** The end of each tenant's chain; its row lock serializes appends per tenant. */
export const auditChainHeads = pgTable(
  'audit_chain_heads',
  {
    tenantId: uuid('tenant_id').notNull().primaryKey().references(() => tenants.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull().default(0),
    hash: text('hash').notNull(),
    lastAt: timestamp('last_at', { withTimezone: true, precision: 6 }),
    /** After pruning: the last removed entry, which anchors the first remaining one. */
    anchorSeq: bigint('anchor_seq', { mode: 'number' }).notNull().default(0),
    anchorHash: text('anchor_hash').notNull(),
  },
  () => [tenantIsolation()],
).enableRLS();

export type AuditLogRow = typeof auditLogs.$inferSelect;
