import crypto from 'node:crypto';
import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import * as oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import type { App } from '../../app.js';
import type { TokenService } from '../../auth/tokens.js';
import { startSsoSession, type SessionTokens } from '../../auth/session-service.js';
import { recordAuthEvent } from '../../auth/events.js';
import type { AppDb, Tx } from '../../db/client.js';
import { ssoConnections, ssoIdentities, ssoLoginAttempts, ssoLoginCodes, users, type SsoConnectionRow, type UserRow } from '../../db/schema.js';
import { actors, inTenant, type RequestInfo } from '../../db/tenant-transaction.js';
import { unauthenticated } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OutboundPolicy } from '../../integrations/outbound-policy.js';
import type { SecretBox } from '../../integrations/secrets.js';
import { fields } from '../../validation.js';
import { roleFor, ssoSecretBinding } from './connections.js';
import { domainVerified, emailDomain } from './domains.js';

/**
 * Sign-in through an OpenID Connect provider (openid-client 6: authorization code + PKCE S256,
 * state, nonce, id_token validated for issuer, audience, signature, expiry and nonce; the RFC 9207
 * `iss` of the response too).
 *
 *  1. start: the tenant (by slug) and its connection → a sign-in attempt in Postgres (hash of the
 *     state, nonce, PKCE verifier; 10 minutes, single use) → the IdP's authorization URL. The state
 *     also goes into an HttpOnly cookie, so only the browser that started a sign-in can finish it.
 *  2. callback: the state must equal the cookie's; the attempt is consumed (a second callback with
 *     the same state finds nothing); the code is exchanged and the id_token checked by openid-client.
 *  3. the person: a known identity (connection + subject) is their user; otherwise an existing user
 *     with the same email is linked, and a new one created (just in time) with the connection's
 *     role mapping — both only when the IdP says the email is verified.
 *  4. a one-time code (60 s, single use) for the frontend, which exchanges it for a session.
 * Every refusal is a stable code (SsoRefusal), recorded as a LOGIN_FAILED auth event when the tenant
 * is known; the HTTP layer redirects to the frontend with it.
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
  | 'SSO_USER_NOT_ACTIVE';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ATTEMPT_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

export const oidcRedirectUri = (publicUrl: string) => `${publicUrl}/auth/sso/oidc/callback`;

/** Discovery results per connection version, for a few minutes (the IdP's keys are fetched by openid-client as needed). */
const configs = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();
const CONFIG_TTL_MS = 5 * 60_000;

function outboundFetch(policy: OutboundPolicy): oidc.CustomFetch {
  // Outbound calls to the IdP go through the same SSRF policy as integrations (checked at connect time).
  return ((url: string, options: Record<string, unknown>) => undiciFetch(url, { ...options, redirect: 'error', dispatcher: policy.dispatcher() } as never)) as unknown as oidc.CustomFetch;
}

export function oidcConfiguration(deps: Pick<SsoDeps, 'secrets' | 'policy' | 'allowHttpIssuers'>, conn: SsoConnectionRow): Promise<oidc.Configuration> {
  const key = `${conn.tenantId}/${conn.id}/${conn.updatedAt.getTime()}`;
  const cached = configs.get(key);
  if (cached && Date.now() - cached.at < CONFIG_TTL_MS) return cached.config;
  const secret = deps.secrets.decrypt(conn.oidcClientSecretEncrypted!, ssoSecretBinding(conn.tenantId, conn.id));
  const customFetch = outboundFetch(deps.policy);
  const insecure = deps.allowHttpIssuers && conn.oidcIssuer!.startsWith('http:');
  const config = oidc
    .discovery(new URL(conn.oidcIssuer!), conn.oidcClientId!, undefined, oidc.ClientSecretBasic(secret), {
      [oidc.customFetch]: customFetch,
      timeout: 5,
      execute: insecure ? [oidc.allowInsecureRequests] : [],
    })
    .then((c) => {
      c[oidc.customFetch] = customFetch;
      c.timeout = 5;
      return c;
    });
  // One entry per connection: an older version's (before an update) goes.
  for (const k of configs.keys()) if (k.startsWith(`${conn.tenantId}/${conn.id}/`)) configs.delete(k);
  configs.set(key, { at: Date.now(), config });
  config.catch(() => configs.delete(key));
  return config;
}

/** Step 1. Returns where to send the browser and the state for its cookie. */
export async function startOidcSignIn(
  deps: SsoDeps,
  input: { tenantSlug?: unknown; connectionId?: unknown; loginHint?: unknown; email?: unknown },
  request: RequestInfo,
): Promise<{ redirectTo: string; state: string }> {
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
  const hint = typeof input.loginHint === 'string' ? fields.email.safeParse(input.loginHint).data : undefined;
  const [tenant] = (await deps.db.execute(sql`select id, status from platform.tenant_by_slug(${input.tenantSlug})`)) as unknown as { id: string; status: string }[];
  if (!tenant) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'No single sign-on for this tenant');
  if (tenant.status !== 'ACTIVE') throw new SsoRefusal('SSO_TENANT_SUSPENDED', 'This tenant is suspended');
  const candidates = await inTenant(deps.db, actors.system('sso', tenant.id, request), (tx) =>
    tx
      .select()
      .from(ssoConnections)
      .where(and(eq(ssoConnections.enabled, true), eq(ssoConnections.protocol, 'OIDC'), input.connectionId ? eq(ssoConnections.id, input.connectionId as string) : undefined))
      .orderBy(asc(ssoConnections.createdAt))
      .limit(2),
  );
  if (candidates.length === 0) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'No enabled single sign-on connection');
  if (candidates.length > 1) throw new SsoRefusal('SSO_CONNECTION_AMBIGUOUS', 'Several connections: name one');
  const conn = candidates[0]!;
  const config = await oidcConfiguration(deps, conn).catch((err: unknown) => {
    deps.log.warn({ err, connectionId: conn.id }, 'OIDC discovery failed');
    throw new SsoRefusal('SSO_IDP_UNREACHABLE', 'The identity provider could not be reached');
  });
  const state = `${tenant.id}.${oidc.randomState()}`;
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  await inTenant(deps.db, actors.system('sso', tenant.id, request), async (tx) => {
    await tx.insert(ssoLoginAttempts).values({ tenantId: tenant.id, connectionId: conn.id, stateHash: sha256(state), nonce, codeVerifier, expiresAt: new Date(Date.now() + ATTEMPT_TTL_MS) });
    await pruneFlowState(tx);
  });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: oidcRedirectUri(deps.publicUrl),
    scope: conn.oidcScopes,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...(hint ? { login_hint: hint } : {}),
  });
  return { redirectTo: url.href, state };
}

/** Steps 2–4. `query` is the callback's query string; `cookieState` the state cookie the browser sent. */
export async function finishOidcSignIn(deps: SsoDeps, query: string, cookieState: string | undefined, request: RequestInfo): Promise<{ code: string }> {
  const params = new URLSearchParams(query);
  const state = params.get('state') ?? '';
  if (!state || !cookieState || !timingSafeEqual(state, cookieState)) throw new SsoRefusal('SSO_STATE_MISMATCH', 'The sign-in was not started by this browser');
  const tenantId = state.split('.')[0]!;
  if (!UUID.test(tenantId)) throw new SsoRefusal('SSO_STATE_MISMATCH', 'Unknown sign-in');
  const actor = actors.system('sso', tenantId, request);
  const found = await inTenant(deps.db, actor, async (tx) => {
    const [attempt] = await tx
      .update(ssoLoginAttempts)
      .set({ consumedAt: new Date() })
      .where(and(eq(ssoLoginAttempts.stateHash, sha256(state)), isNull(ssoLoginAttempts.consumedAt), gt(ssoLoginAttempts.expiresAt, new Date())))
      .returning();
    if (!attempt) return undefined;
    const [conn] = await tx.select().from(ssoConnections).where(eq(ssoConnections.id, attempt.connectionId));
    return conn ? { attempt, conn } : undefined;
  });
  if (!found) throw new SsoRefusal('SSO_STATE_MISMATCH', 'Unknown, used or expired sign-in');
  const { attempt, conn } = found;
  try {
    if (!conn.enabled) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'This connection is disabled');
    if (params.has('error')) throw new SsoRefusal('SSO_IDP_ERROR', `The identity provider refused: ${String(params.get('error')).slice(0, 100)}`);
    const config = await oidcConfiguration(deps, conn).catch(() => {
      throw new SsoRefusal('SSO_IDP_UNREACHABLE', 'The identity provider could not be reached');
    });
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(`${oidcRedirectUri(deps.publicUrl)}?${params}`), {
        pkceCodeVerifier: attempt.codeVerifier,
        expectedState: state,
        expectedNonce: attempt.nonce,
        idTokenExpected: true,
      });
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
    } catch (err) {
      deps.log.info({ err: { code: (err as { code?: unknown }).code, message: (err as Error).message }, connectionId: conn.id }, 'OIDC response refused');
      throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The identity provider’s response did not verify');
    }
    return await inTenant(deps.db, actor, async (tx) => {
      const user = await resolveUser(tx, conn, claims);
      const code = `ssoc_${tenantId}_${crypto.randomBytes(32).toString('base64url')}`;
      await tx.insert(ssoLoginCodes).values({ tenantId, userId: user.id, connectionId: conn.id, codeHash: sha256(code), expiresAt: new Date(Date.now() + CODE_TTL_MS) });
      return { code };
    });
  } catch (err) {
    if (err instanceof SsoRefusal) {
      await inTenant(deps.db, actor, (tx) => recordAuthEvent(tx, 'LOGIN_FAILED', { type: 'USER', id: null }, { method: 'sso', connectionId: conn.id, reason: err.code })).catch(() => undefined);
    }
    throw err;
  }
}

/** Flow state of this tenant that expired over an hour ago (RLS keeps it to the tenant). */
async function pruneFlowState(tx: Tx): Promise<void> {
  const before = new Date(Date.now() - 3_600_000);
  await tx.delete(ssoLoginAttempts).where(lt(ssoLoginAttempts.expiresAt, before));
  await tx.delete(ssoLoginCodes).where(lt(ssoLoginCodes.expiresAt, before));
}

/** Step 3: who signed in, by the verified claims. Throws SsoRefusal. */
async function resolveUser(tx: Tx, conn: SsoConnectionRow, claims: Record<string, unknown>): Promise<UserRow> {
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  const [identity] = await tx
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
    if (!user) {
      const name = fields.name.safeParse(claims.name).data ?? email.split('@')[0]!;
      [user] = await tx.insert(users).values({ tenantId: conn.tenantId, email, name, role: roleFor(conn, claims), status: 'ACTIVE' }).returning();
    }
    await tx.insert(ssoIdentities).values({ tenantId: conn.tenantId, connectionId: conn.id, subject, userId: user!.id });
  }
  // An invited person who signs in through the tenant's identity provider has accepted: ACTIVE.
  if (user?.status === 'INVITED') [user] = await tx.update(users).set({ status: 'ACTIVE', updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
  if (!user || user.status !== 'ACTIVE') throw new SsoRefusal('SSO_USER_NOT_ACTIVE', 'This account is not active');
  return user;
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

function timingSafeEqual(a: string, b: string): boolean {
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
