import { allow, deny, rule, shield } from 'graphql-shield';
import type { Context } from '../graphql/context.js';
import { AppError, forbidden, unauthenticated } from '../errors.js';
import { atLeast } from './roles.js';
import type { TenantRole } from './tokens.js';

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

const VIEWER = hasRole('VIEWER');
const MEMBER = hasRole('MEMBER');
const ADMIN = hasRole('ADMIN');
const OWNER = hasRole('OWNER');

export const permissionMap = {
  Query: {
    health: allow,
    me: VIEWER,
    tenant: VIEWER,
    users: VIEWER,
    user: VIEWER,
    organizations: VIEWER,
    organization: VIEWER,
    platformTenants: isPlatformOperator,
    // Integrations are administered by ADMIN+, and so is their health.
    integrationHealth: ADMIN,
    integrationHealthHistory: ADMIN,
    tenantHealthSummary: ADMIN,
    integrationCircuit: ADMIN,
    auditLogs: ADMIN,
    auditIntegrity: ADMIN,
  },
  Mutation: {
    login: allow,
    refreshSession: allow,
    logout: allow,
    platformLogin: allow,
    updateTenant: OWNER,
    createTenant: isPlatformOperator,
    suspendTenant: isPlatformOperator,
    reactivateTenant: isPlatformOperator,
    changeTenantPlan: isPlatformOperator,
    createUser: ADMIN,
    updateUser: VIEWER, // self-service; editing others is checked in the service
    changeUserRole: ADMIN,
    deactivateUser: ADMIN,
    reactivateUser: ADMIN,
    deleteUser: ADMIN,
    createOrganization: ADMIN,
    updateOrganization: ADMIN,
    deleteOrganization: ADMIN,
    addOrganizationMember: MEMBER, // tenant ADMIN+ or organization ADMIN, checked in the service
    changeOrganizationMemberRole: MEMBER,
    removeOrganizationMember: MEMBER,
    resetIntegrationCircuit: ADMIN,
    isolateIntegrationCircuit: ADMIN,
  },
  Subscription: {
    heartbeat: VIEWER,
    integrationHealthChanged: ADMIN,
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
