import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { TenantRow, UserRow, OrganizationRow, MembershipRow, AuditLogRow, IntegrationRow, SyncRunRow, IntegrationPushRow, ImportJobRow, ImportErrorRow, OutboundMessageRow, ScimTokenRow, SsoConnectionRow, TenantDomainRow } from '../../db/schema.js';
import type { UserConnectionResult, OrganizationConnectionResult } from '../connection.js';
import type { AuditLogPage } from '../../modules/audit/service.js';
import type { SessionTokens } from '../../auth/session-service.js';
import type { IntegrationWithSecret } from '../../modules/integrations/service.js';
import type { WebhookEventView, WebhookEventConnectionResult } from '../../modules/webhooks/service.js';
import type { SyncRunConnectionResult } from '../../modules/sync/service.js';
import type { ApiKeyView, CreatedApiKey } from '../../modules/api-keys/service.js';
import type { UserItemResult, UserResults } from '../../modules/users/service.js';
import type { MemberItemResult, MemberResults } from '../../modules/organizations/service.js';
import type { IntegrationPushConnectionResult } from '../../modules/pushes/service.js';
import type { InvitationView, InvitationPage, InvitationPayloadView } from '../../modules/invitations/service.js';
import type { SessionView } from '../../modules/sessions/service.js';
import type { ScimTokenWithSecret } from '../../modules/scim/tokens.js';
import type { Context } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An RFC 3339 date-time in UTC. */
  DateTime: { input: Date | string; output: Date | string; }
  /** An email address (RFC 5322 subset), at most 254 characters. */
  EmailAddress: { input: string; output: string; }
  /** Any JSON value. */
  JSON: { input: unknown; output: unknown; }
  /** A UUID (any version). */
  UUID: { input: string; output: string; }
};

/** Who caused a change. */
export type ActorType =
  /** An API key (service account); actorId is the key's id. */
  | 'API_KEY'
  | 'INTEGRATION'
  | 'PLATFORM'
  /** The tenant's directory (identity provider) provisioning through SCIM; actorId is the SCIM token's id. */
  | 'SCIM'
  | 'SYSTEM'
  | 'USER';

export type ApiKey = {
  __typename?: 'ApiKey';
  createdAt: Scalars['DateTime']['output'];
  /** Who created it (null once that user is deleted). The key outlives its creator: revoke it when it is no longer needed. */
  createdBy?: Maybe<User>;
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['UUID']['output'];
  /** The last request made with the key (recorded at most once a minute per client IP). */
  lastUsedAt?: Maybe<Scalars['DateTime']['output']>;
  lastUsedIp?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  /** The key's first 12 characters (`tsk_` + 8), to recognise it in a list or a leak report. */
  prefix: Scalars['String']['output'];
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  /** What the key may do: a tenant role, at most its creator's when it was created. */
  role: Role;
  status: ApiKeyStatus;
};

export type ApiKeyStatus =
  | 'ACTIVE'
  | 'EXPIRED'
  | 'REVOKED';

/** Result of verifying the tenant's hash chain. */
export type AuditIntegrityReport = {
  __typename?: 'AuditIntegrityReport';
  checkedEntries: Scalars['Int']['output'];
  /** The first entry where the chain breaks; null when ok. */
  firstBrokenId?: Maybe<Scalars['ID']['output']>;
  ok: Scalars['Boolean']['output'];
  /** ENTRY_ALTERED, LINK_BROKEN, ENTRY_MISSING, CHAIN_START_MISMATCH or TAIL_MISMATCH; null when ok. */
  reason?: Maybe<Scalars['String']['output']>;
};

export type AuditLog = {
  __typename?: 'AuditLog';
  /** INSERT, UPDATE, DELETE for row changes; LOGIN_SUCCEEDED, LOGIN_FAILED, SESSION_REFRESHED, REFRESH_TOKEN_REUSED, LOGOUT, AUDIT_PRUNED. */
  action: Scalars['String']['output'];
  /** A user id for USER; the operator, integration or job name otherwise. */
  actorId?: Maybe<Scalars['String']['output']>;
  actorType: ActorType;
  /** Row changes: { column: { old, new } } (secrets only as { redacted: true }); auth events: details. */
  changes: Scalars['JSON']['output'];
  clientIp?: Maybe<Scalars['String']['output']>;
  /** The row's key without the tenant (composite keys joined by ':'). */
  entityId?: Maybe<Scalars['String']['output']>;
  /** The table for row changes (users, organizations, organization_memberships, tenants, …); USER or SESSION for auth events. */
  entityType: Scalars['String']['output'];
  /** Position in the tenant's chain (1, 2, 3, …), as a string. */
  id: Scalars['ID']['output'];
  occurredAt: Scalars['DateTime']['output'];
  requestId?: Maybe<Scalars['String']['output']>;
  userAgent?: Maybe<Scalars['String']['output']>;
};

export type AuditLogConnection = {
  __typename?: 'AuditLogConnection';
  edges: Array<AuditLogEdge>;
  pageInfo: PageInfo;
};

export type AuditLogEdge = {
  __typename?: 'AuditLogEdge';
  cursor: Scalars['String']['output'];
  node: AuditLog;
};

export type AuditLogFilter = {
  action?: InputMaybe<Scalars['String']['input']>;
  actorId?: InputMaybe<Scalars['String']['input']>;
  actorType?: InputMaybe<ActorType>;
  /** Requires entityType when set. */
  entityId?: InputMaybe<Scalars['String']['input']>;
  entityType?: InputMaybe<Scalars['String']['input']>;
  /** Inclusive lower bound. */
  from?: InputMaybe<Scalars['DateTime']['input']>;
  /** Exclusive upper bound. */
  to?: InputMaybe<Scalars['DateTime']['input']>;
};

export type AuthPayload = {
  __typename?: 'AuthPayload';
  /** Short-lived access JWT: send as `Authorization: Bearer <token>`. */
  accessToken: Scalars['String']['output'];
  accessTokenExpiresAt: Scalars['DateTime']['output'];
  /** Opaque, single use: each refresh returns a new one. Reusing an old one ends the whole session. */
  refreshToken: Scalars['String']['output'];
  refreshTokenExpiresAt: Scalars['DateTime']['output'];
  user: User;
};

/** Circuit breaker state shared by every API and worker process. */
export type CircuitState =
  | 'CLOSED'
  | 'HALF_OPEN'
  /** Held open by an administrator until reset. */
  | 'ISOLATED'
  | 'OPEN';

export type CreateApiKeyInput = {
  /** Optional; must be in the future. */
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  name: Scalars['String']['input'];
  /** At most your own role. */
  role: Role;
};

export type CreateApiKeyPayload = {
  __typename?: 'CreateApiKeyPayload';
  apiKey: ApiKey;
  /** The key itself. Shown once: only its hash is kept. */
  key: Scalars['String']['output'];
};

export type CreateIntegrationInput = {
  /** The provider API key; stored encrypted, never returned. */
  apiKey: Scalars['String']['input'];
  baseUrl: Scalars['String']['input'];
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  /** USER_SERVICE: invite mirrored users when they first appear (default false). */
  inviteNewUsers?: InputMaybe<Scalars['Boolean']['input']>;
  name: Scalars['String']['input'];
  provider: IntegrationProvider;
  /** Networks webhooks may come from (CIDRs or single addresses, at most 50); omit or [] for any sender. */
  webhookAllowedSources?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type CreateOidcConnectionInput = {
  clientId: Scalars['String']['input'];
  clientSecret: Scalars['String']['input'];
  /** Default MEMBER. Nobody may configure a role above their own (only an OWNER can give OWNER). */
  defaultRole?: InputMaybe<Role>;
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  issuer: Scalars['String']['input'];
  name: Scalars['String']['input'];
  roleClaim?: InputMaybe<Scalars['String']['input']>;
  roleMapping?: InputMaybe<Array<SsoRoleMappingInput>>;
  /** Space-separated, must include openid. Default: openid email profile. */
  scopes?: InputMaybe<Scalars['String']['input']>;
};

export type CreateOrganizationInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
};

/**
 * A SAML 2.0 identity provider: its metadata XML, or its three fields (entity id, SSO URL, signing
 * certificates); fields given beside the metadata override what it says.
 */
export type CreateSamlConnectionInput = {
  /** Default false. */
  allowIdpInitiated?: InputMaybe<Scalars['Boolean']['input']>;
  /** 0–300, default 60. */
  clockSkewSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** Default MEMBER. Nobody may configure a role above their own (only an OWNER can give OWNER). */
  defaultRole?: InputMaybe<Role>;
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  /** PEM (or base64 DER) certificates; up to 5. */
  idpCertificates?: InputMaybe<Array<Scalars['String']['input']>>;
  idpEntityId?: InputMaybe<Scalars['String']['input']>;
  /** The identity provider's metadata (an EntityDescriptor with an IDPSSODescriptor). */
  idpMetadataXml?: InputMaybe<Scalars['String']['input']>;
  /** HTTP-Redirect binding endpoint of the identity provider. */
  idpSsoUrl?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  /** The attribute whose values the role mapping reads (e.g. groups). */
  roleClaim?: InputMaybe<Scalars['String']['input']>;
  roleMapping?: InputMaybe<Array<SsoRoleMappingInput>>;
};

export type CreateTenantInput = {
  name: Scalars['String']['input'];
  ownerEmail: Scalars['EmailAddress']['input'];
  ownerName: Scalars['String']['input'];
  /** Omit to create the owner as INVITED (no password yet). */
  ownerPassword?: InputMaybe<Scalars['String']['input']>;
  plan?: InputMaybe<TenantPlan>;
  /** 3–40 characters: a-z, 0-9 and '-', starting with a letter. */
  slug: Scalars['String']['input'];
};

export type CreateUserInput = {
  email: Scalars['EmailAddress']['input'];
  name: Scalars['String']['input'];
  /** Omit to invite (status INVITED); set to create an ACTIVE user who can log in. */
  password?: InputMaybe<Scalars['String']['input']>;
  role?: InputMaybe<Role>;
};

/** Returned by deletions: the id of what is gone. */
export type DeletePayload = {
  __typename?: 'DeletePayload';
  id: Scalars['UUID']['output'];
};

export type ImportJob = {
  __typename?: 'ImportJob';
  /** Rows applied so far (by row number): where a resumed job continues. */
  appliedThrough: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  createdRows: Scalars['Int']['output'];
  error?: Maybe<Scalars['String']['output']>;
  /** Per-row errors by row number; `first` is 1–100. */
  errors: Array<ImportRowError>;
  /** Rows refused at upload or when applied (e.g. an email the tenant has). */
  failedRows: Scalars['Int']['output'];
  /** SHA-256 of the file: uploading the same bytes again answers this import. */
  fileHash?: Maybe<Scalars['String']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  format: Scalars['String']['output'];
  id: Scalars['UUID']['output'];
  status: ImportStatus;
  totalRows: Scalars['Int']['output'];
  /** Rows that passed validation at upload. */
  validRows: Scalars['Int']['output'];
};


export type ImportJobErrorsArgs = {
  afterRow?: InputMaybe<Scalars['Int']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type ImportRowError = {
  __typename?: 'ImportRowError';
  code: Scalars['String']['output'];
  fields?: Maybe<Array<ItemFieldError>>;
  message: Scalars['String']['output'];
  /** 1 = the first data row (CSV: the line after the header). */
  row: Scalars['Int']['output'];
};

export type ImportStatus =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED'
  /** The file is still being received. */
  | 'UPLOADING';

/** One connection to an external provider. Credentials are stored encrypted and never returned. */
export type Integration = {
  __typename?: 'Integration';
  /** The provider's API root that outbound calls and sync use. */
  baseUrl: Scalars['String']['output'];
  circuit: IntegrationCircuit;
  createdAt: Scalars['DateTime']['output'];
  /** Disabled integrations refuse webhooks (404) and are not health-checked. */
  enabled: Scalars['Boolean']['output'];
  health: IntegrationHealth;
  /** Most recent changes first. */
  healthHistory: Array<IntegrationHealthChange>;
  id: Scalars['UUID']['output'];
  /** USER_SERVICE: users mirrored from the provider are invited (through the tenant's COMMUNICATION_SERVICE) when they first appear. */
  inviteNewUsers: Scalars['Boolean']['output'];
  /** The most recent sync run (of any status); null if it was never synced. */
  lastSyncRun?: Maybe<SyncRun>;
  name: Scalars['String']['output'];
  /** Until when the previous signing secret still verifies after a rotation; null when there is none. */
  previousSecretExpiresAt?: Maybe<Scalars['DateTime']['output']>;
  provider: IntegrationProvider;
  /** This integration's sync runs, newest first. */
  syncRuns: SyncRunConnection;
  updatedAt: Scalars['DateTime']['output'];
  /** Networks (CIDRs) webhooks may come from; empty: any sender. Others get 403 and nothing is stored. */
  webhookAllowedSources: Array<Scalars['String']['output']>;
  /** Where the provider sends signed webhooks (Standard Webhooks). */
  webhookUrl: Scalars['String']['output'];
};


/** One connection to an external provider. Credentials are stored encrypted and never returned. */
export type IntegrationHealthHistoryArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** One connection to an external provider. Credentials are stored encrypted and never returned. */
export type IntegrationSyncRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type IntegrationCircuit = {
  __typename?: 'IntegrationCircuit';
  integrationId: Scalars['UUID']['output'];
  /** True while an administrator's isolate holds the circuit open. */
  manual: Scalars['Boolean']['output'];
  openedAt?: Maybe<Scalars['DateTime']['output']>;
  reason?: Maybe<Scalars['String']['output']>;
  state: CircuitState;
  updatedAt?: Maybe<Scalars['DateTime']['output']>;
};

export type IntegrationHealth = {
  __typename?: 'IntegrationHealth';
  integrationId: Scalars['UUID']['output'];
  reason?: Maybe<Scalars['String']['output']>;
  signals: IntegrationHealthSignals;
  /** When the current status began; null while never evaluated. */
  since?: Maybe<Scalars['DateTime']['output']>;
  status: IntegrationHealthStatus;
};

/** One change of an integration's health status. */
export type IntegrationHealthChange = {
  __typename?: 'IntegrationHealthChange';
  changedAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  integrationId: Scalars['UUID']['output'];
  previousStatus?: Maybe<IntegrationHealthStatus>;
  reason?: Maybe<Scalars['String']['output']>;
  /** The signals at the change; null in subscription events (kept small for NOTIFY). */
  signals?: Maybe<IntegrationHealthSignals>;
  status: IntegrationHealthStatus;
};

/** The inputs the health status was derived from. */
export type IntegrationHealthSignals = {
  __typename?: 'IntegrationHealthSignals';
  breakerState: CircuitState;
  callCount: Scalars['Int']['output'];
  deadLetterCount?: Maybe<Scalars['Int']['output']>;
  /** Failed share of outbound calls in the last few minutes; null without calls. */
  failureRatio?: Maybe<Scalars['Float']['output']>;
  lastCheckAt?: Maybe<Scalars['DateTime']['output']>;
  /** Result of the last provider health check; null if never checked. */
  lastCheckOk?: Maybe<Scalars['Boolean']['output']>;
  lastSuccessfulSyncAgeSeconds?: Maybe<Scalars['Int']['output']>;
  webhookFailureRatio?: Maybe<Scalars['Float']['output']>;
};

/** Overall health of one integration, derived from its signals. */
export type IntegrationHealthStatus =
  | 'DEGRADED'
  | 'DOWN'
  | 'HEALTHY'
  | 'UNKNOWN';

export type IntegrationProvider =
  | 'COMMUNICATION_SERVICE'
  | 'PAYMENT_SERVICE'
  | 'USER_SERVICE';

/** One change of ours sent (or to be sent) to the provider, with an idempotency key that is constant across attempts. */
export type IntegrationPush = {
  __typename?: 'IntegrationPush';
  attempts: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** The provider's id and version of the record after the push. */
  externalId?: Maybe<Scalars['String']['output']>;
  externalVersion?: Maybe<Scalars['Int']['output']>;
  id: Scalars['UUID']['output'];
  integrationId: Scalars['UUID']['output'];
  lastError?: Maybe<Scalars['String']['output']>;
  /** CREATE, UPDATE or DEACTIVATE, as decided when the change was made. */
  operation: Scalars['String']['output'];
  status: IntegrationPushStatus;
  updatedAt: Scalars['DateTime']['output'];
  /** Our user the change was made to. */
  userId: Scalars['UUID']['output'];
};

export type IntegrationPushConnection = {
  __typename?: 'IntegrationPushConnection';
  edges: Array<IntegrationPushEdge>;
  pageInfo: PageInfo;
  /** Counted only when asked for. */
  totalCount: Scalars['Int']['output'];
};

export type IntegrationPushEdge = {
  __typename?: 'IntegrationPushEdge';
  cursor: Scalars['String']['output'];
  node: IntegrationPush;
};

export type IntegrationPushStatus =
  /** Every attempt failed (or the provider refused it); retry it once the cause is fixed. */
  | 'DEAD'
  /** The last attempt failed; it will be retried. */
  | 'FAILED'
  /** Queued; not attempted yet. */
  | 'PENDING'
  /** Being sent now. */
  | 'SENDING'
  | 'SENT'
  /** A newer change of the same record was sent instead. */
  | 'SUPERSEDED';

/** Returned when a signing secret is generated. The secret is shown this once and never again. */
export type IntegrationSecretPayload = {
  __typename?: 'IntegrationSecretPayload';
  integration: Integration;
  previousSecretExpiresAt?: Maybe<Scalars['DateTime']['output']>;
  /** `whsec_…`: configure it at the provider. */
  webhookSecret: Scalars['String']['output'];
};

/** A single-use invitation to set a password and join the tenant (its token is stored only as a hash). */
export type Invitation = {
  __typename?: 'Invitation';
  acceptedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  /** The address it was sent to (the user's email). */
  email: Scalars['String']['output'];
  expiresAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  /** The ADMIN who invited; null when the system did (users mirrored from a USER_SERVICE). */
  invitedBy?: Maybe<User>;
  /** The message that carried the link; null when the tenant has no communication integration. */
  message?: Maybe<OutboundMessage>;
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  status: InvitationStatus;
  user: User;
};

export type InvitationConnection = {
  __typename?: 'InvitationConnection';
  edges: Array<InvitationEdge>;
  pageInfo: PageInfo;
  /** Counted only when asked for. */
  totalCount: Scalars['Int']['output'];
};

export type InvitationEdge = {
  __typename?: 'InvitationEdge';
  cursor: Scalars['String']['output'];
  node: Invitation;
};

export type InvitationFilter = {
  /** Only invitations whose message bounced (or otherwise failed delivery): BOUNCED, FAILED. */
  deliveryStatus?: InputMaybe<MessageDeliveryStatus>;
  status?: InputMaybe<InvitationStatus>;
};

/** Returned when an invitation is created or resent. */
export type InvitationPayload = {
  __typename?: 'InvitationPayload';
  invitation: Invitation;
  /**
   * The invitation link, returned only when the tenant has no enabled COMMUNICATION_SERVICE
   * integration: hand it to the person yourself. Shown this once; otherwise null (the link is sent by
   * email and never shown).
   */
  invitationUrl?: Maybe<Scalars['String']['output']>;
};

export type InvitationStatus =
  | 'ACCEPTED'
  | 'EXPIRED'
  | 'PENDING'
  /** Revoked by an ADMIN, or replaced by a resend. */
  | 'REVOKED';

export type InviteUserInput = {
  email: Scalars['EmailAddress']['input'];
  name: Scalars['String']['input'];
  role?: InputMaybe<Role>;
};

/** Why one item failed: the code the single mutation would answer (BAD_USER_INPUT, FORBIDDEN, NOT_FOUND, CONFLICT), with the refused fields. */
export type ItemError = {
  __typename?: 'ItemError';
  code: Scalars['String']['output'];
  fields?: Maybe<Array<ItemFieldError>>;
  message: Scalars['String']['output'];
};

/** A refused value in one item: its field (path inside the item) and why. */
export type ItemFieldError = {
  __typename?: 'ItemFieldError';
  field: Scalars['String']['output'];
  message: Scalars['String']['output'];
};

export type LoginInput = {
  email: Scalars['EmailAddress']['input'];
  password: Scalars['String']['input'];
  /**
   * The tenant's slug, as in its URLs. Optional when the request names the tenant otherwise: first
   * this argument, else the `X-Tenant` header, else the host `<slug>.<TENANT_BASE_DOMAIN>`.
   */
  tenantSlug?: InputMaybe<Scalars['String']['input']>;
};

export type MemberResult = {
  __typename?: 'MemberResult';
  error?: Maybe<ItemError>;
  index: Scalars['Int']['output'];
  member?: Maybe<OrganizationMember>;
};

export type MembersPayload = {
  __typename?: 'MembersPayload';
  failed: Scalars['Int']['output'];
  results: Array<MemberResult>;
  succeeded: Scalars['Int']['output'];
};

/** What the provider reported after accepting a message (its delivery-status webhooks). */
export type MessageDeliveryStatus =
  | 'BOUNCED'
  | 'DELIVERED'
  | 'FAILED'
  | 'SENT';

export type Mutation = {
  __typename?: 'Mutation';
  _noop?: Maybe<Scalars['Boolean']['output']>;
  /**
   * Accepts an invitation: sets the password (and the name, if given), activates the user and logs
   * them in (the same payload as `login`). A used, revoked, expired or foreign token gets INVALID_TOKEN
   * and nothing changes.
   */
  acceptInvitation: AuthPayload;
  /** Tenant ADMIN+ or an ADMIN of that organization. */
  addOrganizationMember: OrganizationMember;
  /** Adds up to 500 users to one organization. Tenant ADMIN+ or the organization's ADMINs. */
  addOrganizationMembers: MembersPayload;
  /** Claims an email domain (ADMIN+); an OWNER verifies it. Public mail providers can't be claimed. */
  addTenantDomain: TenantDomain;
  changeOrganizationMemberRole: OrganizationMember;
  /**
   * Sets a new password (10–200 characters) for yourself, given your current one (BAD_USER_INPUT on
   * currentPassword otherwise). Your other sessions end (open sockets close); this one stays.
   */
  changePassword: Scalars['Boolean']['output'];
  changeTenantPlan: Tenant;
  changeUserRole: User;
  /** Confirms an email change with the token sent to the new address. */
  confirmEmailChange: Scalars['Boolean']['output'];
  /** ADMIN+, and only people: an API key can't create keys. */
  createApiKey: CreateApiKeyPayload;
  createIntegration: IntegrationSecretPayload;
  createOidcConnection: SsoConnection;
  createOrganization: Organization;
  createSamlConnection: SsoConnection;
  /** Creates a SCIM token (ADMIN+). The token is in the payload, once. */
  createScimToken: ScimTokenSecretPayload;
  /** Platform operators only. */
  createTenant: Tenant;
  createUser: User;
  /** Creates (or, without a password, invites) up to 500 users. ADMIN+; the rules of createUser hold per item. */
  createUsers: UsersPayload;
  deactivateUser: User;
  /** Deletes the integration with its events and mirrored billing and delivery records; mirrored users stay. */
  deleteIntegration: DeletePayload;
  deleteOrganization: DeletePayload;
  deleteSsoConnection: DeletePayload;
  deleteUser: DeletePayload;
  /** Exchanges the one-time code an SSO sign-in redirected to the frontend with (single use, 60 s) for a session, as login does. */
  exchangeSsoCode: AuthPayload;
  /**
   * ADMIN+: invites every INVITED user (e.g. mirrored from a USER_SERVICE) who has no pending
   * invitation (at most 500 per call; call again for more). Returns one payload per invitation made.
   */
  inviteAllPendingUsers: Array<InvitationPayload>;
  /**
   * ADMIN+: creates the user (INVITED) and a single-use invitation (INVITATION_TTL_DAYS, default 7),
   * sent through the tenant's COMMUNICATION_SERVICE integration. Without one, `invitationUrl` returns
   * the link once. Nobody may invite above their own role.
   */
  inviteUser: InvitationPayload;
  /** Holds the circuit open on every process until reset: no calls reach the provider. */
  isolateIntegrationCircuit: IntegrationCircuit;
  login: AuthPayload;
  /** Ends the session (the refresh token's whole family). Always true, so it reveals nothing. */
  logout: Scalars['Boolean']['output'];
  /** Platform operators only: not a tenant user. */
  platformLogin: PlatformAuthPayload;
  reactivateTenant: Tenant;
  reactivateUser: User;
  refreshSession: AuthPayload;
  removeOrganizationMember: DeletePayload;
  removeTenantDomain: DeletePayload;
  /** Queues a FAILED, DEAD or PROCESSED event again (applying is idempotent). CONFLICT while it is queued or running. */
  replayWebhookEvent: WebhookEvent;
  /** Queues again every FAILED or DEAD event matching the filter (status defaults to DEAD), at most `limit` (1–1000). */
  replayWebhookEvents: ReplayWebhookEventsPayload;
  /**
   * Starts an email change: a confirmation link goes to the new address, and the change takes effect
   * only when it is confirmed (the old address is then told). Needs your current password.
   */
  requestEmailChange: Scalars['Boolean']['output'];
  /**
   * Sends a single-use reset link (PASSWORD_RESET_TTL_MINUTES, default 30) to the account with this
   * email, if there is one. Always answers true, the same way and in the same time whether or not the
   * account exists. The tenant: `tenantSlug`, else the X-Tenant header, else the tenant host.
   * Rate limited per client IP and per email.
   */
  requestPasswordReset: Scalars['Boolean']['output'];
  /** ADMIN+: a new invitation for an INVITED user (a new link; the previous one stops working at once). */
  resendInvitation: InvitationPayload;
  /** Closes the circuit on every process and clears an isolation. */
  resetIntegrationCircuit: IntegrationCircuit;
  /** Sets a new password with a reset token and ends every session of the user (open sockets close). */
  resetPassword: Scalars['Boolean']['output'];
  /**
   * Queues a DEAD push again (same idempotency key). CONFLICT if it is not DEAD or a newer change of
   * the same user was made since (that one is what the provider should get).
   */
  retryIntegrationPush: IntegrationPush;
  /** Takes effect at once, on open WebSockets too. Revoking a revoked key changes nothing. ADMIN+ (not for keys above your role); people only. */
  revokeApiKey: ApiKey;
  /** ADMIN+: the link stops working at once. CONFLICT unless the invitation is pending. */
  revokeInvitation: Invitation;
  /** Ends all your sessions except the current one; returns how many ended. */
  revokeOtherSessions: Scalars['Int']['output'];
  /** Revokes a SCIM token at once (ADMIN+). Revoking a revoked token changes nothing. */
  revokeScimToken: ScimToken;
  /** Ends one of your sessions (NOT_FOUND for ids that are not yours). */
  revokeSession: Scalars['Boolean']['output'];
  /** ADMIN+: ends every session of a user of your tenant (not above your role); returns how many ended. */
  revokeUserSessions: Scalars['Int']['output'];
  /** A new signing secret; the previous one keeps verifying for `overlapHours` (default from configuration, 0 = stop at once). */
  rotateWebhookSecret: IntegrationSecretPayload;
  /** OWNER: let an OWNER keep signing in with a password while SSO is enforced (or not). */
  setSsoBreakGlass: User;
  /** OWNER: enforce SSO (needs an enabled connection) or stop enforcing it. */
  setSsoEnforcement: Tenant;
  suspendTenant: Tenant;
  /** OIDC: reads the provider's discovery document with the stored settings. SAML: checks the settings and that a certificate is valid now. */
  testSsoConnection: SsoConnectionTestResult;
  /**
   * Starts a sync now. One sync per integration at a time: if one of the same mode is queued or
   * running, this joins it (joined: true); if one of the other mode is, CONFLICT (extensions.runId).
   */
  triggerSync: TriggerSyncPayload;
  updateIntegration: Integration;
  updateOrganization: Organization;
  updateSsoConnection: SsoConnection;
  /** OWNER only. */
  updateTenant: Tenant;
  /**
   * Any user may update their own name (their own email and password only through requestEmailChange
   * and changePassword: BAD_USER_INPUT here); ADMIN+ may update others (not OWNERs unless OWNER). A
   * password set for someone else ends their sessions.
   */
  updateUser: User;
  /** Changes name, role and/or status of up to 500 users, in item order. ADMIN+; the rules of the single mutations hold per item. */
  updateUsers: UsersPayload;
  /** The OWNER attests the tenant owns the domain. CONFLICT if another tenant verified it. */
  verifyTenantDomain: TenantDomain;
};


export type MutationAcceptInvitationArgs = {
  name?: InputMaybe<Scalars['String']['input']>;
  password: Scalars['String']['input'];
  token: Scalars['String']['input'];
};


export type MutationAddOrganizationMemberArgs = {
  organizationId: Scalars['UUID']['input'];
  role?: InputMaybe<OrganizationRole>;
  userId: Scalars['UUID']['input'];
};


export type MutationAddOrganizationMembersArgs = {
  members: Array<OrganizationMemberInput>;
  organizationId: Scalars['UUID']['input'];
};


export type MutationAddTenantDomainArgs = {
  domain: Scalars['String']['input'];
};


export type MutationChangeOrganizationMemberRoleArgs = {
  organizationId: Scalars['UUID']['input'];
  role: OrganizationRole;
  userId: Scalars['UUID']['input'];
};


export type MutationChangePasswordArgs = {
  currentPassword: Scalars['String']['input'];
  newPassword: Scalars['String']['input'];
};


export type MutationChangeTenantPlanArgs = {
  id: Scalars['UUID']['input'];
  plan: TenantPlan;
};


export type MutationChangeUserRoleArgs = {
  id: Scalars['UUID']['input'];
  role: Role;
};


export type MutationConfirmEmailChangeArgs = {
  token: Scalars['String']['input'];
};


export type MutationCreateApiKeyArgs = {
  input: CreateApiKeyInput;
};


export type MutationCreateIntegrationArgs = {
  input: CreateIntegrationInput;
};


export type MutationCreateOidcConnectionArgs = {
  input: CreateOidcConnectionInput;
};


export type MutationCreateOrganizationArgs = {
  input: CreateOrganizationInput;
};


export type MutationCreateSamlConnectionArgs = {
  input: CreateSamlConnectionInput;
};


export type MutationCreateScimTokenArgs = {
  name: Scalars['String']['input'];
};


export type MutationCreateTenantArgs = {
  input: CreateTenantInput;
};


export type MutationCreateUserArgs = {
  input: CreateUserInput;
};


export type MutationCreateUsersArgs = {
  inputs: Array<CreateUserInput>;
};


export type MutationDeactivateUserArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationDeleteIntegrationArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationDeleteOrganizationArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationDeleteSsoConnectionArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationDeleteUserArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationExchangeSsoCodeArgs = {
  code: Scalars['String']['input'];
};


export type MutationInviteUserArgs = {
  input: InviteUserInput;
};


export type MutationIsolateIntegrationCircuitArgs = {
  integrationId: Scalars['UUID']['input'];
  reason: Scalars['String']['input'];
};


export type MutationLoginArgs = {
  input: LoginInput;
};


export type MutationLogoutArgs = {
  refreshToken: Scalars['String']['input'];
};


export type MutationPlatformLoginArgs = {
  email: Scalars['EmailAddress']['input'];
  password: Scalars['String']['input'];
};


export type MutationReactivateTenantArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationReactivateUserArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRefreshSessionArgs = {
  refreshToken: Scalars['String']['input'];
};


export type MutationRemoveOrganizationMemberArgs = {
  organizationId: Scalars['UUID']['input'];
  userId: Scalars['UUID']['input'];
};


export type MutationRemoveTenantDomainArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationReplayWebhookEventArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationReplayWebhookEventsArgs = {
  filter: WebhookEventFilter;
  limit?: InputMaybe<Scalars['Int']['input']>;
};


export type MutationRequestEmailChangeArgs = {
  currentPassword: Scalars['String']['input'];
  newEmail: Scalars['EmailAddress']['input'];
};


export type MutationRequestPasswordResetArgs = {
  email: Scalars['String']['input'];
  tenantSlug?: InputMaybe<Scalars['String']['input']>;
};


export type MutationResendInvitationArgs = {
  userId: Scalars['UUID']['input'];
};


export type MutationResetIntegrationCircuitArgs = {
  integrationId: Scalars['UUID']['input'];
};


export type MutationResetPasswordArgs = {
  newPassword: Scalars['String']['input'];
  token: Scalars['String']['input'];
};


export type MutationRetryIntegrationPushArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRevokeApiKeyArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRevokeInvitationArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRevokeScimTokenArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRevokeSessionArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRevokeUserSessionsArgs = {
  userId: Scalars['UUID']['input'];
};


export type MutationRotateWebhookSecretArgs = {
  id: Scalars['UUID']['input'];
  overlapHours?: InputMaybe<Scalars['Float']['input']>;
};


export type MutationSetSsoBreakGlassArgs = {
  enabled: Scalars['Boolean']['input'];
  userId: Scalars['UUID']['input'];
};


export type MutationSetSsoEnforcementArgs = {
  enforced: Scalars['Boolean']['input'];
};


export type MutationSuspendTenantArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationTestSsoConnectionArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationTriggerSyncArgs = {
  integrationId: Scalars['UUID']['input'];
  mode?: SyncMode;
};


export type MutationUpdateIntegrationArgs = {
  id: Scalars['UUID']['input'];
  input: UpdateIntegrationInput;
};


export type MutationUpdateOrganizationArgs = {
  id: Scalars['UUID']['input'];
  input: UpdateOrganizationInput;
};


export type MutationUpdateSsoConnectionArgs = {
  id: Scalars['UUID']['input'];
  input: UpdateSsoConnectionInput;
};


export type MutationUpdateTenantArgs = {
  input: UpdateTenantInput;
};


export type MutationUpdateUserArgs = {
  id: Scalars['UUID']['input'];
  input: UpdateUserInput;
};


export type MutationUpdateUsersArgs = {
  inputs: Array<UpdateUsersItem>;
};


export type MutationVerifyTenantDomainArgs = {
  id: Scalars['UUID']['input'];
};

export type Organization = {
  __typename?: 'Organization';
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  id: Scalars['UUID']['output'];
  members: Array<OrganizationMember>;
  name: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type OrganizationConnection = {
  __typename?: 'OrganizationConnection';
  edges: Array<OrganizationEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type OrganizationEdge = {
  __typename?: 'OrganizationEdge';
  cursor: Scalars['String']['output'];
  node: Organization;
};

export type OrganizationFilter = {
  /** Case-insensitive substring of the name. */
  search?: InputMaybe<Scalars['String']['input']>;
};

export type OrganizationMember = {
  __typename?: 'OrganizationMember';
  joinedAt: Scalars['DateTime']['output'];
  organization: Organization;
  role: OrganizationRole;
  user: User;
};

export type OrganizationMemberInput = {
  role?: InputMaybe<OrganizationRole>;
  userId: Scalars['UUID']['input'];
};

export type OrganizationRole =
  | 'ADMIN'
  | 'MEMBER';

/** A message we sent (or are sending) to a person through the tenant's communication provider. */
export type OutboundMessage = {
  __typename?: 'OutboundMessage';
  attempts: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  deliveryStatus?: Maybe<MessageDeliveryStatus>;
  deliveryUpdatedAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['UUID']['output'];
  /** INVITATION, PASSWORD_RESET, EMAIL_CHANGE or EMAIL_CHANGED_NOTICE. */
  kind: Scalars['String']['output'];
  lastError?: Maybe<Scalars['String']['output']>;
  /** The provider's id for it, once accepted: its delivery webhooks name it. */
  providerMessageId?: Maybe<Scalars['String']['output']>;
  sentAt?: Maybe<Scalars['DateTime']['output']>;
  status: OutboundMessageStatus;
  subject: Scalars['String']['output'];
  toEmail: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type OutboundMessageStatus =
  /** Not sent: its link was revoked or replaced first. */
  | 'CANCELED'
  /** Every attempt failed, or the provider refused it. Resend to try again with a new link. */
  | 'DEAD'
  /** The last attempt failed; it will be retried. */
  | 'FAILED'
  /** Waiting for its job. */
  | 'QUEUED'
  /** Being handed to the provider now. */
  | 'SENDING'
  /** The provider accepted it (see deliveryStatus for what happened next). */
  | 'SENT';

/** Relay cursor pagination: pass `endCursor` as `after` to get the next page. */
export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type PlatformAuthPayload = {
  __typename?: 'PlatformAuthPayload';
  accessToken: Scalars['String']['output'];
  accessTokenExpiresAt: Scalars['DateTime']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** The tenant's API keys, newest first (at most 100 active ones exist). ADMIN+. */
  apiKeys: Array<ApiKey>;
  /**
   * Verifies the chain: all of it, or from the entry `fromId` on (trusting the entry before it). A full
   * check reads and hashes every entry (about 40 s per million on our 2-core test machine): on large
   * tenants check recent ranges; the request's statement timeout applies.
   */
  auditIntegrity: AuditIntegrityReport;
  /** Newest first. `first` is 1–100. Export a time range as NDJSON with GET /audit-logs/export?from=…&to=… */
  auditLogs: AuditLogConnection;
  /** Liveness of the GraphQL layer itself; needs no authentication. */
  health: Scalars['String']['output'];
  /** ADMIN+. */
  importJob?: Maybe<ImportJob>;
  integration?: Maybe<Integration>;
  integrationCircuit: IntegrationCircuit;
  integrationHealth: IntegrationHealth;
  /** Most recent changes first. */
  integrationHealthHistory: Array<IntegrationHealthChange>;
  /** An integration's pushes, newest first. */
  integrationPushes: IntegrationPushConnection;
  integrations: Array<Integration>;
  /** ADMIN+: the tenant's invitations, newest first. */
  invitations: InvitationConnection;
  me: User;
  /** Your live sessions, most recently used first. */
  mySessions: Array<Session>;
  organization?: Maybe<Organization>;
  organizations: OrganizationConnection;
  /** Platform operators only: every tenant. */
  platformTenants: Array<Tenant>;
  /** The tenant's SCIM tokens, newest first (revoked ones included). ADMIN+. */
  scimTokens: Array<ScimToken>;
  /** The tenant's SSO connections (ADMIN+). */
  ssoConnections: Array<SsoConnection>;
  syncRun?: Maybe<SyncRun>;
  /** An integration's sync runs, newest first. */
  syncRuns: SyncRunConnection;
  /** The viewer's own tenant. */
  tenant: Tenant;
  /** The tenant's email domains (ADMIN+). */
  tenantDomains: Array<TenantDomain>;
  tenantHealthSummary: TenantHealthSummary;
  user?: Maybe<User>;
  /** Ordered by creation time, oldest first. `first` is 1–100. Stable under inserts and deletes: no row that existed when you started paging is skipped or repeated; a row committed while you page may sort behind your cursor (its time is its transaction's start), so re-read from the start to catch up. */
  users: UserConnection;
  webhookEvent?: Maybe<WebhookEvent>;
  /** Oldest first. `first` is 1–100. Stable under inserts and deletes: no row that existed when you started paging is skipped or repeated; a row committed while you page may sort behind your cursor, so re-read from the start to catch up. */
  webhookEvents: WebhookEventConnection;
};


export type QueryApiKeysArgs = {
  includeRevoked?: InputMaybe<Scalars['Boolean']['input']>;
};


export type QueryAuditIntegrityArgs = {
  fromId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryAuditLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<AuditLogFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryImportJobArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryIntegrationArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryIntegrationCircuitArgs = {
  integrationId: Scalars['UUID']['input'];
};


export type QueryIntegrationHealthArgs = {
  integrationId: Scalars['UUID']['input'];
};


export type QueryIntegrationHealthHistoryArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  integrationId: Scalars['UUID']['input'];
};


export type QueryIntegrationPushesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  integrationId: Scalars['UUID']['input'];
  status?: InputMaybe<IntegrationPushStatus>;
};


export type QueryInvitationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<InvitationFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryOrganizationArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryOrganizationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<OrganizationFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QuerySyncRunArgs = {
  id: Scalars['UUID']['input'];
};


export type QuerySyncRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  integrationId: Scalars['UUID']['input'];
};


export type QueryUserArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryUsersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<UserFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryWebhookEventArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryWebhookEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<WebhookEventFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type ReplayWebhookEventsPayload = {
  __typename?: 'ReplayWebhookEventsPayload';
  /** How many events were queued again. */
  count: Scalars['Int']['output'];
};

/** Tenant roles, strongest first: OWNER > ADMIN > MEMBER > VIEWER. */
export type Role =
  | 'ADMIN'
  | 'MEMBER'
  | 'OWNER'
  | 'VIEWER';

/** An X.509 certificate of a SAML identity provider (read from its PEM). */
export type SamlCertificate = {
  __typename?: 'SamlCertificate';
  /** SHA-256 of the DER, hex with colons (as identity providers show it). */
  fingerprintSha256: Scalars['String']['output'];
  notAfter: Scalars['DateTime']['output'];
  notBefore: Scalars['DateTime']['output'];
  pem: Scalars['String']['output'];
  subject: Scalars['String']['output'];
};

/** A bearer token of the tenant's SCIM endpoint. The token itself is shown once, when created. */
export type ScimToken = {
  __typename?: 'ScimToken';
  createdAt: Scalars['DateTime']['output'];
  /** The user who created it. */
  createdBy?: Maybe<Scalars['UUID']['output']>;
  id: Scalars['UUID']['output'];
  /** What it is for (e.g. the identity provider's name). */
  name: Scalars['String']['output'];
  /** Set once revoked: the token is then refused (401). */
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
};

/** Returned when a SCIM token is created. The token is shown this once and never again. */
export type ScimTokenSecretPayload = {
  __typename?: 'ScimTokenSecretPayload';
  /** The SCIM base URL to configure at the identity provider (…/scim/v2). */
  baseUrl: Scalars['String']['output'];
  scimToken: ScimToken;
  /** `scim_…`: configure it at the identity provider as the bearer token. */
  token: Scalars['String']['output'];
};

/** A logged-in session (one login and its refreshes). */
export type Session = {
  __typename?: 'Session';
  createdAt: Scalars['DateTime']['output'];
  /** True for the session of the token making this request. */
  current: Scalars['Boolean']['output'];
  expiresAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  ipAddress?: Maybe<Scalars['String']['output']>;
  lastUsedAt: Scalars['DateTime']['output'];
  userAgent?: Maybe<Scalars['String']['output']>;
};

/** An identity provider the tenant's people sign in with. The client secret is stored encrypted and never returned. */
export type SsoConnection = {
  __typename?: 'SsoConnection';
  /** SAML: our assertion consumer service (HTTP-POST binding), where the identity provider posts its Response. */
  acsUrl?: Maybe<Scalars['String']['output']>;
  /** SAML: accept sign-ins the identity provider starts (a Response to no request of ours). Off by default. */
  allowIdpInitiated: Scalars['Boolean']['output'];
  clientId?: Maybe<Scalars['String']['output']>;
  /** SAML: tolerated clock difference for NotBefore / NotOnOrAfter, in seconds. */
  clockSkewSeconds: Scalars['Int']['output'];
  /** The role of whoever last changed what this connection trusts (its identity provider, roles, IdP-initiated sign-ins): it signs in no account above this role, so only a connection an OWNER configured can sign in an OWNER. */
  configuredByRole: Role;
  createdAt: Scalars['DateTime']['output'];
  /** The role of people created on their first sign-in, unless the role mapping gives one. */
  defaultRole: Role;
  /** Disabled connections refuse sign-ins. */
  enabled: Scalars['Boolean']['output'];
  id: Scalars['UUID']['output'];
  /** SAML: the certificates whose keys may sign the identity provider's assertions. */
  idpCertificates?: Maybe<Array<SamlCertificate>>;
  /** SAML: the identity provider's entity id (the Issuer of its assertions). */
  idpEntityId?: Maybe<Scalars['String']['output']>;
  /** SAML: where AuthnRequests go (HTTP-Redirect binding). */
  idpSsoUrl?: Maybe<Scalars['String']['output']>;
  /** OIDC: the issuer URL (its /.well-known/openid-configuration is read). */
  issuer?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  protocol: SsoProtocol;
  /** What to register at the identity provider: OIDC, the redirect URI; SAML, the assertion consumer service URL (acsUrl). */
  redirectUri: Scalars['String']['output'];
  /** The claim whose values the role mapping reads (e.g. groups). */
  roleClaim?: Maybe<Scalars['String']['output']>;
  roleMapping: Array<SsoRoleMapping>;
  scopes: Scalars['String']['output'];
  /** SAML: our service provider entity id, the Audience the identity provider must assert (it is also our metadata's URL). */
  spEntityId?: Maybe<Scalars['String']['output']>;
  /** SAML: our service provider metadata (XML), to give the identity provider. */
  spMetadataUrl?: Maybe<Scalars['String']['output']>;
  /** Where a browser starts a sign-in with this connection. */
  startUrl: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

/** The outcome of testSsoConnection: OIDC, whether the identity provider's discovery document and keys could be read; SAML, whether its settings and certificates are usable now. */
export type SsoConnectionTestResult = {
  __typename?: 'SsoConnectionTestResult';
  /** The issuer the provider reported (SAML: its entity id). */
  issuer?: Maybe<Scalars['String']['output']>;
  /** What failed, when ok is false (SAML: also certificates expired or expiring within 30 days). */
  message?: Maybe<Scalars['String']['output']>;
  ok: Scalars['Boolean']['output'];
};

export type SsoProtocol =
  | 'OIDC'
  | 'SAML';

/** A value of the role claim (e.g. a group name) and the tenant role people with it get on their first sign-in. */
export type SsoRoleMapping = {
  __typename?: 'SsoRoleMapping';
  role: Role;
  value: Scalars['String']['output'];
};

export type SsoRoleMappingInput = {
  role: Role;
  value: Scalars['String']['input'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /** Emits the server time every `intervalSeconds` (1–60). Proves the WebSocket path and its authentication. */
  heartbeat: Scalars['DateTime']['output'];
  /** The import as it progresses (after every applied batch), until it ends. ADMIN+. */
  importJobProgress: ImportJob;
  /** Health status changes of one integration, or of all the tenant's integrations when no id is given. */
  integrationHealthChanged: IntegrationHealthChange;
};


export type SubscriptionHeartbeatArgs = {
  intervalSeconds?: InputMaybe<Scalars['Int']['input']>;
};


export type SubscriptionImportJobProgressArgs = {
  id: Scalars['UUID']['input'];
};


export type SubscriptionIntegrationHealthChangedArgs = {
  integrationId?: InputMaybe<Scalars['UUID']['input']>;
};

export type SyncMode =
  /** Every record; ours whose provider record is gone are deactivated (users) or canceled (subscriptions). */
  | 'FULL'
  /** Only records changed since the last checkpoint (the provider's updated_at, per resource). */
  | 'INCREMENTAL';

/** One pull sync of one integration. Counts are per provider record and are updated page by page while it runs. */
export type SyncRun = {
  __typename?: 'SyncRun';
  created: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  deleted: Scalars['Int']['output'];
  /** Why the run failed (a record that fails alone is counted in `failed`, not here). */
  error?: Maybe<Scalars['String']['output']>;
  failed: Scalars['Int']['output'];
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['UUID']['output'];
  integrationId: Scalars['UUID']['output'];
  mode: SyncMode;
  /** The user who asked for it; null for scheduled runs. */
  requestedBy?: Maybe<Scalars['UUID']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: SyncRunStatus;
  trigger: SyncTrigger;
  unchanged: Scalars['Int']['output'];
  updated: Scalars['Int']['output'];
};

export type SyncRunConnection = {
  __typename?: 'SyncRunConnection';
  edges: Array<SyncRunEdge>;
  pageInfo: PageInfo;
  /** Counted only when asked for. */
  totalCount: Scalars['Int']['output'];
};

export type SyncRunEdge = {
  __typename?: 'SyncRunEdge';
  cursor: Scalars['String']['output'];
  node: SyncRun;
};

export type SyncRunStatus =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

export type SyncTrigger =
  | 'MANUAL'
  | 'SCHEDULED';

export type Tenant = {
  __typename?: 'Tenant';
  /** Audit entries older than this many days are pruned daily. */
  auditRetentionDays: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  name: Scalars['String']['output'];
  plan: TenantPlan;
  /** Lower-case, used at login and in URLs. */
  slug: Scalars['String']['output'];
  /** Password logins are refused except for break-glass OWNERs (setSsoEnforcement). */
  ssoEnforced: Scalars['Boolean']['output'];
  status: TenantStatus;
  updatedAt: Scalars['DateTime']['output'];
};

/** An email domain the tenant claims. Verified by an OWNER; a verified domain belongs to one tenant only. */
export type TenantDomain = {
  __typename?: 'TenantDomain';
  createdAt: Scalars['DateTime']['output'];
  /** Lower-case, e.g. example.com. */
  domain: Scalars['String']['output'];
  id: Scalars['UUID']['output'];
  verified: Scalars['Boolean']['output'];
  verifiedAt?: Maybe<Scalars['DateTime']['output']>;
};

/** How many of the tenant's integrations are in each status. */
export type TenantHealthSummary = {
  __typename?: 'TenantHealthSummary';
  degraded: Scalars['Int']['output'];
  down: Scalars['Int']['output'];
  healthy: Scalars['Int']['output'];
  unknown: Scalars['Int']['output'];
};

export type TenantPlan =
  | 'ENTERPRISE'
  | 'FREE'
  | 'PRO'
  | 'STARTER';

export type TenantStatus =
  | 'ACTIVE'
  | 'SUSPENDED';

export type TriggerSyncPayload = {
  __typename?: 'TriggerSyncPayload';
  /** True when a run of the same mode was already queued or running and this request joined it. */
  joined: Scalars['Boolean']['output'];
  run: SyncRun;
};

export type UpdateIntegrationInput = {
  /** Replaces the stored API key. */
  apiKey?: InputMaybe<Scalars['String']['input']>;
  baseUrl?: InputMaybe<Scalars['String']['input']>;
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  inviteNewUsers?: InputMaybe<Scalars['Boolean']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
  /** Replaces the source allowlist; [] removes it (any sender). */
  webhookAllowedSources?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type UpdateOrganizationInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateSsoConnectionInput = {
  allowIdpInitiated?: InputMaybe<Scalars['Boolean']['input']>;
  clientId?: InputMaybe<Scalars['String']['input']>;
  /** A new client secret (rotation). */
  clientSecret?: InputMaybe<Scalars['String']['input']>;
  clockSkewSeconds?: InputMaybe<Scalars['Int']['input']>;
  defaultRole?: InputMaybe<Role>;
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  idpCertificates?: InputMaybe<Array<Scalars['String']['input']>>;
  idpEntityId?: InputMaybe<Scalars['String']['input']>;
  /** SAML only: new metadata, or any of the fields below. */
  idpMetadataXml?: InputMaybe<Scalars['String']['input']>;
  idpSsoUrl?: InputMaybe<Scalars['String']['input']>;
  issuer?: InputMaybe<Scalars['String']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
  /** null removes the role claim (everyone gets the default role). */
  roleClaim?: InputMaybe<Scalars['String']['input']>;
  roleMapping?: InputMaybe<Array<SsoRoleMappingInput>>;
  scopes?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateTenantInput = {
  /** 30–3650; unchanged when omitted. */
  auditRetentionDays?: InputMaybe<Scalars['Int']['input']>;
  name: Scalars['String']['input'];
};

export type UpdateUserInput = {
  email?: InputMaybe<Scalars['EmailAddress']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
  password?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateUsersItem = {
  id: Scalars['UUID']['input'];
  name?: InputMaybe<Scalars['String']['input']>;
  role?: InputMaybe<Role>;
  /** ACTIVE (reactivate; INVITED if they have no password yet) or DEACTIVATED (also ends their sessions). */
  status?: InputMaybe<UserStatus>;
};

export type User = {
  __typename?: 'User';
  createdAt: Scalars['DateTime']['output'];
  email: Scalars['EmailAddress']['output'];
  id: Scalars['UUID']['output'];
  /** The same, with the user's role in each. */
  memberships: Array<OrganizationMember>;
  name: Scalars['String']['output'];
  /** Organizations this user belongs to, by name. */
  organizations: Array<Organization>;
  role: Role;
  /** An OWNER who may still sign in with a password while SSO is enforced. */
  ssoBreakGlass: Scalars['Boolean']['output'];
  status: UserStatus;
  updatedAt: Scalars['DateTime']['output'];
};

export type UserConnection = {
  __typename?: 'UserConnection';
  edges: Array<UserEdge>;
  pageInfo: PageInfo;
  /** Counted only when asked for. */
  totalCount: Scalars['Int']['output'];
};

export type UserEdge = {
  __typename?: 'UserEdge';
  cursor: Scalars['String']['output'];
  node: User;
};

export type UserFilter = {
  role?: InputMaybe<Role>;
  /** Case-insensitive substring of email or name. */
  search?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<UserStatus>;
};

export type UserResult = {
  __typename?: 'UserResult';
  error?: Maybe<ItemError>;
  /** The item's position in the input list (0-based). */
  index: Scalars['Int']['output'];
  user?: Maybe<User>;
};

export type UserStatus =
  | 'ACTIVE'
  | 'DEACTIVATED'
  | 'INVITED';

export type UsersPayload = {
  __typename?: 'UsersPayload';
  failed: Scalars['Int']['output'];
  /** One per input item, in input order. */
  results: Array<UserResult>;
  succeeded: Scalars['Int']['output'];
};

/** One event received by webhook, as stored, with what processing did. */
export type WebhookEvent = {
  __typename?: 'WebhookEvent';
  /** Processing attempts so far. */
  attempts: Scalars['Int']['output'];
  /** The delivery's webhook-id (a batch shares one). */
  deliveryId: Scalars['String']['output'];
  id: Scalars['UUID']['output'];
  integration?: Maybe<Integration>;
  integrationId: Scalars['UUID']['output'];
  lastError?: Maybe<Scalars['String']['output']>;
  /** What applying it did: created, updated, unchanged or deleted. */
  outcome?: Maybe<Scalars['String']['output']>;
  payload: Scalars['JSON']['output'];
  processedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The provider's event id (the dedupe key). */
  providerEventId: Scalars['String']['output'];
  receivedAt: Scalars['DateTime']['output'];
  status: WebhookEventStatus;
  type: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type WebhookEventConnection = {
  __typename?: 'WebhookEventConnection';
  edges: Array<WebhookEventEdge>;
  pageInfo: PageInfo;
  /** Counted only when asked for. */
  totalCount: Scalars['Int']['output'];
};

export type WebhookEventEdge = {
  __typename?: 'WebhookEventEdge';
  cursor: Scalars['String']['output'];
  node: WebhookEvent;
};

export type WebhookEventFilter = {
  integrationId?: InputMaybe<Scalars['UUID']['input']>;
  /** Received at or after this time. */
  receivedAfter?: InputMaybe<Scalars['DateTime']['input']>;
  /** Received before this time. */
  receivedBefore?: InputMaybe<Scalars['DateTime']['input']>;
  /** Any of these statuses. */
  status?: InputMaybe<Array<WebhookEventStatus>>;
  /** Exact event type, e.g. user.created. */
  type?: InputMaybe<Scalars['String']['input']>;
};

export type WebhookEventStatus =
  /** Every attempt failed; replay it once the cause is fixed. */
  | 'DEAD'
  /** The last attempt failed; it will be retried. */
  | 'FAILED'
  | 'PROCESSED'
  | 'PROCESSING'
  /** Stored and queued. */
  | 'RECEIVED';



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  ActorType: ActorType;
  ApiKey: ResolverTypeWrapper<ApiKeyView>;
  ApiKeyStatus: ApiKeyStatus;
  AuditIntegrityReport: ResolverTypeWrapper<AuditIntegrityReport>;
  AuditLog: ResolverTypeWrapper<AuditLogRow>;
  AuditLogConnection: ResolverTypeWrapper<AuditLogPage>;
  AuditLogEdge: ResolverTypeWrapper<Omit<AuditLogEdge, 'node'> & { node: ResolversTypes['AuditLog'] }>;
  AuditLogFilter: AuditLogFilter;
  AuthPayload: ResolverTypeWrapper<SessionTokens>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  CircuitState: CircuitState;
  CreateApiKeyInput: CreateApiKeyInput;
  CreateApiKeyPayload: ResolverTypeWrapper<CreatedApiKey>;
  CreateIntegrationInput: CreateIntegrationInput;
  CreateOidcConnectionInput: CreateOidcConnectionInput;
  CreateOrganizationInput: CreateOrganizationInput;
  CreateSamlConnectionInput: CreateSamlConnectionInput;
  CreateTenantInput: CreateTenantInput;
  CreateUserInput: CreateUserInput;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  DeletePayload: ResolverTypeWrapper<DeletePayload>;
  EmailAddress: ResolverTypeWrapper<Scalars['EmailAddress']['output']>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  ImportJob: ResolverTypeWrapper<ImportJobRow>;
  ImportRowError: ResolverTypeWrapper<ImportErrorRow>;
  ImportStatus: ImportStatus;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  Integration: ResolverTypeWrapper<IntegrationRow>;
  IntegrationCircuit: ResolverTypeWrapper<IntegrationCircuit>;
  IntegrationHealth: ResolverTypeWrapper<IntegrationHealth>;
  IntegrationHealthChange: ResolverTypeWrapper<IntegrationHealthChange>;
  IntegrationHealthSignals: ResolverTypeWrapper<IntegrationHealthSignals>;
  IntegrationHealthStatus: IntegrationHealthStatus;
  IntegrationProvider: IntegrationProvider;
  IntegrationPush: ResolverTypeWrapper<IntegrationPushRow>;
  IntegrationPushConnection: ResolverTypeWrapper<IntegrationPushConnectionResult>;
  IntegrationPushEdge: ResolverTypeWrapper<Omit<IntegrationPushEdge, 'node'> & { node: ResolversTypes['IntegrationPush'] }>;
  IntegrationPushStatus: IntegrationPushStatus;
  IntegrationSecretPayload: ResolverTypeWrapper<IntegrationWithSecret>;
  Invitation: ResolverTypeWrapper<InvitationView>;
  InvitationConnection: ResolverTypeWrapper<InvitationPage>;
  InvitationEdge: ResolverTypeWrapper<Omit<InvitationEdge, 'node'> & { node: ResolversTypes['Invitation'] }>;
  InvitationFilter: InvitationFilter;
  InvitationPayload: ResolverTypeWrapper<InvitationPayloadView>;
  InvitationStatus: InvitationStatus;
  InviteUserInput: InviteUserInput;
  ItemError: ResolverTypeWrapper<ItemError>;
  ItemFieldError: ResolverTypeWrapper<ItemFieldError>;
  JSON: ResolverTypeWrapper<Scalars['JSON']['output']>;
  LoginInput: LoginInput;
  MemberResult: ResolverTypeWrapper<MemberItemResult>;
  MembersPayload: ResolverTypeWrapper<MemberResults>;
  MessageDeliveryStatus: MessageDeliveryStatus;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Organization: ResolverTypeWrapper<OrganizationRow>;
  OrganizationConnection: ResolverTypeWrapper<OrganizationConnectionResult>;
  OrganizationEdge: ResolverTypeWrapper<Omit<OrganizationEdge, 'node'> & { node: ResolversTypes['Organization'] }>;
  OrganizationFilter: OrganizationFilter;
  OrganizationMember: ResolverTypeWrapper<MembershipRow>;
  OrganizationMemberInput: OrganizationMemberInput;
  OrganizationRole: OrganizationRole;
  OutboundMessage: ResolverTypeWrapper<OutboundMessageRow>;
  OutboundMessageStatus: OutboundMessageStatus;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  PlatformAuthPayload: ResolverTypeWrapper<PlatformAuthPayload>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  ReplayWebhookEventsPayload: ResolverTypeWrapper<ReplayWebhookEventsPayload>;
  Role: Role;
  SamlCertificate: ResolverTypeWrapper<SamlCertificate>;
  ScimToken: ResolverTypeWrapper<ScimTokenRow>;
  ScimTokenSecretPayload: ResolverTypeWrapper<ScimTokenWithSecret>;
  Session: ResolverTypeWrapper<SessionView>;
  SsoConnection: ResolverTypeWrapper<SsoConnectionRow>;
  SsoConnectionTestResult: ResolverTypeWrapper<SsoConnectionTestResult>;
  SsoProtocol: SsoProtocol;
  SsoRoleMapping: ResolverTypeWrapper<SsoRoleMapping>;
  SsoRoleMappingInput: SsoRoleMappingInput;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  SyncMode: SyncMode;
  SyncRun: ResolverTypeWrapper<SyncRunRow>;
  SyncRunConnection: ResolverTypeWrapper<SyncRunConnectionResult>;
  SyncRunEdge: ResolverTypeWrapper<Omit<SyncRunEdge, 'node'> & { node: ResolversTypes['SyncRun'] }>;
  SyncRunStatus: SyncRunStatus;
  SyncTrigger: SyncTrigger;
  Tenant: ResolverTypeWrapper<TenantRow>;
  TenantDomain: ResolverTypeWrapper<TenantDomainRow>;
  TenantHealthSummary: ResolverTypeWrapper<TenantHealthSummary>;
  TenantPlan: TenantPlan;
  TenantStatus: TenantStatus;
  TriggerSyncPayload: ResolverTypeWrapper<Omit<TriggerSyncPayload, 'run'> & { run: ResolversTypes['SyncRun'] }>;
  UUID: ResolverTypeWrapper<Scalars['UUID']['output']>;
  UpdateIntegrationInput: UpdateIntegrationInput;
  UpdateOrganizationInput: UpdateOrganizationInput;
  UpdateSsoConnectionInput: UpdateSsoConnectionInput;
  UpdateTenantInput: UpdateTenantInput;
  UpdateUserInput: UpdateUserInput;
  UpdateUsersItem: UpdateUsersItem;
  User: ResolverTypeWrapper<UserRow>;
  UserConnection: ResolverTypeWrapper<UserConnectionResult>;
  UserEdge: ResolverTypeWrapper<Omit<UserEdge, 'node'> & { node: ResolversTypes['User'] }>;
  UserFilter: UserFilter;
  UserResult: ResolverTypeWrapper<UserItemResult>;
  UserStatus: UserStatus;
  UsersPayload: ResolverTypeWrapper<UserResults>;
  WebhookEvent: ResolverTypeWrapper<WebhookEventView>;
  WebhookEventConnection: ResolverTypeWrapper<WebhookEventConnectionResult>;
  WebhookEventEdge: ResolverTypeWrapper<Omit<WebhookEventEdge, 'node'> & { node: ResolversTypes['WebhookEvent'] }>;
  WebhookEventFilter: WebhookEventFilter;
  WebhookEventStatus: WebhookEventStatus;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  ApiKey: ApiKeyView;
  AuditIntegrityReport: AuditIntegrityReport;
  AuditLog: AuditLogRow;
  AuditLogConnection: AuditLogPage;
  AuditLogEdge: Omit<AuditLogEdge, 'node'> & { node: ResolversParentTypes['AuditLog'] };
  AuditLogFilter: AuditLogFilter;
  AuthPayload: SessionTokens;
  Boolean: Scalars['Boolean']['output'];
  CreateApiKeyInput: CreateApiKeyInput;
  CreateApiKeyPayload: CreatedApiKey;
  CreateIntegrationInput: CreateIntegrationInput;
  CreateOidcConnectionInput: CreateOidcConnectionInput;
  CreateOrganizationInput: CreateOrganizationInput;
  CreateSamlConnectionInput: CreateSamlConnectionInput;
  CreateTenantInput: CreateTenantInput;
  CreateUserInput: CreateUserInput;
  DateTime: Scalars['DateTime']['output'];
  DeletePayload: DeletePayload;
  EmailAddress: Scalars['EmailAddress']['output'];
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  ImportJob: ImportJobRow;
  ImportRowError: ImportErrorRow;
  Int: Scalars['Int']['output'];
  Integration: IntegrationRow;
  IntegrationCircuit: IntegrationCircuit;
  IntegrationHealth: IntegrationHealth;
  IntegrationHealthChange: IntegrationHealthChange;
  IntegrationHealthSignals: IntegrationHealthSignals;
  IntegrationPush: IntegrationPushRow;
  IntegrationPushConnection: IntegrationPushConnectionResult;
  IntegrationPushEdge: Omit<IntegrationPushEdge, 'node'> & { node: ResolversParentTypes['IntegrationPush'] };
  IntegrationSecretPayload: IntegrationWithSecret;
  Invitation: InvitationView;
  InvitationConnection: InvitationPage;
  InvitationEdge: Omit<InvitationEdge, 'node'> & { node: ResolversParentTypes['Invitation'] };
  InvitationFilter: InvitationFilter;
  InvitationPayload: InvitationPayloadView;
  InviteUserInput: InviteUserInput;
  ItemError: ItemError;
  ItemFieldError: ItemFieldError;
  JSON: Scalars['JSON']['output'];
  LoginInput: LoginInput;
  MemberResult: MemberItemResult;
  MembersPayload: MemberResults;
  Mutation: Record<PropertyKey, never>;
  Organization: OrganizationRow;
  OrganizationConnection: OrganizationConnectionResult;
  OrganizationEdge: Omit<OrganizationEdge, 'node'> & { node: ResolversParentTypes['Organization'] };
  OrganizationFilter: OrganizationFilter;
  OrganizationMember: MembershipRow;
  OrganizationMemberInput: OrganizationMemberInput;
  OutboundMessage: OutboundMessageRow;
  PageInfo: PageInfo;
  PlatformAuthPayload: PlatformAuthPayload;
  Query: Record<PropertyKey, never>;
  ReplayWebhookEventsPayload: ReplayWebhookEventsPayload;
  SamlCertificate: SamlCertificate;
  ScimToken: ScimTokenRow;
  ScimTokenSecretPayload: ScimTokenWithSecret;
  Session: SessionView;
  SsoConnection: SsoConnectionRow;
  SsoConnectionTestResult: SsoConnectionTestResult;
  SsoRoleMapping: SsoRoleMapping;
  SsoRoleMappingInput: SsoRoleMappingInput;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  SyncRun: SyncRunRow;
  SyncRunConnection: SyncRunConnectionResult;
  SyncRunEdge: Omit<SyncRunEdge, 'node'> & { node: ResolversParentTypes['SyncRun'] };
  Tenant: TenantRow;
  TenantDomain: TenantDomainRow;
  TenantHealthSummary: TenantHealthSummary;
  TriggerSyncPayload: Omit<TriggerSyncPayload, 'run'> & { run: ResolversParentTypes['SyncRun'] };
  UUID: Scalars['UUID']['output'];
  UpdateIntegrationInput: UpdateIntegrationInput;
  UpdateOrganizationInput: UpdateOrganizationInput;
  UpdateSsoConnectionInput: UpdateSsoConnectionInput;
  UpdateTenantInput: UpdateTenantInput;
  UpdateUserInput: UpdateUserInput;
  UpdateUsersItem: UpdateUsersItem;
  User: UserRow;
  UserConnection: UserConnectionResult;
  UserEdge: Omit<UserEdge, 'node'> & { node: ResolversParentTypes['User'] };
  UserFilter: UserFilter;
  UserResult: UserItemResult;
  UsersPayload: UserResults;
  WebhookEvent: WebhookEventView;
  WebhookEventConnection: WebhookEventConnectionResult;
  WebhookEventEdge: Omit<WebhookEventEdge, 'node'> & { node: ResolversParentTypes['WebhookEvent'] };
  WebhookEventFilter: WebhookEventFilter;
};

export type ApiKeyResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ApiKey'] = ResolversParentTypes['ApiKey']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  createdBy?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType>;
  expiresAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  lastUsedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  lastUsedIp?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  prefix?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  revokedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['ApiKeyStatus'], ParentType, ContextType>;
};

export type AuditIntegrityReportResolvers<ContextType = Context, ParentType extends ResolversParentTypes['AuditIntegrityReport'] = ResolversParentTypes['AuditIntegrityReport']> = {
  checkedEntries?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  firstBrokenId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  ok?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  reason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type AuditLogResolvers<ContextType = Context, ParentType extends ResolversParentTypes['AuditLog'] = ResolversParentTypes['AuditLog']> = {
  action?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  actorId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  actorType?: Resolver<ResolversTypes['ActorType'], ParentType, ContextType>;
  changes?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  clientIp?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  entityId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  entityType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  requestId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  userAgent?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type AuditLogConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['AuditLogConnection'] = ResolversParentTypes['AuditLogConnection']> = {
  edges?: Resolver<Array<ResolversTypes['AuditLogEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type AuditLogEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['AuditLogEdge'] = ResolversParentTypes['AuditLogEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['AuditLog'], ParentType, ContextType>;
};

export type AuthPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['AuthPayload'] = ResolversParentTypes['AuthPayload']> = {
  accessToken?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  accessTokenExpiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  refreshToken?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  refreshTokenExpiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type CreateApiKeyPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CreateApiKeyPayload'] = ResolversParentTypes['CreateApiKeyPayload']> = {
  apiKey?: Resolver<ResolversTypes['ApiKey'], ParentType, ContextType>;
  key?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type DeletePayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['DeletePayload'] = ResolversParentTypes['DeletePayload']> = {
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
};

export interface EmailAddressScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['EmailAddress'], any> {
  name: 'EmailAddress';
}

export type ImportJobResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ImportJob'] = ResolversParentTypes['ImportJob']> = {
  appliedThrough?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  createdRows?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  errors?: Resolver<Array<ResolversTypes['ImportRowError']>, ParentType, ContextType, RequireFields<ImportJobErrorsArgs, 'afterRow' | 'first'>>;
  failedRows?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  fileHash?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  format?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['ImportStatus'], ParentType, ContextType>;
  totalRows?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  validRows?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ImportRowErrorResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ImportRowError'] = ResolversParentTypes['ImportRowError']> = {
  code?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  fields?: Resolver<Maybe<Array<ResolversTypes['ItemFieldError']>>, ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  row?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type IntegrationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Integration'] = ResolversParentTypes['Integration']> = {
  baseUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  circuit?: Resolver<ResolversTypes['IntegrationCircuit'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  enabled?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  health?: Resolver<ResolversTypes['IntegrationHealth'], ParentType, ContextType>;
  healthHistory?: Resolver<Array<ResolversTypes['IntegrationHealthChange']>, ParentType, ContextType, RequireFields<IntegrationHealthHistoryArgs, 'first'>>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  inviteNewUsers?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  lastSyncRun?: Resolver<Maybe<ResolversTypes['SyncRun']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  previousSecretExpiresAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  provider?: Resolver<ResolversTypes['IntegrationProvider'], ParentType, ContextType>;
  syncRuns?: Resolver<ResolversTypes['SyncRunConnection'], ParentType, ContextType, RequireFields<IntegrationSyncRunsArgs, 'first'>>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  webhookAllowedSources?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  webhookUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type IntegrationCircuitResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationCircuit'] = ResolversParentTypes['IntegrationCircuit']> = {
  integrationId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  manual?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  openedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  reason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['CircuitState'], ParentType, ContextType>;
  updatedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
};

export type IntegrationHealthResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationHealth'] = ResolversParentTypes['IntegrationHealth']> = {
  integrationId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  reason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  signals?: Resolver<ResolversTypes['IntegrationHealthSignals'], ParentType, ContextType>;
  since?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['IntegrationHealthStatus'], ParentType, ContextType>;
};

export type IntegrationHealthChangeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationHealthChange'] = ResolversParentTypes['IntegrationHealthChange']> = {
  changedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  integrationId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  previousStatus?: Resolver<Maybe<ResolversTypes['IntegrationHealthStatus']>, ParentType, ContextType>;
  reason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  signals?: Resolver<Maybe<ResolversTypes['IntegrationHealthSignals']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['IntegrationHealthStatus'], ParentType, ContextType>;
};

export type IntegrationHealthSignalsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationHealthSignals'] = ResolversParentTypes['IntegrationHealthSignals']> = {
  breakerState?: Resolver<ResolversTypes['CircuitState'], ParentType, ContextType>;
  callCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  deadLetterCount?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  failureRatio?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  lastCheckAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  lastCheckOk?: Resolver<Maybe<ResolversTypes['Boolean']>, ParentType, ContextType>;
  lastSuccessfulSyncAgeSeconds?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  webhookFailureRatio?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type IntegrationPushResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationPush'] = ResolversParentTypes['IntegrationPush']> = {
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  externalId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  externalVersion?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  integrationId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  lastError?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  operation?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['IntegrationPushStatus'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  userId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
};

export type IntegrationPushConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationPushConnection'] = ResolversParentTypes['IntegrationPushConnection']> = {
  edges?: Resolver<Array<ResolversTypes['IntegrationPushEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type IntegrationPushEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationPushEdge'] = ResolversParentTypes['IntegrationPushEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['IntegrationPush'], ParentType, ContextType>;
};

export type IntegrationSecretPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['IntegrationSecretPayload'] = ResolversParentTypes['IntegrationSecretPayload']> = {
  integration?: Resolver<ResolversTypes['Integration'], ParentType, ContextType>;
  previousSecretExpiresAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  webhookSecret?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type InvitationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Invitation'] = ResolversParentTypes['Invitation']> = {
  acceptedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  email?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  expiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  invitedBy?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType>;
  message?: Resolver<Maybe<ResolversTypes['OutboundMessage']>, ParentType, ContextType>;
  revokedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['InvitationStatus'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type InvitationConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['InvitationConnection'] = ResolversParentTypes['InvitationConnection']> = {
  edges?: Resolver<Array<ResolversTypes['InvitationEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type InvitationEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['InvitationEdge'] = ResolversParentTypes['InvitationEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Invitation'], ParentType, ContextType>;
};

export type InvitationPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['InvitationPayload'] = ResolversParentTypes['InvitationPayload']> = {
  invitation?: Resolver<ResolversTypes['Invitation'], ParentType, ContextType>;
  invitationUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type ItemErrorResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ItemError'] = ResolversParentTypes['ItemError']> = {
  code?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  fields?: Resolver<Maybe<Array<ResolversTypes['ItemFieldError']>>, ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ItemFieldErrorResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ItemFieldError'] = ResolversParentTypes['ItemFieldError']> = {
  field?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface JsonScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['JSON'], any> {
  name: 'JSON';
}

export type MemberResultResolvers<ContextType = Context, ParentType extends ResolversParentTypes['MemberResult'] = ResolversParentTypes['MemberResult']> = {
  error?: Resolver<Maybe<ResolversTypes['ItemError']>, ParentType, ContextType>;
  index?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  member?: Resolver<Maybe<ResolversTypes['OrganizationMember']>, ParentType, ContextType>;
};

export type MembersPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['MembersPayload'] = ResolversParentTypes['MembersPayload']> = {
  failed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  results?: Resolver<Array<ResolversTypes['MemberResult']>, ParentType, ContextType>;
  succeeded?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  _noop?: Resolver<Maybe<ResolversTypes['Boolean']>, ParentType, ContextType>;
  acceptInvitation?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationAcceptInvitationArgs, 'password' | 'token'>>;
  addOrganizationMember?: Resolver<ResolversTypes['OrganizationMember'], ParentType, ContextType, RequireFields<MutationAddOrganizationMemberArgs, 'organizationId' | 'role' | 'userId'>>;
  addOrganizationMembers?: Resolver<ResolversTypes['MembersPayload'], ParentType, ContextType, RequireFields<MutationAddOrganizationMembersArgs, 'members' | 'organizationId'>>;
  addTenantDomain?: Resolver<ResolversTypes['TenantDomain'], ParentType, ContextType, RequireFields<MutationAddTenantDomainArgs, 'domain'>>;
  changeOrganizationMemberRole?: Resolver<ResolversTypes['OrganizationMember'], ParentType, ContextType, RequireFields<MutationChangeOrganizationMemberRoleArgs, 'organizationId' | 'role' | 'userId'>>;
  changePassword?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationChangePasswordArgs, 'currentPassword' | 'newPassword'>>;
  changeTenantPlan?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationChangeTenantPlanArgs, 'id' | 'plan'>>;
  changeUserRole?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationChangeUserRoleArgs, 'id' | 'role'>>;
  confirmEmailChange?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationConfirmEmailChangeArgs, 'token'>>;
  createApiKey?: Resolver<ResolversTypes['CreateApiKeyPayload'], ParentType, ContextType, RequireFields<MutationCreateApiKeyArgs, 'input'>>;
  createIntegration?: Resolver<ResolversTypes['IntegrationSecretPayload'], ParentType, ContextType, RequireFields<MutationCreateIntegrationArgs, 'input'>>;
  createOidcConnection?: Resolver<ResolversTypes['SsoConnection'], ParentType, ContextType, RequireFields<MutationCreateOidcConnectionArgs, 'input'>>;
  createOrganization?: Resolver<ResolversTypes['Organization'], ParentType, ContextType, RequireFields<MutationCreateOrganizationArgs, 'input'>>;
  createSamlConnection?: Resolver<ResolversTypes['SsoConnection'], ParentType, ContextType, RequireFields<MutationCreateSamlConnectionArgs, 'input'>>;
  createScimToken?: Resolver<ResolversTypes['ScimTokenSecretPayload'], ParentType, ContextType, RequireFields<MutationCreateScimTokenArgs, 'name'>>;
  createTenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationCreateTenantArgs, 'input'>>;
  createUser?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationCreateUserArgs, 'input'>>;
  createUsers?: Resolver<ResolversTypes['UsersPayload'], ParentType, ContextType, RequireFields<MutationCreateUsersArgs, 'inputs'>>;
  deactivateUser?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationDeactivateUserArgs, 'id'>>;
  deleteIntegration?: Resolver<ResolversTypes['DeletePayload'], ParentType, ContextType, RequireFields<MutationDeleteIntegrationArgs, 'id'>>;
  deleteOrganization?: Resolver<ResolversTypes['DeletePayload'], ParentType, ContextType, RequireFields<MutationDeleteOrganizationArgs, 'id'>>;
  deleteSsoConnection?: Resolver<ResolversTypes['DeletePayload'], ParentType, ContextType, RequireFields<MutationDeleteSsoConnectionArgs, 'id'>>;
  deleteUser?: Resolver<ResolversTypes['DeletePayload'], ParentType, ContextType, RequireFields<MutationDeleteUserArgs, 'id'>>;
  exchangeSsoCode?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationExchangeSsoCodeArgs, 'code'>>;
  inviteAllPendingUsers?: Resolver<Array<ResolversTypes['InvitationPayload']>, ParentType, ContextType>;
  inviteUser?: Resolver<ResolversTypes['InvitationPayload'], ParentType, ContextType, RequireFields<MutationInviteUserArgs, 'input'>>;
  isolateIntegrationCircuit?: Resolver<ResolversTypes['IntegrationCircuit'], ParentType, ContextType, RequireFields<MutationIsolateIntegrationCircuitArgs, 'integrationId' | 'reason'>>;
  login?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationLoginArgs, 'input'>>;
  logout?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationLogoutArgs, 'refreshToken'>>;
  platformLogin?: Resolver<ResolversTypes['PlatformAuthPayload'], ParentType, ContextType, RequireFields<MutationPlatformLoginArgs, 'email' | 'password'>>;
  reactivateTenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationReactivateTenantArgs, 'id'>>;
  reactivateUser?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationReactivateUserArgs, 'id'>>;
  refreshSession?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationRefreshSessionArgs, 'refreshToken'>>;
  removeOrganizationMember?: Resolver<ResolversTypes['DeletePayload'], ParentType, ContextType, RequireFields<MutationRemoveOrganizationMemberArgs, 'organizationId' | 'userId'>>;
  removeTenantDomain?: Resolver<ResolversTypes['DeletePayload'], ParentType, ContextType, RequireFields<MutationRemoveTenantDomainArgs, 'id'>>;
  replayWebhookEvent?: Resolver<ResolversTypes['WebhookEvent'], ParentType, ContextType, RequireFields<MutationReplayWebhookEventArgs, 'id'>>;
  replayWebhookEvents?: Resolver<ResolversTypes['ReplayWebhookEventsPayload'], ParentType, ContextType, RequireFields<MutationReplayWebhookEventsArgs, 'filter' | 'limit'>>;
  requestEmailChange?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationRequestEmailChangeArgs, 'currentPassword' | 'newEmail'>>;
  requestPasswordReset?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationRequestPasswordResetArgs, 'email'>>;
  resendInvitation?: Resolver<ResolversTypes['InvitationPayload'], ParentType, ContextType, RequireFields<MutationResendInvitationArgs, 'userId'>>;
  resetIntegrationCircuit?: Resolver<ResolversTypes['IntegrationCircuit'], ParentType, ContextType, RequireFields<MutationResetIntegrationCircuitArgs, 'integrationId'>>;
  resetPassword?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationResetPasswordArgs, 'newPassword' | 'token'>>;
  retryIntegrationPush?: Resolver<ResolversTypes['IntegrationPush'], ParentType, ContextType, RequireFields<MutationRetryIntegrationPushArgs, 'id'>>;
  revokeApiKey?: Resolver<ResolversTypes['ApiKey'], ParentType, ContextType, RequireFields<MutationRevokeApiKeyArgs, 'id'>>;
  revokeInvitation?: Resolver<ResolversTypes['Invitation'], ParentType, ContextType, RequireFields<MutationRevokeInvitationArgs, 'id'>>;
  revokeOtherSessions?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  revokeScimToken?: Resolver<ResolversTypes['ScimToken'], ParentType, ContextType, RequireFields<MutationRevokeScimTokenArgs, 'id'>>;
  revokeSession?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationRevokeSessionArgs, 'id'>>;
  revokeUserSessions?: Resolver<ResolversTypes['Int'], ParentType, ContextType, RequireFields<MutationRevokeUserSessionsArgs, 'userId'>>;
  rotateWebhookSecret?: Resolver<ResolversTypes['IntegrationSecretPayload'], ParentType, ContextType, RequireFields<MutationRotateWebhookSecretArgs, 'id'>>;
  setSsoBreakGlass?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationSetSsoBreakGlassArgs, 'enabled' | 'userId'>>;
  setSsoEnforcement?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationSetSsoEnforcementArgs, 'enforced'>>;
  suspendTenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationSuspendTenantArgs, 'id'>>;
  testSsoConnection?: Resolver<ResolversTypes['SsoConnectionTestResult'], ParentType, ContextType, RequireFields<MutationTestSsoConnectionArgs, 'id'>>;
  triggerSync?: Resolver<ResolversTypes['TriggerSyncPayload'], ParentType, ContextType, RequireFields<MutationTriggerSyncArgs, 'integrationId' | 'mode'>>;
  updateIntegration?: Resolver<ResolversTypes['Integration'], ParentType, ContextType, RequireFields<MutationUpdateIntegrationArgs, 'id' | 'input'>>;
  updateOrganization?: Resolver<ResolversTypes['Organization'], ParentType, ContextType, RequireFields<MutationUpdateOrganizationArgs, 'id' | 'input'>>;
  updateSsoConnection?: Resolver<ResolversTypes['SsoConnection'], ParentType, ContextType, RequireFields<MutationUpdateSsoConnectionArgs, 'id' | 'input'>>;
  updateTenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationUpdateTenantArgs, 'input'>>;
  updateUser?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationUpdateUserArgs, 'id' | 'input'>>;
  updateUsers?: Resolver<ResolversTypes['UsersPayload'], ParentType, ContextType, RequireFields<MutationUpdateUsersArgs, 'inputs'>>;
  verifyTenantDomain?: Resolver<ResolversTypes['TenantDomain'], ParentType, ContextType, RequireFields<MutationVerifyTenantDomainArgs, 'id'>>;
};

export type OrganizationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Organization'] = ResolversParentTypes['Organization']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  description?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  members?: Resolver<Array<ResolversTypes['OrganizationMember']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type OrganizationConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['OrganizationConnection'] = ResolversParentTypes['OrganizationConnection']> = {
  edges?: Resolver<Array<ResolversTypes['OrganizationEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type OrganizationEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['OrganizationEdge'] = ResolversParentTypes['OrganizationEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Organization'], ParentType, ContextType>;
};

export type OrganizationMemberResolvers<ContextType = Context, ParentType extends ResolversParentTypes['OrganizationMember'] = ResolversParentTypes['OrganizationMember']> = {
  joinedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  organization?: Resolver<ResolversTypes['Organization'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['OrganizationRole'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type OutboundMessageResolvers<ContextType = Context, ParentType extends ResolversParentTypes['OutboundMessage'] = ResolversParentTypes['OutboundMessage']> = {
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  deliveryStatus?: Resolver<Maybe<ResolversTypes['MessageDeliveryStatus']>, ParentType, ContextType>;
  deliveryUpdatedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  lastError?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  providerMessageId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  sentAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['OutboundMessageStatus'], ParentType, ContextType>;
  subject?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  toEmail?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hasPreviousPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  startCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type PlatformAuthPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PlatformAuthPayload'] = ResolversParentTypes['PlatformAuthPayload']> = {
  accessToken?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  accessTokenExpiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  apiKeys?: Resolver<Array<ResolversTypes['ApiKey']>, ParentType, ContextType, RequireFields<QueryApiKeysArgs, 'includeRevoked'>>;
  auditIntegrity?: Resolver<ResolversTypes['AuditIntegrityReport'], ParentType, ContextType, Partial<QueryAuditIntegrityArgs>>;
  auditLogs?: Resolver<ResolversTypes['AuditLogConnection'], ParentType, ContextType, RequireFields<QueryAuditLogsArgs, 'first'>>;
  health?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  importJob?: Resolver<Maybe<ResolversTypes['ImportJob']>, ParentType, ContextType, RequireFields<QueryImportJobArgs, 'id'>>;
  integration?: Resolver<Maybe<ResolversTypes['Integration']>, ParentType, ContextType, RequireFields<QueryIntegrationArgs, 'id'>>;
  integrationCircuit?: Resolver<ResolversTypes['IntegrationCircuit'], ParentType, ContextType, RequireFields<QueryIntegrationCircuitArgs, 'integrationId'>>;
  integrationHealth?: Resolver<ResolversTypes['IntegrationHealth'], ParentType, ContextType, RequireFields<QueryIntegrationHealthArgs, 'integrationId'>>;
  integrationHealthHistory?: Resolver<Array<ResolversTypes['IntegrationHealthChange']>, ParentType, ContextType, RequireFields<QueryIntegrationHealthHistoryArgs, 'first' | 'integrationId'>>;
  integrationPushes?: Resolver<ResolversTypes['IntegrationPushConnection'], ParentType, ContextType, RequireFields<QueryIntegrationPushesArgs, 'first' | 'integrationId'>>;
  integrations?: Resolver<Array<ResolversTypes['Integration']>, ParentType, ContextType>;
  invitations?: Resolver<ResolversTypes['InvitationConnection'], ParentType, ContextType, RequireFields<QueryInvitationsArgs, 'first'>>;
  me?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  mySessions?: Resolver<Array<ResolversTypes['Session']>, ParentType, ContextType>;
  organization?: Resolver<Maybe<ResolversTypes['Organization']>, ParentType, ContextType, RequireFields<QueryOrganizationArgs, 'id'>>;
  organizations?: Resolver<ResolversTypes['OrganizationConnection'], ParentType, ContextType, RequireFields<QueryOrganizationsArgs, 'first'>>;
  platformTenants?: Resolver<Array<ResolversTypes['Tenant']>, ParentType, ContextType>;
  scimTokens?: Resolver<Array<ResolversTypes['ScimToken']>, ParentType, ContextType>;
  ssoConnections?: Resolver<Array<ResolversTypes['SsoConnection']>, ParentType, ContextType>;
  syncRun?: Resolver<Maybe<ResolversTypes['SyncRun']>, ParentType, ContextType, RequireFields<QuerySyncRunArgs, 'id'>>;
  syncRuns?: Resolver<ResolversTypes['SyncRunConnection'], ParentType, ContextType, RequireFields<QuerySyncRunsArgs, 'first' | 'integrationId'>>;
  tenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType>;
  tenantDomains?: Resolver<Array<ResolversTypes['TenantDomain']>, ParentType, ContextType>;
  tenantHealthSummary?: Resolver<ResolversTypes['TenantHealthSummary'], ParentType, ContextType>;
  user?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType, RequireFields<QueryUserArgs, 'id'>>;
  users?: Resolver<ResolversTypes['UserConnection'], ParentType, ContextType, RequireFields<QueryUsersArgs, 'first'>>;
  webhookEvent?: Resolver<Maybe<ResolversTypes['WebhookEvent']>, ParentType, ContextType, RequireFields<QueryWebhookEventArgs, 'id'>>;
  webhookEvents?: Resolver<ResolversTypes['WebhookEventConnection'], ParentType, ContextType, RequireFields<QueryWebhookEventsArgs, 'first'>>;
};

export type ReplayWebhookEventsPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ReplayWebhookEventsPayload'] = ResolversParentTypes['ReplayWebhookEventsPayload']> = {
  count?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type SamlCertificateResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SamlCertificate'] = ResolversParentTypes['SamlCertificate']> = {
  fingerprintSha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  notAfter?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  notBefore?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  pem?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  subject?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ScimTokenResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ScimToken'] = ResolversParentTypes['ScimToken']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  createdBy?: Resolver<Maybe<ResolversTypes['UUID']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  revokedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
};

export type ScimTokenSecretPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ScimTokenSecretPayload'] = ResolversParentTypes['ScimTokenSecretPayload']> = {
  baseUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  scimToken?: Resolver<ResolversTypes['ScimToken'], ParentType, ContextType>;
  token?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type SessionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Session'] = ResolversParentTypes['Session']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  current?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  expiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  ipAddress?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  lastUsedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  userAgent?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type SsoConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SsoConnection'] = ResolversParentTypes['SsoConnection']> = {
  acsUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  allowIdpInitiated?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  clientId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  clockSkewSeconds?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  configuredByRole?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  defaultRole?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  enabled?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  idpCertificates?: Resolver<Maybe<Array<ResolversTypes['SamlCertificate']>>, ParentType, ContextType>;
  idpEntityId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  idpSsoUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  issuer?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  protocol?: Resolver<ResolversTypes['SsoProtocol'], ParentType, ContextType>;
  redirectUri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  roleClaim?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  roleMapping?: Resolver<Array<ResolversTypes['SsoRoleMapping']>, ParentType, ContextType>;
  scopes?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  spEntityId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  spMetadataUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  startUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type SsoConnectionTestResultResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SsoConnectionTestResult'] = ResolversParentTypes['SsoConnectionTestResult']> = {
  issuer?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  message?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  ok?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type SsoRoleMappingResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SsoRoleMapping'] = ResolversParentTypes['SsoRoleMapping']> = {
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type SubscriptionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  heartbeat?: SubscriptionResolver<ResolversTypes['DateTime'], "heartbeat", ParentType, ContextType, RequireFields<SubscriptionHeartbeatArgs, 'intervalSeconds'>>;
  importJobProgress?: SubscriptionResolver<ResolversTypes['ImportJob'], "importJobProgress", ParentType, ContextType, RequireFields<SubscriptionImportJobProgressArgs, 'id'>>;
  integrationHealthChanged?: SubscriptionResolver<ResolversTypes['IntegrationHealthChange'], "integrationHealthChanged", ParentType, ContextType, Partial<SubscriptionIntegrationHealthChangedArgs>>;
};

export type SyncRunResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SyncRun'] = ResolversParentTypes['SyncRun']> = {
  created?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  deleted?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  failed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  integrationId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  mode?: Resolver<ResolversTypes['SyncMode'], ParentType, ContextType>;
  requestedBy?: Resolver<Maybe<ResolversTypes['UUID']>, ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['SyncRunStatus'], ParentType, ContextType>;
  trigger?: Resolver<ResolversTypes['SyncTrigger'], ParentType, ContextType>;
  unchanged?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  updated?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type SyncRunConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SyncRunConnection'] = ResolversParentTypes['SyncRunConnection']> = {
  edges?: Resolver<Array<ResolversTypes['SyncRunEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type SyncRunEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SyncRunEdge'] = ResolversParentTypes['SyncRunEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['SyncRun'], ParentType, ContextType>;
};

export type TenantResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Tenant'] = ResolversParentTypes['Tenant']> = {
  auditRetentionDays?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  plan?: Resolver<ResolversTypes['TenantPlan'], ParentType, ContextType>;
  slug?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  ssoEnforced?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['TenantStatus'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type TenantDomainResolvers<ContextType = Context, ParentType extends ResolversParentTypes['TenantDomain'] = ResolversParentTypes['TenantDomain']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  domain?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  verified?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  verifiedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
};

export type TenantHealthSummaryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['TenantHealthSummary'] = ResolversParentTypes['TenantHealthSummary']> = {
  degraded?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  down?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  healthy?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  unknown?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type TriggerSyncPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['TriggerSyncPayload'] = ResolversParentTypes['TriggerSyncPayload']> = {
  joined?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  run?: Resolver<ResolversTypes['SyncRun'], ParentType, ContextType>;
};

export interface UuidScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['UUID'], any> {
  name: 'UUID';
}

export type UserResolvers<ContextType = Context, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  email?: Resolver<ResolversTypes['EmailAddress'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  memberships?: Resolver<Array<ResolversTypes['OrganizationMember']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  organizations?: Resolver<Array<ResolversTypes['Organization']>, ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  ssoBreakGlass?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['UserStatus'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type UserConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['UserConnection'] = ResolversParentTypes['UserConnection']> = {
  edges?: Resolver<Array<ResolversTypes['UserEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type UserEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['UserEdge'] = ResolversParentTypes['UserEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type UserResultResolvers<ContextType = Context, ParentType extends ResolversParentTypes['UserResult'] = ResolversParentTypes['UserResult']> = {
  error?: Resolver<Maybe<ResolversTypes['ItemError']>, ParentType, ContextType>;
  index?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  user?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType>;
};

export type UsersPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['UsersPayload'] = ResolversParentTypes['UsersPayload']> = {
  failed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  results?: Resolver<Array<ResolversTypes['UserResult']>, ParentType, ContextType>;
  succeeded?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type WebhookEventResolvers<ContextType = Context, ParentType extends ResolversParentTypes['WebhookEvent'] = ResolversParentTypes['WebhookEvent']> = {
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  deliveryId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  integration?: Resolver<Maybe<ResolversTypes['Integration']>, ParentType, ContextType>;
  integrationId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  lastError?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  outcome?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  payload?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  processedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  providerEventId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  receivedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['WebhookEventStatus'], ParentType, ContextType>;
  type?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type WebhookEventConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['WebhookEventConnection'] = ResolversParentTypes['WebhookEventConnection']> = {
  edges?: Resolver<Array<ResolversTypes['WebhookEventEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type WebhookEventEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['WebhookEventEdge'] = ResolversParentTypes['WebhookEventEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['WebhookEvent'], ParentType, ContextType>;
};

export type Resolvers<ContextType = Context> = {
  ApiKey?: ApiKeyResolvers<ContextType>;
  AuditIntegrityReport?: AuditIntegrityReportResolvers<ContextType>;
  AuditLog?: AuditLogResolvers<ContextType>;
  AuditLogConnection?: AuditLogConnectionResolvers<ContextType>;
  AuditLogEdge?: AuditLogEdgeResolvers<ContextType>;
  AuthPayload?: AuthPayloadResolvers<ContextType>;
  CreateApiKeyPayload?: CreateApiKeyPayloadResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  DeletePayload?: DeletePayloadResolvers<ContextType>;
  EmailAddress?: GraphQLScalarType;
  ImportJob?: ImportJobResolvers<ContextType>;
  ImportRowError?: ImportRowErrorResolvers<ContextType>;
  Integration?: IntegrationResolvers<ContextType>;
  IntegrationCircuit?: IntegrationCircuitResolvers<ContextType>;
  IntegrationHealth?: IntegrationHealthResolvers<ContextType>;
  IntegrationHealthChange?: IntegrationHealthChangeResolvers<ContextType>;
  IntegrationHealthSignals?: IntegrationHealthSignalsResolvers<ContextType>;
  IntegrationPush?: IntegrationPushResolvers<ContextType>;
  IntegrationPushConnection?: IntegrationPushConnectionResolvers<ContextType>;
  IntegrationPushEdge?: IntegrationPushEdgeResolvers<ContextType>;
  IntegrationSecretPayload?: IntegrationSecretPayloadResolvers<ContextType>;
  Invitation?: InvitationResolvers<ContextType>;
  InvitationConnection?: InvitationConnectionResolvers<ContextType>;
  InvitationEdge?: InvitationEdgeResolvers<ContextType>;
  InvitationPayload?: InvitationPayloadResolvers<ContextType>;
  ItemError?: ItemErrorResolvers<ContextType>;
  ItemFieldError?: ItemFieldErrorResolvers<ContextType>;
  JSON?: GraphQLScalarType;
  MemberResult?: MemberResultResolvers<ContextType>;
  MembersPayload?: MembersPayloadResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Organization?: OrganizationResolvers<ContextType>;
  OrganizationConnection?: OrganizationConnectionResolvers<ContextType>;
  OrganizationEdge?: OrganizationEdgeResolvers<ContextType>;
  OrganizationMember?: OrganizationMemberResolvers<ContextType>;
  OutboundMessage?: OutboundMessageResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  PlatformAuthPayload?: PlatformAuthPayloadResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  ReplayWebhookEventsPayload?: ReplayWebhookEventsPayloadResolvers<ContextType>;
  SamlCertificate?: SamlCertificateResolvers<ContextType>;
  ScimToken?: ScimTokenResolvers<ContextType>;
  ScimTokenSecretPayload?: ScimTokenSecretPayloadResolvers<ContextType>;
  Session?: SessionResolvers<ContextType>;
  SsoConnection?: SsoConnectionResolvers<ContextType>;
  SsoConnectionTestResult?: SsoConnectionTestResultResolvers<ContextType>;
  SsoRoleMapping?: SsoRoleMappingResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  SyncRun?: SyncRunResolvers<ContextType>;
  SyncRunConnection?: SyncRunConnectionResolvers<ContextType>;
  SyncRunEdge?: SyncRunEdgeResolvers<ContextType>;
  Tenant?: TenantResolvers<ContextType>;
  TenantDomain?: TenantDomainResolvers<ContextType>;
  TenantHealthSummary?: TenantHealthSummaryResolvers<ContextType>;
  TriggerSyncPayload?: TriggerSyncPayloadResolvers<ContextType>;
  UUID?: GraphQLScalarType;
  User?: UserResolvers<ContextType>;
  UserConnection?: UserConnectionResolvers<ContextType>;
  UserEdge?: UserEdgeResolvers<ContextType>;
  UserResult?: UserResultResolvers<ContextType>;
  UsersPayload?: UsersPayloadResolvers<ContextType>;
  WebhookEvent?: WebhookEventResolvers<ContextType>;
  WebhookEventConnection?: WebhookEventConnectionResolvers<ContextType>;
  WebhookEventEdge?: WebhookEventEdgeResolvers<ContextType>;
};

