import type * as Oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { ssoConnections, ssoLoginAttempts, type SsoConnectionRow } from '../../db/schema.js';
import { actors, inTenant, type RequestInfo } from '../../db/tenant-transaction.js';
import type { OutboundPolicy } from '../../integrations/outbound-policy.js';
import { ssoSecretBinding } from './connections.js';
import { ATTEMPT_TTL_MS, issueLoginCode, pruneFlowState, recordRefusal, resolveUser, sha256, SsoRefusal, timingSafeEqual, UUID, type SsoDeps } from './sign-in.js';

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

export const oidcRedirectUri = (publicUrl: string) => `${publicUrl}/auth/sso/oidc/callback`;

/** openid-client, loaded at a process's first OIDC use: one nobody signs in to through OIDC doesn't carry it (idle RSS). */
let openidClient: Promise<typeof Oidc> | undefined;
const loadOidc = () => (openidClient ??= import('openid-client'));

/** Discovery results per connection version, for a few minutes (the IdP's keys are fetched by openid-client as needed). */
const configs = new Map<string, { at: number; config: Promise<Oidc.Configuration> }>();
const CONFIG_TTL_MS = 5 * 60_000;

function outboundFetch(policy: OutboundPolicy): Oidc.CustomFetch {
  // Outbound calls to the IdP go through the same SSRF policy as integrations (checked at connect time).
  return ((url: string, options: Record<string, unknown>) => undiciFetch(url, { ...options, redirect: 'error', dispatcher: policy.dispatcher() } as never)) as unknown as Oidc.CustomFetch;
}

export function oidcConfiguration(deps: Pick<SsoDeps, 'secrets' | 'policy' | 'allowHttpIssuers'>, conn: SsoConnectionRow): Promise<Oidc.Configuration> {
  const key = `${conn.tenantId}/${conn.id}/${conn.updatedAt.getTime()}`;
  const cached = configs.get(key);
  if (cached && Date.now() - cached.at < CONFIG_TTL_MS) return cached.config;
  const secret = deps.secrets.decrypt(conn.oidcClientSecretEncrypted!, ssoSecretBinding(conn.tenantId, conn.id));
  const customFetch = outboundFetch(deps.policy);
  const insecure = deps.allowHttpIssuers && conn.oidcIssuer!.startsWith('http:');
  const config = loadOidc().then(async (oidc) => {
    const c = await oidc.discovery(new URL(conn.oidcIssuer!), conn.oidcClientId!, undefined, oidc.ClientSecretBasic(secret), {
      [oidc.customFetch]: customFetch,
      timeout: 5,
      execute: insecure ? [oidc.allowInsecureRequests] : [],
    });
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

/** Step 1 (the connection found by findStartConnection). Returns where to send the browser and the state for its cookie. */
export async function startOidcSignIn(deps: SsoDeps, tenantId: string, conn: SsoConnectionRow, hint: string | undefined, request: RequestInfo): Promise<{ redirectTo: string; state: string }> {
  const config = await oidcConfiguration(deps, conn).catch((err: unknown) => {
    deps.log.warn({ err, connectionId: conn.id }, 'OIDC discovery failed');
    throw new SsoRefusal('SSO_IDP_UNREACHABLE', 'The identity provider could not be reached');
  });
  const oidc = await loadOidc();
  const state = `${tenantId}.${oidc.randomState()}`;
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  await inTenant(deps.db, actors.system('sso', tenantId, request), async (tx) => {
    await tx.insert(ssoLoginAttempts).values({ tenantId, connectionId: conn.id, stateHash: sha256(state), nonce, codeVerifier, expiresAt: new Date(Date.now() + ATTEMPT_TTL_MS) });
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
    const oidc = await loadOidc();
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
    return await inTenant(deps.db, actor, async (tx) => issueLoginCode(tx, conn, await resolveUser(tx, conn, claims)));
  } catch (err) {
    await recordRefusal(deps, tenantId, conn.id, err, request);
    throw err;
  }
}
