/**
 * Tables. Every tenant-owned table:
 *  - has `tenant_id NOT NULL` and keys that start with it (FKs are composite, so a row can never
 *    point into another tenant even though FK checks bypass RLS — ARCHITECTURE invariant 3);
 *  - carries the `tenant_isolation` policy below (USING and WITH CHECK), with RLS enabled here and
 *    FORCED in migrations/0001_roles_and_security.sql (drizzle-kit does not emit FORCE).
 */
import { sql } from 'drizzle-orm';
import {
  cidr,
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
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

/** The tenant of the current transaction, set by app_begin (src/db/tenant-transaction.ts). Evaluated once per query (initplan). */
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
    /** Single sign-on enforced: password logins are refused except for break-glass OWNERs (users.sso_break_glass). */
    ssoEnforced: boolean('sso_enforced').notNull().default(false),
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
    /** The provider's updated_at of the version we hold (ties on version are broken by it). */
    externalUpdatedAt: timestamp('external_updated_at', { withTimezone: true, precision: 3 }),
    /** The tenant's directory's id for this user, set and matched by SCIM (`externalId`). */
    scimExternalId: text('scim_external_id'),
    /** An OWNER who may still sign in with a password while SSO is enforced (the way back in when the IdP is down). */
    ssoBreakGlass: boolean('sso_break_glass').notNull().default(false),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('users_tenant_email_key').on(t.tenantId, sql`lower(${t.email})`),
    uniqueIndex('users_tenant_external_key').on(t.tenantId, t.externalSource, t.externalId),
    uniqueIndex('users_tenant_scim_external_key').on(t.tenantId, t.scimExternalId),
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
    /** The tenant's directory's id for this group, set and matched by SCIM (`externalId`). */
    scimExternalId: text('scim_external_id'),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('organizations_tenant_scim_external_key').on(t.tenantId, t.scimExternalId),
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

// ─── Integration engine (issue #4) ────────────────────────────────────────────────────────────

export const integrationProvider = pgEnum('integration_provider', ['USER_SERVICE', 'PAYMENT_SERVICE', 'COMMUNICATION_SERVICE']);
export const webhookEventStatus = pgEnum('webhook_event_status', ['RECEIVED', 'PROCESSING', 'PROCESSED', 'FAILED', 'DEAD']);
export const subscriptionStatus = pgEnum('subscription_status', ['ACTIVE', 'PAST_DUE', 'CANCELED']);
export const invoiceStatus = pgEnum('invoice_status', ['PAID', 'OPEN', 'FAILED']);
export const deliveryStatus = pgEnum('delivery_status', ['SENT', 'DELIVERED', 'BOUNCED', 'FAILED']);

/**
 * One tenant's connection to one provider. Credentials and webhook secrets are AES-256-GCM
 * ciphertexts (src/integrations/secrets.ts), bound to the row's tenant and id; they never leave the
 * service layer. During a rotation the previous secret keeps verifying until `previous_secret_expires_at`.
 */
export const integrations = pgTable(
  'integrations',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    provider: integrationProvider('provider').notNull(),
    name: text('name').notNull(),
    baseUrl: text('base_url').notNull(),
    credentialsEncrypted: text('credentials_encrypted').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    webhookSecretEncrypted: text('webhook_secret_encrypted').notNull(),
    previousWebhookSecretEncrypted: text('previous_webhook_secret_encrypted'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, precision: 3 }),
    /** Networks webhooks may come from; empty: any sender (the signature still decides). */
    webhookAllowedSources: cidr('webhook_allowed_sources').array().notNull().default(sql`'{}'::cidr[]`),
    /** USER_SERVICE: invite users mirrored from the provider when they first appear (an invitation through the tenant's COMMUNICATION_SERVICE). */
    inviteNewUsers: boolean('invite_new_users').notNull().default(false),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('integrations_tenant_name_key').on(t.tenantId, sql`lower(${t.name})`),
    index('integrations_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    tenantIsolation(),
  ],
).enableRLS();

/** (tenant_id, integration_id) → integrations, named explicitly (generated names pass Postgres's 63-character limit). */
const integrationFk = (table: string, t: { tenantId: AnyPgColumn; integrationId: AnyPgColumn }) =>
  foreignKey({ name: `${table}_integration_fk`, columns: [t.tenantId, t.integrationId], foreignColumns: [integrations.tenantId, integrations.id] }).onDelete('cascade');

/**
 * One event received by webhook, stored raw before it is processed. The dedupe key is the provider's
 * event id (the `webhook-id` of a single delivery, the element's own id in a batch), kept as long as
 * the row is (days, far longer than senders retry).
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    integrationId: uuid('integration_id').notNull(),
    providerEventId: text('provider_event_id').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    /** The delivery's webhook-id and webhook-timestamp (a batch shares one delivery). */
    deliveryId: text('delivery_id').notNull(),
    deliveryTimestamp: timestamp('delivery_timestamp', { withTimezone: true, precision: 3 }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    status: webhookEventStatus('status').notNull().default('RECEIVED'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** What applying it did: created, updated, unchanged, deleted. */
    outcome: text('outcome'),
    processedAt: timestamp('processed_at', { withTimezone: true, precision: 3 }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('webhook_events', t),
    uniqueIndex('webhook_events_dedupe_key').on(t.tenantId, t.integrationId, t.providerEventId),
    index('webhook_events_tenant_received_idx').on(t.tenantId, t.receivedAt, t.id),
    index('webhook_events_integration_status_idx').on(t.tenantId, t.integrationId, t.status),
    tenantIsolation(),
  ],
).enableRLS();

/** Provider-mirrored records share these: which integration, the provider's id and version. */
const mirrored = {
  integrationId: uuid('integration_id').notNull(),
  externalId: text('external_id').notNull(),
  externalVersion: bigint('external_version', { mode: 'number' }).notNull(),
  externalUpdatedAt: timestamp('external_updated_at', { withTimezone: true, precision: 3 }).notNull(),
};

/** The tenant's subscriptions at the payment provider (plan, status, period end). */
export const subscriptions = pgTable(
  'subscriptions',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    ...mirrored,
    customerExternalId: text('customer_external_id'),
    plan: tenantPlan('plan').notNull(),
    status: subscriptionStatus('status').notNull(),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('subscriptions', t),
    uniqueIndex('subscriptions_external_key').on(t.tenantId, t.integrationId, t.externalId),
    tenantIsolation(),
  ],
).enableRLS();

export const invoices = pgTable(
  'invoices',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    ...mirrored,
    subscriptionExternalId: text('subscription_external_id'),
    amountCents: bigint('amount_cents', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: invoiceStatus('status').notNull(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('invoices', t),
    uniqueIndex('invoices_external_key').on(t.tenantId, t.integrationId, t.externalId),
    index('invoices_failed_idx').on(t.tenantId).where(sql`status = 'FAILED'`),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * The tenant's billing flag, derived from its invoices after every invoice change (so the order in
 * which payment events arrive cannot leave it wrong). Tenant-owned, unlike `tenants`, which the
 * app role may not update.
 */
export const billingStatus = pgTable(
  'billing_status',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    /** Set while any invoice is FAILED: when the earliest still-failed invoice failed. */
    paymentFailedAt: timestamp('payment_failed_at', { withTimezone: true, precision: 3 }),
    failedInvoiceCount: integer('failed_invoice_count').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId] }), tenantIsolation()],
).enableRLS();

/** Message delivery log from the communication provider, linked to our user when we know them. */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    ...mirrored,
    /** FK (tenant_id, user_id) → users ON DELETE SET NULL (user_id) is in the custom migration (drizzle can't say "SET NULL (user_id)"). */
    userId: uuid('user_id'),
    userExternalId: text('user_external_id'),
    toEmail: text('to_email').notNull(),
    channel: text('channel').notNull(),
    status: deliveryStatus('status').notNull(),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('notification_deliveries', t),
    uniqueIndex('notification_deliveries_external_key').on(t.tenantId, t.integrationId, t.externalId),
    index('notification_deliveries_user_idx').on(t.tenantId, t.userId),
    tenantIsolation(),
  ],
).enableRLS();

export type IntegrationRow = typeof integrations.$inferSelect;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type NotificationDeliveryRow = typeof notificationDeliveries.$inferSelect;

// ─── Integration health (issue #5) ─────────────────────────────────────────────────────────────
// Keyed by (tenant_id, integration_id), with a composite FK to integrations (ON DELETE CASCADE).



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
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId] }), integrationFk('integration_circuits', t), tenantIsolation()],
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
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId, t.bucket] }), integrationFk('integration_call_stats', t), tenantIsolation()],
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
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId] }), integrationFk('integration_health', t), index('integration_health_status_idx').on(t.tenantId, t.status), tenantIsolation()],
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
    integrationFk('integration_health_changes', t),
    index('integration_health_changes_integration_idx').on(t.tenantId, t.integrationId, t.changedAt),
    tenantIsolation(),
  ],
).enableRLS();

export type IntegrationCircuitRow = typeof integrationCircuits.$inferSelect;
export type IntegrationHealthRow = typeof integrationHealth.$inferSelect;
export type IntegrationHealthChangeRow = typeof integrationHealthChanges.$inferSelect;

// ─── Synchronization and push (issue #5) ───────────────────────────────────────────────────────
// Pull sync runs with their per-resource checkpoints, the seen-set of a full sync (mark-and-sweep),
// and outbound pushes of our own changes. See src/sync/ and src/integrations/push.ts.

export const syncMode = pgEnum('sync_mode', ['INCREMENTAL', 'FULL']);
export const syncRunStatus = pgEnum('sync_run_status', ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']);
export const syncTrigger = pgEnum('sync_trigger', ['MANUAL', 'SCHEDULED']);
export const pushStatus = pgEnum('integration_push_status', ['PENDING', 'SENDING', 'SENT', 'SUPERSEDED', 'FAILED', 'DEAD']);

/**
 * One pull sync of one integration. At most one QUEUED or RUNNING run per integration (partial
 * unique index): a second request joins it or is refused (src/sync/service.ts). Counters are
 * written with each page, in the page's transaction, so they are exact even for a failed run.
 */
export const syncRuns = pgTable(
  'sync_runs',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    integrationId: uuid('integration_id').notNull(),
    mode: syncMode('mode').notNull(),
    status: syncRunStatus('status').notNull().default('QUEUED'),
    trigger: syncTrigger('trigger').notNull(),
    /** The user who asked (MANUAL), null for the scheduler. */
    requestedBy: uuid('requested_by'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }),
    /** Bumped with every page: a RUNNING run whose heartbeat is stale was abandoned by a dead worker. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, precision: 3 }),
    finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    deleted: integer('deleted').notNull().default(0),
    unchanged: integer('unchanged').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    error: text('error'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('sync_runs', t),
    uniqueIndex('sync_runs_one_active_key').on(t.tenantId, t.integrationId).where(sql`status in ('QUEUED', 'RUNNING')`),
    index('sync_runs_integration_created_idx').on(t.tenantId, t.integrationId, t.createdAt, t.id),
    tenantIsolation(),
  ],
).enableRLS();

// ─── Audit trail (issue #3) ────────────────────────────────────────────────────────────────────
// Written only by the audit.* SECURITY DEFINER functions (row trigger and auth events, see the
// custom migration); the app role may only SELECT. Each tenant's entries form a hash chain in
// `seq` order: hash = sha256(prev_hash || canonical entry), checked by audit.verify_chain().

export const actorType = pgEnum('actor_type', ['USER', 'PLATFORM', 'INTEGRATION', 'SYSTEM', 'SCIM', 'API_KEY']);

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

/** Where the next incremental sync of one resource starts: the provider's updated_at (inclusive). */
export const syncCheckpoints = pgTable(
  'sync_checkpoints',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    integrationId: uuid('integration_id').notNull(),
    resource: text('resource').notNull(),
    updatedSince: timestamp('updated_since', { withTimezone: true, precision: 3 }),
    lastRunId: uuid('last_run_id'),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.integrationId, t.resource] }), integrationFk('sync_checkpoints', t), tenantIsolation()],
).enableRLS();

/**
 * The external ids a FULL run has seen, written page by page (memory stays flat); after the last
 * page, mirrored rows of that integration not in the set were deleted at the provider and are swept.
 * Emptied when the run ends.
 */
export const syncSeenRecords = pgTable(
  'sync_seen_records',
  {
    tenantId: uuid('tenant_id').notNull(),
    runId: uuid('run_id').notNull(),
    resource: text('resource').notNull(),
    externalId: text('external_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.runId, t.resource, t.externalId] }),
    foreignKey({ name: 'sync_seen_records_run_fk', columns: [t.tenantId, t.runId], foreignColumns: [syncRuns.tenantId, syncRuns.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * One change made in Tessera (by a USER actor) to a record an integration mirrors, to be sent to the
 * provider by a job. `payload` is the snapshot sent; `idempotency_key` is constant across retries.
 * `seq` orders the pushes of one record: a push overtaken by a newer one is SUPERSEDED, not sent.
 * SENDING holds a lease (`lease_until`) so that one record's pushes are sent one at a time.
 */
export const integrationPushes = pgTable(
  'integration_pushes',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    integrationId: uuid('integration_id').notNull(),
    resource: text('resource').notNull(),
    recordId: uuid('record_id').notNull(),
    operation: text('operation').notNull(),
    payload: jsonb('payload').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    status: pushStatus('status').notNull().default('PENDING'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, precision: 3 }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    externalId: text('external_id'),
    externalVersion: bigint('external_version', { mode: 'number' }),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('integration_pushes', t),
    index('integration_pushes_record_idx').on(t.tenantId, t.integrationId, t.recordId, t.seq),
    index('integration_pushes_status_idx').on(t.tenantId, t.integrationId, t.status, t.updatedAt),
    tenantIsolation(),
  ],
).enableRLS();

export type SyncRunRow = typeof syncRuns.$inferSelect;
export type SyncCheckpointRow = typeof syncCheckpoints.$inferSelect;
export type IntegrationPushRow = typeof integrationPushes.$inferSelect;

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

// ─── Directory sync: SCIM 2.0 (issue 14) ───────────────────────────────────────────────────────

/**
 * Bearer tokens of the tenant's SCIM endpoint (/scim/v2), created and revoked by an ADMIN. The token
 * (`scim_<tenant id>_<secret>`) is shown once; only its SHA-256 is kept. Its id is the SCIM actor's id
 * in the audit trail.
 */
export const scimTokens = pgTable(
  'scim_tokens',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdBy: uuid('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('scim_tokens_hash_key').on(t.tenantId, t.tokenHash), tenantIsolation()],
).enableRLS();

export type ScimTokenRow = typeof scimTokens.$inferSelect;

// ─── The API for machines (issue #15) ──────────────────────────────────────────────────────────

/**
 * API keys: a tenant's service accounts. The key itself (`tsk_…`, src/auth/api-keys.ts) is shown
 * once; only its SHA-256 is kept. app_begin recognises a key in the request's own first statement
 * (migration 0015), so a key costs a request no more round trips than an access token.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    role: tenantRole('role').notNull(),
    /** The first characters of the key (`tsk_` + 8), enough to tell keys apart in a list or a leak report. */
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    /** The user who created it; the key outlives them (a service account), see docs/limits.md. */
    createdBy: uuid('created_by'),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('api_keys_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    tenantIsolation(),
  ],
).enableRLS();

/** A key's last use (time, client IP), written by app_begin at most once a minute per key and IP; not audited (usage, not a change). */
export const apiKeyUsage = pgTable(
  'api_key_usage',
  {
    tenantId: uuid('tenant_id').notNull(),
    apiKeyId: uuid('api_key_id').notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3 }),
    lastUsedIp: text('last_used_ip'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.apiKeyId] }),
    foreignKey({ columns: [t.tenantId, t.apiKeyId], foreignColumns: [apiKeys.tenantId, apiKeys.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * Idempotent mutations: the response of the first request with an `Idempotency-Key`, per tenant +
 * principal (user or API key) + key, committed in the same transaction as the mutation's effects.
 */
export const idempotencyRecords = pgTable(
  'idempotency_records',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    principalId: uuid('principal_id').notNull(),
    key: text('key').notNull(),
    /** SHA-256 of the operation (printed document), its name and its variables (canonical JSON). */
    requestHash: text('request_hash').notNull(),
    response: jsonb('response').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.principalId, t.key] }),
    index('idempotency_records_expiry_idx').on(t.tenantId, t.expiresAt),
    tenantIsolation(),
  ],
).enableRLS();

export type ApiKeyRow = typeof apiKeys.$inferSelect;

// ─── People: invitations, password resets, email changes, sessions, outbound messages (issue 13) ──

export const userTokenPurpose = pgEnum('user_token_purpose', ['INVITATION', 'PASSWORD_RESET', 'EMAIL_CHANGE']);
export const outboundMessageStatus = pgEnum('outbound_message_status', ['QUEUED', 'SENDING', 'SENT', 'FAILED', 'DEAD', 'CANCELED']);

/**
 * A message we send through the tenant's COMMUNICATION_SERVICE integration (an outbox row, sent by a
 * job: src/integrations/communication/outbox.ts). The body holds a single-use link, so it is kept
 * encrypted and erased once the provider has it (or the message is DEAD or CANCELED). The provider's
 * message id links its delivery-status webhooks back here.
 */
export const outboundMessages = pgTable(
  'outbound_messages',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    integrationId: uuid('integration_id').notNull(),
    /** FK (tenant_id, user_id) → users ON DELETE SET NULL (user_id): custom migration. */
    userId: uuid('user_id'),
    /** What it is: INVITATION, PASSWORD_RESET, EMAIL_CHANGE, EMAIL_CHANGED_NOTICE. */
    kind: text('kind').notNull(),
    toEmail: text('to_email').notNull(),
    subject: text('subject').notNull(),
    bodyEncrypted: text('body_encrypted'),
    idempotencyKey: text('idempotency_key').notNull(),
    status: outboundMessageStatus('status').notNull().default('QUEUED'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, precision: 3 }),
    sentAt: timestamp('sent_at', { withTimezone: true, precision: 3 }),
    providerMessageId: text('provider_message_id'),
    /** The provider's delivery status (webhooks), under the conflict rule: its version and updated_at decide. */
    deliveryStatus: deliveryStatus('delivery_status'),
    deliveryVersion: bigint('delivery_version', { mode: 'number' }),
    deliveryUpdatedAt: timestamp('delivery_updated_at', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    integrationFk('outbound_messages', t),
    uniqueIndex('outbound_messages_provider_key').on(t.tenantId, t.integrationId, t.providerMessageId),
    index('outbound_messages_user_idx').on(t.tenantId, t.userId),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * Single-use tokens sent to a user: invitations, password resets, email-change confirmations. Only
 * the SHA-256 of a token is stored; a user has at most one live token per purpose (a new one revokes
 * the old). Used, revoked and expired tokens are refused alike.
 */
export const userTokens = pgTable(
  'user_tokens',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    userId: uuid('user_id').notNull(),
    purpose: userTokenPurpose('purpose').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** EMAIL_CHANGE: the address that takes effect when the token is confirmed. */
    newEmail: text('new_email'),
    /** The tenant user who asked for it (an ADMIN inviting); null for the user themself or the system. */
    createdBy: uuid('created_by'),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    /** The message that carried it, when one was sent (FK in the custom migration). */
    messageId: uuid('message_id'),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete('cascade'),
    uniqueIndex('user_tokens_hash_key').on(t.tenantId, t.tokenHash),
    uniqueIndex('user_tokens_live_key').on(t.tenantId, t.userId, t.purpose).where(sql`used_at is null and revoked_at is null`),
    index('user_tokens_tenant_created_idx').on(t.tenantId, t.purpose, t.createdAt, t.id),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * One login's session: the refresh-token family of that login (`id` = family id = the access
 * token's `sid`), with what a person needs to recognise it. Ended by logout, revocation, a password
 * reset or deactivation (its refresh tokens are revoked with it).
 */
export const sessions = pgTable(
  'sessions',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull(),
    userId: uuid('user_id').notNull(),
    userAgent: text('user_agent'),
    ipAddress: text('ip_address'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** When its newest refresh token expires. */
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    /** Started through single sign-on (exchangeSsoCode); a password session ends when the tenant enforces SSO (migration 0028). */
    viaSso: boolean('via_sso').notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete('cascade'),
    index('sessions_user_idx').on(t.tenantId, t.userId, t.lastUsedAt),
    tenantIsolation(),
  ],
).enableRLS();

export type OutboundMessageRow = typeof outboundMessages.$inferSelect;
export type UserTokenRow = typeof userTokens.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;

// ─── Single sign-on (issue 14) ─────────────────────────────────────────────────────────────────

export const ssoProtocol = pgEnum('sso_protocol', ['OIDC', 'SAML']);

/**
 * One identity provider a tenant's people sign in with. OIDC: the issuer (discovery), client id and
 * the client secret as an AES-256-GCM ciphertext bound to this row (src/integrations/secrets.ts).
 * New people get `default_role`, or the role `role_mapping` gives the first value of the `role_claim`
 * claim it knows (e.g. groups → { "admins": "ADMIN" }); OWNER only if an OWNER configured it.
 */
export const ssoConnections = pgTable(
  'sso_connections',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    protocol: ssoProtocol('protocol').notNull(),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    oidcIssuer: text('oidc_issuer'),
    oidcClientId: text('oidc_client_id'),
    oidcClientSecretEncrypted: text('oidc_client_secret_encrypted'),
    oidcScopes: text('oidc_scopes').notNull().default('openid email profile'),
    defaultRole: tenantRole('default_role').notNull().default('MEMBER'),
    roleClaim: text('role_claim'),
    roleMapping: jsonb('role_mapping').$type<Record<string, 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER'>>().notNull().default({}),
    samlIdpEntityId: text('saml_idp_entity_id'),
    samlIdpSsoUrl: text('saml_idp_sso_url'),
    /** PEM certificates whose keys may sign the IdP's assertions (several during a key rollover). */
    samlIdpCertificates: text('saml_idp_certificates').array(),
    /** IdP-initiated sign-ins (a Response answering no request of ours): off unless the tenant turns them on. */
    samlAllowIdpInitiated: boolean('saml_allow_idp_initiated').notNull().default(false),
    /** Tolerated clock difference for NotBefore / NotOnOrAfter. */
    samlClockSkewSeconds: integer('saml_clock_skew_seconds').notNull().default(60),
    /** The role of whoever last changed what the connection trusts: it signs in no account above it (migration 0027). */
    configuredByRole: tenantRole('configured_by_role').notNull().default('ADMIN'),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sso_connections_tenant_name_key').on(t.tenantId, sql`lower(${t.name})`),
    tenantIsolation(),
  ],
).enableRLS();

/** Which user an identity provider's subject is: created on the first sign-in (JIT) or by linking. */
export const ssoIdentities = pgTable(
  'sso_identities',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    connectionId: uuid('connection_id').notNull(),
    subject: text('subject').notNull(),
    userId: uuid('user_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sso_identities_subject_key').on(t.tenantId, t.connectionId, t.subject),
    index('sso_identities_user_idx').on(t.tenantId, t.userId),
    foreignKey({ name: 'sso_identities_connection_fk', columns: [t.tenantId, t.connectionId], foreignColumns: [ssoConnections.tenantId, ssoConnections.id] }).onDelete('cascade'),
    foreignKey({ name: 'sso_identities_user_fk', columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * A sign-in in flight: what the callback must check (state, kept as a hash; nonce; PKCE verifier).
 * Single use (consumed_at), short-lived; kept in Postgres so any API process can finish it.
 */
export const ssoLoginAttempts = pgTable(
  'sso_login_attempts',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    connectionId: uuid('connection_id').notNull(),
    stateHash: text('state_hash').notNull(),
    nonce: text('nonce').notNull(),
    codeVerifier: text('code_verifier').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sso_login_attempts_state_key').on(t.tenantId, t.stateHash),
    foreignKey({ name: 'sso_login_attempts_connection_fk', columns: [t.tenantId, t.connectionId], foreignColumns: [ssoConnections.tenantId, ssoConnections.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

/** The one-time code a successful sign-in redirects to the frontend with; exchanged once for a session. */
export const ssoLoginCodes = pgTable(
  'sso_login_codes',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    userId: uuid('user_id').notNull(),
    connectionId: uuid('connection_id').notNull(),
    codeHash: text('code_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sso_login_codes_hash_key').on(t.tenantId, t.codeHash),
    foreignKey({ name: 'sso_login_codes_user_fk', columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete('cascade'),
    foreignKey({ name: 'sso_login_codes_connection_fk', columns: [t.tenantId, t.connectionId], foreignColumns: [ssoConnections.tenantId, ssoConnections.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * SAML AuthnRequests we sent and not yet answered: an assertion's InResponseTo must name one of
 * them, of the same connection, unexpired and unused (consumed in the transaction that signs in).
 */
export const ssoSamlRequests = pgTable(
  'sso_saml_requests',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    connectionId: uuid('connection_id').notNull(),
    requestId: text('request_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sso_saml_requests_request_key').on(t.tenantId, t.connectionId, t.requestId),
    foreignKey({ name: 'sso_saml_requests_connection_fk', columns: [t.tenantId, t.connectionId], foreignColumns: [ssoConnections.tenantId, ssoConnections.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

/** SAML assertion ids already accepted (replay store), kept until the assertion itself expires. */
export const ssoSamlAssertions = pgTable(
  'sso_saml_assertions',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    connectionId: uuid('connection_id').notNull(),
    assertionId: text('assertion_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sso_saml_assertions_assertion_key').on(t.tenantId, t.connectionId, t.assertionId),
    foreignKey({ name: 'sso_saml_assertions_connection_fk', columns: [t.tenantId, t.connectionId], foreignColumns: [ssoConnections.tenantId, ssoConnections.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

export type SsoConnectionRow = typeof ssoConnections.$inferSelect;

/**
 * Email domains a tenant claims: verified by an OWNER, and then the tenant's alone (a verified domain
 * is unique across tenants — the one cross-tenant unique index, on purpose: a second tenant can't
 * verify it). Verified domains drive "sign in with your work email" and let SSO link existing users.
 */
export const tenantDomains = pgTable(
  'tenant_domains',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    domain: text('domain').notNull(),
    verifiedAt: timestamp('verified_at', { withTimezone: true, precision: 3 }),
    verifiedBy: uuid('verified_by'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('tenant_domains_tenant_domain_key').on(t.tenantId, t.domain),
    uniqueIndex('tenant_domains_verified_key').on(t.domain).where(sql`verified_at is not null`),
    tenantIsolation(),
  ],
).enableRLS();

export type TenantDomainRow = typeof tenantDomains.$inferSelect;

/**
 * User imports (issue 15): a CSV or NDJSON file streamed in, validated row by row into import_rows
 * (and import_errors), then applied by the `user-import` job in batches, each batch committed with
 * the job's progress, so a worker that dies resumes after the last committed batch.
 */
export const importStatus = pgEnum('import_status', ['UPLOADING', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']);

export const importJobs = pgTable(
  'import_jobs',
  {
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    format: text('format').notNull(),
    /** SHA-256 of the file's bytes: uploading the same file again answers this job. Set when the upload ends. */
    fileHash: text('file_hash'),
    status: importStatus('status').notNull().default('UPLOADING'),
    totalRows: integer('total_rows').notNull().default(0),
    /** Valid rows staged for applying. */
    validRows: integer('valid_rows').notNull().default(0),
    /** The last row number applied: where a resumed job continues. */
    appliedThrough: integer('applied_through').notNull().default(0),
    createdRows: integer('created_rows').notNull().default(0),
    failedRows: integer('failed_rows').notNull().default(0),
    /** Who uploaded it (a user, or an API key when byApiKey), with the role they had: the job acts for them. */
    createdBy: uuid('created_by').notNull(),
    byApiKey: boolean('by_api_key').notNull().default(false),
    role: tenantRole('role').notNull(),
    requestId: text('request_id'),
    error: text('error'),
    ...timestamps,
    finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('import_jobs_file_key').on(t.tenantId, t.fileHash), tenantIsolation()],
).enableRLS();

export const importRows = pgTable(
  'import_rows',
  {
    tenantId: uuid('tenant_id').notNull(),
    importJobId: uuid('import_job_id').notNull(),
    rowNumber: integer('row_number').notNull(),
    data: jsonb('data').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.importJobId, t.rowNumber] }),
    foreignKey({ columns: [t.tenantId, t.importJobId], foreignColumns: [importJobs.tenantId, importJobs.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

export const importErrors = pgTable(
  'import_errors',
  {
    tenantId: uuid('tenant_id').notNull(),
    importJobId: uuid('import_job_id').notNull(),
    rowNumber: integer('row_number').notNull(),
    code: text('code').notNull(),
    message: text('message').notNull(),
    fields: jsonb('fields'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.importJobId, t.rowNumber] }),
    foreignKey({ columns: [t.tenantId, t.importJobId], foreignColumns: [importJobs.tenantId, importJobs.id] }).onDelete('cascade'),
    tenantIsolation(),
  ],
).enableRLS();

export type ImportJobRow = typeof importJobs.$inferSelect;
export type ImportErrorRow = typeof importErrors.$inferSelect;
