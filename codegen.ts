import type { CodegenConfig } from '@graphql-codegen/cli';

// Resolver types from the SDL in schema/. Mappers tie GraphQL types to the drizzle rows that
// resolvers actually return. Output is committed; CI fails when it is stale (`npm run codegen:check`).
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/graphql/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: false,
        contextType: '../context.js#Context',
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'Date | string', UUID: 'string', EmailAddress: 'string', JSON: 'unknown' },
        mappers: {
          Tenant: '../../db/schema.js#TenantRow',
          User: '../../db/schema.js#UserRow',
          Organization: '../../db/schema.js#OrganizationRow',
          OrganizationMember: '../../db/schema.js#MembershipRow',
          UserConnection: '../connection.js#UserConnectionResult',
          OrganizationConnection: '../connection.js#OrganizationConnectionResult',
          AuditLog: '../../db/schema.js#AuditLogRow',
          AuditLogConnection: '../../modules/audit/service.js#AuditLogPage',
          AuthPayload: '../../auth/session-service.js#SessionTokens',
          Integration: '../../db/schema.js#IntegrationRow',
          IntegrationSecretPayload: '../../modules/integrations/service.js#IntegrationWithSecret',
          WebhookEvent: '../../modules/webhooks/service.js#WebhookEventView',
          WebhookEventConnection: '../../modules/webhooks/service.js#WebhookEventConnectionResult',
          SyncRun: '../../db/schema.js#SyncRunRow',
          SyncRunConnection: '../../modules/sync/service.js#SyncRunConnectionResult',
          IntegrationPush: '../../db/schema.js#IntegrationPushRow',
          ApiKey: '../../modules/api-keys/service.js#ApiKeyView',
          ImportJob: '../../db/schema.js#ImportJobRow',
          ImportRowError: '../../db/schema.js#ImportErrorRow',
          UserResult: '../../modules/users/service.js#UserItemResult',
          UsersPayload: '../../modules/users/service.js#UserResults',
          MemberResult: '../../modules/organizations/service.js#MemberItemResult',
          MembersPayload: '../../modules/organizations/service.js#MemberResults',
          CreateApiKeyPayload: '../../modules/api-keys/service.js#CreatedApiKey',
          IntegrationPushConnection: '../../modules/pushes/service.js#IntegrationPushConnectionResult',
          OutboundMessage: '../../db/schema.js#OutboundMessageRow',
          Invitation: '../../modules/invitations/service.js#InvitationView',
          InvitationConnection: '../../modules/invitations/service.js#InvitationPage',
          InvitationPayload: '../../modules/invitations/service.js#InvitationPayloadView',
          Session: '../../modules/sessions/service.js#SessionView',
          ScimToken: '../../db/schema.js#ScimTokenRow',
          SsoConnection: '../../db/schema.js#SsoConnectionRow',
          TenantDomain: '../../db/schema.js#TenantDomainRow',
          ScimTokenSecretPayload: '../../modules/scim/tokens.js#ScimTokenWithSecret',
        },
      },
    },
  },
};
export default config;
