import { allow, chain, deny, rule, shield } from 'graphql-shield';
import type { IRule } from 'graphql-shield';
import type { Context } from './context.js';
import { AppError, forbidden, unauthenticated } from '../errors.js';
import { atLeast } from '../auth/roles.js';
import type { TenantRole } from '../auth/tokens.js';
import type { RateLimitKind } from '../auth/rate-limits.js';

/**
 * The one permission map (ARCHITECTURE invariant 4). Deny by default: a field missing here is
 * refused, so a new field is closed until someone decides who may use it. Rules return (not throw)
 * their error so shield reports it as is. Finer checks that depend on the target row (ADMIN vs OWNER,
 * last owner, organization ADMIN) live in the services.
 */
const hasRole = (min: TenantRole) =>
  rule(`hasRole:${min}`, { cache: 'contextual' })(async (_parent, _args, ctx: Context) => {
    try {
      const viewer = await ctx.viewer();
      if (viewer.kind !== 'user') return viewer.kind === 'platform' ? forbidden('Platform operators have no tenant') : unauthenticated();
      return atLeast(viewer.role, min) ? true : forbidden(`Requires role ${min} or higher`);
    } catch (err) {
      return err instanceof AppError ? err : Promise.reject(err);
    }
  });

const isPlatformOperator = rule('isPlatformOperator', { cache: 'contextual' })(async (_parent, _args, ctx: Context) => {
  const viewer = await ctx.viewer().catch((e: unknown) => e);
  if (viewer instanceof Error) return viewer;
  return (viewer as { kind: string }).kind === 'platform' ? true : viewer && (viewer as { kind: string }).kind === 'anonymous' ? unauthenticated() : forbidden('Platform operators only');
});

/**
 * Rate limits (src/auth/rate-limits.ts): graphql-rate-limit rules over the shared Postgres store,
 * configured per app. Chained after the role check, so refused calls don't spend the budget.
 */
const limit = (kind: RateLimitKind) =>
  rule(`rateLimit:${kind}`, { cache: 'no_cache' })((parent, args, ctx: Context, info) => ctx.app.rateLimits.check(kind, parent, args, ctx, info));
const TENANT_BUDGET = limit('TENANT');
const MUTATION_LIMIT = limit('MUTATION');
/** A tenant query: the role, then the tenant's per-minute budget. */
const query = (role: IRule) => chain(role, TENANT_BUDGET);
/** A mutation: the role, the user's mutation limit, the tenant's budget. */
const mutation = (role: IRule) => chain(role, MUTATION_LIMIT, TENANT_BUDGET);

const VIEWER = hasRole('VIEWER');
const MEMBER = hasRole('MEMBER');
const ADMIN = hasRole('ADMIN');
const OWNER = hasRole('OWNER');
const ROLE_RULES: Record<TenantRole, IRule> = { VIEWER, MEMBER, ADMIN, OWNER };

/**
 * The role each subscription needs, as data: the permission map checks it when a subscription
 * starts, and an open socket is closed when its user falls below it (src/http/graphql-ws.ts).
 */
export const SUBSCRIPTION_ROLES = {
  heartbeat: 'VIEWER',
  integrationHealthChanged: 'ADMIN',
} as const satisfies Record<string, TenantRole>;

export const permissionMap = {
  Query: {
    health: allow,
    me: query(VIEWER),
    tenant: query(VIEWER),
    users: query(VIEWER),
    user: query(VIEWER),
    organizations: query(VIEWER),
    organization: query(VIEWER),
    platformTenants: isPlatformOperator,
    // Integrations are administered by ADMIN+, and so is their health.
    integrationHealth: query(ADMIN),
    integrationHealthHistory: query(ADMIN),
    tenantHealthSummary: query(ADMIN),
    integrationCircuit: query(ADMIN),
    integrations: query(ADMIN),
    integration: query(ADMIN),
    webhookEvents: query(ADMIN),
    webhookEvent: query(ADMIN),
    syncRuns: query(ADMIN),
    syncRun: query(ADMIN),
    integrationPushes: query(ADMIN),
    auditLogs: query(ADMIN),
    auditIntegrity: query(ADMIN),
  },
  Mutation: {
    login: limit('LOGIN'),
    refreshSession: limit('REFRESH'),
    logout: allow,
    platformLogin: limit('PLATFORM_LOGIN'),
    updateTenant: mutation(OWNER),
    createTenant: chain(isPlatformOperator, MUTATION_LIMIT),
    suspendTenant: chain(isPlatformOperator, MUTATION_LIMIT),
    reactivateTenant: chain(isPlatformOperator, MUTATION_LIMIT),
    changeTenantPlan: chain(isPlatformOperator, MUTATION_LIMIT),
    createUser: mutation(ADMIN),
    updateUser: mutation(VIEWER), // self-service; editing others is checked in the service
    changeUserRole: mutation(ADMIN),
    deactivateUser: mutation(ADMIN),
    reactivateUser: mutation(ADMIN),
    deleteUser: mutation(ADMIN),
    createOrganization: mutation(ADMIN),
    updateOrganization: mutation(ADMIN),
    deleteOrganization: mutation(ADMIN),
    addOrganizationMember: mutation(MEMBER), // tenant ADMIN+ or organization ADMIN, checked in the service
    changeOrganizationMemberRole: mutation(MEMBER),
    removeOrganizationMember: mutation(MEMBER),
    resetIntegrationCircuit: mutation(ADMIN),
    isolateIntegrationCircuit: mutation(ADMIN),
    createIntegration: mutation(ADMIN),
    updateIntegration: mutation(ADMIN),
    deleteIntegration: mutation(ADMIN),
    rotateWebhookSecret: mutation(ADMIN),
    replayWebhookEvent: mutation(ADMIN),
    replayWebhookEvents: mutation(ADMIN),
    triggerSync: mutation(ADMIN),
    retryIntegrationPush: mutation(ADMIN),
  },
  Subscription: {
    heartbeat: ROLE_RULES[SUBSCRIPTION_ROLES.heartbeat],
    integrationHealthChanged: ROLE_RULES[SUBSCRIPTION_ROLES.integrationHealthChanged],
  },
  // Object types: reachable only through a root field above, which already decided.
  Tenant: allow,
  User: allow,
  UserEdge: allow,
  UserConnection: allow,
  Organization: allow,
  OrganizationEdge: allow,
  OrganizationConnection: allow,
  OrganizationMember: allow,
  PageInfo: allow,
  DeletePayload: allow,
  AuthPayload: allow,
  PlatformAuthPayload: allow,
  IntegrationHealth: allow,
  IntegrationHealthSignals: allow,
  IntegrationHealthChange: allow,
  IntegrationCircuit: allow,
  TenantHealthSummary: allow,
  Integration: allow,
  IntegrationSecretPayload: allow,
  WebhookEvent: allow,
  WebhookEventEdge: allow,
  WebhookEventConnection: allow,
  ReplayWebhookEventsPayload: allow,
  SyncRun: allow,
  SyncRunEdge: allow,
  SyncRunConnection: allow,
  TriggerSyncPayload: allow,
  IntegrationPush: allow,
  IntegrationPushEdge: allow,
  IntegrationPushConnection: allow,
  AuditLog: allow,
  AuditLogEdge: allow,
  AuditLogConnection: allow,
  AuditIntegrityReport: allow,
};

export const permissions = shield(permissionMap, {
  fallbackRule: deny,
  allowExternalErrors: true,
  fallbackError: () => forbidden(),
});
