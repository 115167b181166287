import crypto from 'node:crypto';
import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { App } from '../../app.js';
import type { TokenService } from '../../auth/tokens.js';
import { startSsoSession, type SessionTokens } from '../../auth/session-service.js';
import { recordAuthEvent } from '../../auth/events.js';
import type { AppDb, Tx } from '../../db/client.js';
import { ssoConnections, ssoIdentities, ssoLoginAttempts, ssoLoginCodes, ssoSamlAssertions, ssoSamlRequests, users, type SsoConnectionRow, type UserRow } from '../../db/schema.js';
import { actors, inTenant, type RequestInfo } from '../../db/tenant-transaction.js';
import { unauthenticated } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OutboundPolicy } from '../../integrations/outbound-policy.js';
import type { SecretBox } from '../../integrations/secrets.js';
import { fields } from '../../validation.js';
import { ROLE_RANK } from '../../auth/roles.js';
import { roleFor } from './connections.js';
import { domainVerified, emailDomain } from './domains.js';

/**
 * What every single sign-on protocol shares (oidc-flow.ts, saml-flow.ts): the stable refusal codes,
 * finding the tenant's connection a sign-in starts with, who signed in (a known identity, linking,
 * just-in-time accounts with role mapping), the one-time code for the frontend and its exchange
 * for a session, the audit of refusals, and pruning of flow state.
 */

export type SsoErrorCode =
  | 'SSO_BAD_REQUEST'
  | 'SSO_CONNECTION_NOT_FOUND'
  | 'SSO_CONNECTION_AMBIGUOUS'
  | 'SSO_TENANT_SUSPENDED'
  | 'SSO_STATE_MISMATCH'
  | 'SSO_IDP_ERROR'
  | 'SSO_IDP_UNREACHABLE'
  | 'SSO_INVALID_RESPONSE'
  | 'SSO_EMAIL_MISSING'
  | 'SSO_EMAIL_NOT_VERIFIED'
  | 'SSO_USER_NOT_ACTIVE'
  | 'SSO_ROLE_NOT_ALLOWED'
  | 'SSO_IDP_INITIATED_DISABLED'
  | 'SSO_ASSERTION_REPLAYED';

export class SsoRefusal extends Error {
  constructor(
    readonly code: SsoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SsoDeps {
  db: AppDb;
  secrets: SecretBox;
  policy: OutboundPolicy;
  log: Logger;
  tokens: TokenService;
  refreshTtlDays: number;
  publicUrl: string;
  allowHttpIssuers: boolean;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ATTEMPT_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;
export const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');


export interface StartInput {
  tenantSlug?: unknown;
  connectionId?: unknown;
  loginHint?: unknown;
  email?: unknown;
  protocol?: unknown;
}

/**
 * The tenant and connection a sign-in starts with: by tenant slug (and connection id, or protocol
 * when the tenant has one of each), or by a work email whose domain a tenant verified (the email
 * becomes the login hint). Only enabled connections of an ACTIVE tenant.
 */
export async function findStartConnection(deps: SsoDeps, input: StartInput, request: RequestInfo): Promise<{ tenantId: string; conn: SsoConnectionRow; hint?: string }> {
  // "Sign in with your work email": the tenant that verified the email's domain; the email becomes the hint.
  if (input.tenantSlug === undefined && input.email !== undefined) {
    const email = typeof input.email === 'string' ? fields.email.safeParse(input.email).data : undefined;
    if (!email) throw new SsoRefusal('SSO_BAD_REQUEST', 'email must be an email address');
    const [found] = (await deps.db.execute(sql`select slug from platform.sso_tenant_by_domain(${emailDomain(email)})`)) as unknown as { slug: string }[];
    if (!found) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'No single sign-on for this email domain');
    input = { ...input, tenantSlug: found.slug, loginHint: input.loginHint ?? email };
  }
  if (typeof input.tenantSlug !== 'string' || input.tenantSlug.length > 40) throw new SsoRefusal('SSO_BAD_REQUEST', 'tenant (or email) is required');
  if (input.connectionId !== undefined && (typeof input.connectionId !== 'string' || !UUID.test(input.connectionId))) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'Unknown connection');
  const protocol = input.protocol === undefined ? undefined : typeof input.protocol === 'string' ? ({ oidc: 'OIDC', saml: 'SAML' } as const)[input.protocol.toLowerCase() as 'oidc' | 'saml'] : undefined;
  if (input.protocol !== undefined && !protocol) throw new SsoRefusal('SSO_BAD_REQUEST', 'protocol must be oidc or saml');
  const hint = typeof input.loginHint === 'string' ? fields.email.safeParse(input.loginHint).data : undefined;
  const [tenant] = (await deps.db.execute(sql`select id, status from platform.tenant_by_slug(${input.tenantSlug})`)) as unknown as { id: string; status: string }[];
  if (!tenant) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'No single sign-on for this tenant');
  if (tenant.status !== 'ACTIVE') throw new SsoRefusal('SSO_TENANT_SUSPENDED', 'This tenant is suspended');
  const candidates = await inTenant(deps.db, actors.system('sso', tenant.id, request), (tx) =>
    tx
      .select()
      .from(ssoConnections)
      .where(
        and(
          eq(ssoConnections.enabled, true),
          protocol ? eq(ssoConnections.protocol, protocol) : undefined,
          input.connectionId ? eq(ssoConnections.id, input.connectionId as string) : undefined,
        ),
      )
      .orderBy(asc(ssoConnections.createdAt))
      .limit(2),
  );
  if (candidates.length === 0) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'No enabled single sign-on connection');
  if (candidates.length > 1) throw new SsoRefusal('SSO_CONNECTION_AMBIGUOUS', 'Several connections: name one');
  return { tenantId: tenant.id, conn: candidates[0]!, hint };
}

/** The one-time code (60 s, single use) a finished sign-in hands the frontend; in the sign-in's transaction. */
export async function issueLoginCode(tx: Tx, conn: SsoConnectionRow, user: UserRow): Promise<{ code: string }> {
  const code = `ssoc_${conn.tenantId}_${crypto.randomBytes(32).toString('base64url')}`;
  await tx.insert(ssoLoginCodes).values({ tenantId: conn.tenantId, userId: user.id, connectionId: conn.id, codeHash: sha256(code), expiresAt: new Date(Date.now() + CODE_TTL_MS) });
  return { code };
}

/** A refusal of a known tenant's sign-in, as a LOGIN_FAILED auth event (best effort: the refusal stands either way). */
export async function recordRefusal(deps: Pick<SsoDeps, 'db'>, tenantId: string, connectionId: string, err: unknown, request: RequestInfo): Promise<void> {
  if (!(err instanceof SsoRefusal)) return;
  await inTenant(deps.db, actors.system('sso', tenantId, request), (tx) => recordAuthEvent(tx, 'LOGIN_FAILED', { type: 'USER', id: null }, { method: 'sso', connectionId, reason: err.code })).catch(() => undefined);
}

/** Flow state of this tenant that expired over an hour ago (RLS keeps it to the tenant). */
export async function pruneFlowState(tx: Tx): Promise<void> {
  const before = new Date(Date.now() - 3_600_000);
  await tx.delete(ssoLoginAttempts).where(lt(ssoLoginAttempts.expiresAt, before));
  await tx.delete(ssoLoginCodes).where(lt(ssoLoginCodes.expiresAt, before));
  await tx.delete(ssoSamlRequests).where(lt(ssoSamlRequests.expiresAt, before));
  await tx.delete(ssoSamlAssertions).where(lt(ssoSamlAssertions.expiresAt, before));
}


/**
 * Who signed in, by the verified claims (OIDC's, or a SAML assertion's mapped to the same names:
 * sub, email, email_verified, name, and the role claim). Throws SsoRefusal.
 */
export async function resolveUser(tx: Tx, conn: SsoConnectionRow, claims: Record<string, unknown>): Promise<UserRow> {
  // A transient subject (SAML's transient NameID) names nobody twice: such sign-ins go by email each time.
  const transient = claims.sub_transient === true;
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  // No subject would make one shared identity: whoever signed in first without one, everyone after them.
  if (!transient && (!subject.trim() || subject.length > 1024)) throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The identity provider gave no subject (sub or NameID)');
  const [identity] = transient
    ? []
    : await tx
        .select({ userId: ssoIdentities.userId })
        .from(ssoIdentities)
        .where(and(eq(ssoIdentities.connectionId, conn.id), eq(ssoIdentities.subject, subject)));
  let user: UserRow | undefined;
  if (identity) {
    [user] = await tx.select().from(users).where(eq(users.id, identity.userId));
  } else {
    const email = typeof claims.email === 'string' ? fields.email.safeParse(claims.email).data : undefined;
    if (!email) throw new SsoRefusal('SSO_EMAIL_MISSING', 'The identity provider gave no email address');
    // Linking (and creating) trusts the email only when the IdP asserts it verified, or the tenant verified its domain.
    if (claims.email_verified !== true && !(await domainVerified(tx, email))) throw new SsoRefusal('SSO_EMAIL_NOT_VERIFIED', 'The identity provider does not assert this email address as verified');
    [user] = await tx.select().from(users).where(sql`lower(${users.email}) = ${email}`);
    if (user) assertMaySignIn(conn, user);
    if (!user) {
      const name = fields.name.safeParse(claims.name).data ?? email.split('@')[0]!;
      [user] = await tx.insert(users).values({ tenantId: conn.tenantId, email, name, role: roleFor(conn, claims), status: 'ACTIVE' }).returning();
    }
    if (!transient) await tx.insert(ssoIdentities).values({ tenantId: conn.tenantId, connectionId: conn.id, subject, userId: user!.id });
  }
  if (user) assertMaySignIn(conn, user);
  // An invited person who signs in through the tenant's identity provider has accepted: ACTIVE.
  if (user?.status === 'INVITED') [user] = await tx.update(users).set({ status: 'ACTIVE', updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
  if (!user || user.status !== 'ACTIVE') throw new SsoRefusal('SSO_USER_NOT_ACTIVE', 'This account is not active');
  return user;
}

/**
 * An identity provider asserts whatever email and subject it likes, so a connection signs in no
 * account above the role of whoever last configured it (connections.ts): an ADMIN's connection can't
 * link to, or sign in, an OWNER. Checked on every sign-in, as the connection may have changed since
 * an identity was linked.
 */
function assertMaySignIn(conn: SsoConnectionRow, user: UserRow): void {
  if (ROLE_RANK[user.role] > ROLE_RANK[conn.configuredByRole]) {
    throw new SsoRefusal('SSO_ROLE_NOT_ALLOWED', `This connection was configured by an ${conn.configuredByRole} and can't sign in an ${user.role}`);
  }
}

/** The frontend's half: the one-time code for a session (the same payload as `login`). */
export async function exchangeSsoCode(deps: Pick<SsoDeps, 'db' | 'tokens' | 'refreshTtlDays'>, code: string, request: RequestInfo): Promise<SessionTokens> {
  const m = /^ssoc_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(code);
  const invalid = () => unauthenticated('Invalid or expired sign-in code');
  if (!m?.[1]) throw invalid();
  const tenantId = m[1];
  const found = await inTenant(deps.db, actors.system('auth', tenantId, request), async (tx, session) => {
    const [row] = await tx
      .update(ssoLoginCodes)
      .set({ consumedAt: new Date() })
      .where(and(eq(ssoLoginCodes.codeHash, sha256(code)), isNull(ssoLoginCodes.consumedAt), gt(ssoLoginCodes.expiresAt, new Date())))
      .returning();
    if (!row || session.tenantStatus !== 'ACTIVE') return undefined;
    const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
    return user?.status === 'ACTIVE' ? { user, connectionId: row.connectionId } : undefined;
  });
  if (!found) throw invalid();
  return startSsoSession(deps, found.user, request, { connectionId: found.connectionId });
}


export function timingSafeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** What the flow needs of the process. */
export function ssoDepsOf(app: App): SsoDeps {
  return {
    db: app.db,
    secrets: app.secrets,
    policy: app.integrations.policy,
    log: app.log,
    tokens: app.tokens,
    refreshTtlDays: app.config.REFRESH_TOKEN_TTL_DAYS,
    publicUrl: app.config.publicUrl,
    allowHttpIssuers: !app.config.isProduction,
  };
}
