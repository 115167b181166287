import type { GraphQLScalarType } from 'graphql';
import { allow, deny, shield } from 'graphql-shield';
import { identityAdmin, identityQuery, operatorMutation, PEOPLE_ONLY, PLATFORM_OPERATOR, rateLimit, ROLE, SELF_OR, tenantMutation, tenantQuery, type ShieldRule } from '../auth/permissions.js';
import { forbidden } from '../errors.js';
import type { Resolvers } from './generated/resolvers-types.js';
import type { TenantRole } from '../auth/tokens.js';

/**
 * The shape of the map, derived from the generated resolver types: every object type of the schema
 * is a key; Query, Mutation and Subscription need a rule for every field (a missing or misspelt
 * field is a compile error); other object types take one rule for the whole type or one per field.
 * The start-up check (assertAllRulesAssigned in buildSchema) holds the same against the executable
 * schema, for what the types can't see.
 */
type ObjectTypeName = { [T in keyof Resolvers]-?: NonNullable<Resolvers[T]> extends GraphQLScalarType ? never : T }[keyof Resolvers];
type FieldsOf<T extends ObjectTypeName> = Exclude<keyof NonNullable<Resolvers[T]>, `__${string}`>;
type RootTypeName = 'Query' | 'Mutation' | 'Subscription';
export type PermissionMap = {
  [T in ObjectTypeName]: T extends RootTypeName ? { [F in FieldsOf<T>]: ShieldRule } : ShieldRule | { [F in FieldsOf<T>]: ShieldRule };
};

/**
 * The role each subscription needs, as data: the map below checks it when a subscription starts,
 * and an open socket is closed when its user falls below it (src/http/graphql-ws.ts).
 */
export const SUBSCRIPTION_ROLES = {
  heartbeat: 'VIEWER',
  integrationHealthChanged: 'ADMIN',
  importJobProgress: 'ADMIN',
} as const satisfies Record<string, TenantRole>;

/**
 * The one permission map (ARCHITECTURE invariant 4). Deny by default: a field missing here is
 * refused, and the server refuses to start, so a new field is closed until someone decides who may
 * use it. Role checks live here and nowhere else; finer checks that depend on the target row
 * (ADMIN vs OWNER, last owner, organization ADMIN) live in the services.
 */
/** One rule object for the single-use-link mutations (shield refuses two rules of one name). */
const TOKEN_LIMIT = rateLimit('TOKEN');
/** What every user of the tenant may read: these root fields are read ahead of their rule (below). */
const TENANT_READ = tenantQuery('VIEWER');

export const permissionMap = {
  Query: {
    health: allow,
    me: TENANT_READ,
    tenant: TENANT_READ,
    users: TENANT_READ,
    user: TENANT_READ,
    organizations: TENANT_READ,
    organization: TENANT_READ,
    platformTenants: PLATFORM_OPERATOR,
    // Integrations are administered by ADMIN+, and so is their health.
    integrationHealth: tenantQuery('ADMIN'),
    integrationHealthHistory: tenantQuery('ADMIN'),
    tenantHealthSummary: tenantQuery('ADMIN'),
    integrationCircuit: tenantQuery('ADMIN'),
    integrations: tenantQuery('ADMIN'),
    integration: tenantQuery('ADMIN'),
    webhookEvents: tenantQuery('ADMIN'),
    webhookEvent: tenantQuery('ADMIN'),
    syncRuns: tenantQuery('ADMIN'),
    syncRun: tenantQuery('ADMIN'),
    integrationPushes: tenantQuery('ADMIN'),
    auditLogs: tenantQuery('ADMIN'),
    auditIntegrity: tenantQuery('ADMIN'),
    invitations: tenantQuery('ADMIN'),
    mySessions: TENANT_READ,
    apiKeys: tenantQuery('ADMIN'),
    importJob: tenantQuery('ADMIN'),
    // Identity (SSO, domains, SCIM): people only, never API keys — see identityAdmin.
    scimTokens: identityQuery('ADMIN'),
    ssoConnections: identityQuery('ADMIN'),
    tenantDomains: identityQuery('ADMIN'),
  },
  Mutation: {
    _noop: deny, // a placeholder so `extend type Mutation` has a type to extend
    login: rateLimit('LOGIN'),
    refreshSession: rateLimit('REFRESH'),
    logout: allow,
    platformLogin: rateLimit('PLATFORM_LOGIN'),
    updateTenant: tenantMutation('OWNER'),
    createTenant: operatorMutation,
    suspendTenant: operatorMutation,
    reactivateTenant: operatorMutation,
    changeTenantPlan: operatorMutation,
    createUser: tenantMutation('ADMIN'),
    createUsers: tenantMutation('ADMIN'),
    updateUsers: tenantMutation('ADMIN'),
    addOrganizationMembers: tenantMutation('MEMBER'), // tenant ADMIN+ or organization ADMIN, checked in the service
    updateUser: tenantMutation(SELF_OR('ADMIN')), // oneself, or ADMIN+ (and not above one's role: checked against the target in the service)
    changeUserRole: tenantMutation('ADMIN'),
    deactivateUser: tenantMutation('ADMIN'),
    reactivateUser: tenantMutation('ADMIN'),
    deleteUser: tenantMutation('ADMIN'),
    createOrganization: tenantMutation('ADMIN'),
    updateOrganization: tenantMutation('ADMIN'),
    deleteOrganization: tenantMutation('ADMIN'),
    addOrganizationMember: tenantMutation('MEMBER'), // tenant ADMIN+ or organization ADMIN, checked in the service
    changeOrganizationMemberRole: tenantMutation('MEMBER'),
    removeOrganizationMember: tenantMutation('MEMBER'),
    resetIntegrationCircuit: tenantMutation('ADMIN'),
    isolateIntegrationCircuit: tenantMutation('ADMIN'),
    createIntegration: tenantMutation('ADMIN'),
    updateIntegration: tenantMutation('ADMIN'),
    deleteIntegration: tenantMutation('ADMIN'),
    rotateWebhookSecret: tenantMutation('ADMIN'),
    replayWebhookEvent: tenantMutation('ADMIN'),
    replayWebhookEvents: tenantMutation('ADMIN'),
    triggerSync: tenantMutation('ADMIN'),
    retryIntegrationPush: tenantMutation('ADMIN'),
    // People (issue 13). Inviting is ADMIN+ (and never above one's own role: the service checks the target).
    inviteUser: tenantMutation('ADMIN'),
    resendInvitation: tenantMutation('ADMIN'),
    revokeInvitation: tenantMutation('ADMIN'),
    inviteAllPendingUsers: tenantMutation('ADMIN'),
    // Anonymous by nature (the token is the credential): limited per IP like login.
    acceptInvitation: TOKEN_LIMIT,
    requestPasswordReset: rateLimit('PASSWORD_RESET'),
    resetPassword: TOKEN_LIMIT,
    confirmEmailChange: TOKEN_LIMIT,
    requestEmailChange: tenantMutation('VIEWER'),
    changePassword: tenantMutation(PEOPLE_ONLY('VIEWER')), // a key has no password
    revokeSession: tenantMutation('VIEWER'),
    revokeOtherSessions: tenantMutation('VIEWER'),
    revokeUserSessions: tenantMutation('ADMIN'),
    // API keys can't create or revoke keys (nor change SSO/SCIM settings: PEOPLE_ONLY there too).
    createApiKey: tenantMutation(PEOPLE_ONLY('ADMIN')),
    revokeApiKey: tenantMutation(PEOPLE_ONLY('ADMIN')),
    createScimToken: identityAdmin('ADMIN'),
    revokeScimToken: identityAdmin('ADMIN'),
    createOidcConnection: identityAdmin('ADMIN'), // roles above the actor's are refused in the service
    createSamlConnection: identityAdmin('ADMIN'),
    updateSsoConnection: identityAdmin('ADMIN'),
    deleteSsoConnection: identityAdmin('ADMIN'),
    testSsoConnection: identityAdmin('ADMIN'),
    addTenantDomain: identityAdmin('ADMIN'),
    verifyTenantDomain: identityAdmin('OWNER'),
    removeTenantDomain: identityAdmin('OWNER'),
    setSsoEnforcement: identityAdmin('OWNER'),
    setSsoBreakGlass: identityAdmin('OWNER'),
    exchangeSsoCode: rateLimit('REFRESH'), // anyone holding a code: single use, 60 s, 256 bits
  },
  Subscription: {
    heartbeat: ROLE[SUBSCRIPTION_ROLES.heartbeat],
    integrationHealthChanged: ROLE[SUBSCRIPTION_ROLES.integrationHealthChanged],
    importJobProgress: ROLE[SUBSCRIPTION_ROLES.importJobProgress],
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
  OutboundMessage: allow,
  Invitation: allow,
  InvitationEdge: allow,
  InvitationConnection: allow,
  InvitationPayload: allow,
  Session: allow,
  ApiKey: allow,
  ItemFieldError: allow,
  ImportJob: allow,
  ImportRowError: allow,
  ItemError: allow,
  UserResult: allow,
  UsersPayload: allow,
  MemberResult: allow,
  MembersPayload: allow,
  CreateApiKeyPayload: allow,
  ScimToken: allow,
  ScimTokenSecretPayload: allow,
  SsoConnection: allow,
  SsoRoleMapping: allow,
  SsoConnectionTestResult: allow,
  SamlCertificate: allow,
  TenantDomain: allow,
} satisfies PermissionMap;

export const permissions = shield(permissionMap, {
  fallbackRule: deny,
  allowExternalErrors: true,
  fallbackError: () => forbidden(),
});

/**
 * The root query fields read ahead of their rule (src/graphql/read-ahead.ts): those any active user of
 * the tenant may read. A field above the caller's role is never read for them, so a low role can't make
 * the database do an ADMIN's heavier reads (audit integrity, health summaries) only to be refused.
 */
export const READ_AHEAD_FIELDS: ReadonlySet<string> = new Set(Object.entries(permissionMap.Query).flatMap(([field, rule]) => (rule === TENANT_READ ? [field] : [])));
