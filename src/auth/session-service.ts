import crypto from 'node:crypto';
import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { AppDb, Tx } from '../db/client.js';
import { refreshTokens, sessions, tenants, users, type UserRow } from '../db/schema.js';
import { actors, inTenant, type RequestInfo } from '../db/tenant-transaction.js';
import { AppError, unauthenticated } from '../errors.js';
import { recordAuthEvent } from './events.js';
import { z } from 'zod';
import { validate } from '../validation.js';
import { verifyPassword } from './passwords.js';
import type { TokenService } from './tokens.js';
import { tenantSlugFrom, type TenantAddress } from './tenant-address.js';

export interface SessionTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: UserRow;
}

export interface SessionDeps {
  db: AppDb;
  tokens: TokenService;
  refreshTtlDays: number;
  /** TENANT_BASE_DOMAIN: hosts `<slug>.<domain>` name a tenant (src/auth/tenant-address.ts). */
  tenantBaseDomain?: string | undefined;
}

const INVALID_LOGIN = 'Invalid tenant, email or password';

/**
 * Bounded before any work: a megabyte "password" must not reach the password hash. No minimums: an
 * empty value is just a failed login, indistinguishable from any other.
 */
const loginInput = z.object({
  tenantSlug: z.string().trim().max(40, 'At most 40 characters').nullish(),
  email: z.string().trim().max(254, 'At most 254 characters'),
  password: z.string().max(200, 'At most 200 characters'),
});
const refreshInput = z.string().max(200, 'At most 200 characters');

/** The tenant an unauthenticated operation names: its argument, else X-Tenant, else the host (one precedence, src/auth/tenant-address.ts). */
export function requireTenantSlug(deps: Pick<SessionDeps, 'tenantBaseDomain'>, address: TenantAddress, explicit: string | null | undefined): string {
  const slug = tenantSlugFrom(address, deps.tenantBaseDomain, explicit);
  if (slug === undefined) throw new AppError('BAD_USER_INPUT', 'tenantSlug: name the tenant (argument, X-Tenant header or tenant host)', { fields: [{ field: 'tenantSlug', message: 'Required: the argument, an X-Tenant header or a tenant host' }] });
  return slug;
}

export function validatePlatformLogin(input: { email: string; password: string }) {
  return validate(loginInput.pick({ email: true, password: true }), input);
}

/**
 * Login: 1. resolve the tenant by slug (the one lookup that must precede tenant context, through the
 * narrow platform.tenant_by_slug function); 2. read the user under that tenant's RLS; 3. check the
 * password outside any transaction; 4. start a refresh-token family. Every failure looks the same.
 */
export async function login(deps: SessionDeps, raw: { tenantSlug?: string | null; email: string; password: string }, req: RequestInfo, address: TenantAddress = {}): Promise<SessionTokens> {
  const input = validate(loginInput, raw);
  const tenantSlug = requireTenantSlug(deps, address, input.tenantSlug);
  const [tenant] = (await deps.db.execute(sql`select id, status from platform.tenant_by_slug(${tenantSlug})`)) as unknown as { id: string; status: string }[];
  // The user, and whether the tenant enforces SSO (then only break-glass OWNERs may use a password), in one statement.
  const [found] = tenant
    ? await inTenant(deps.db, actors.system('auth', tenant.id, req), (tx) =>
        tx
          .select({ user: users, ssoEnforced: tenants.ssoEnforced })
          .from(users)
          .innerJoin(tenants, eq(tenants.id, users.tenantId))
          .where(sql`lower(${users.email}) = lower(${input.email})`),
      )
    : [];
  const user = found?.user;
  const passwordAllowed = !found?.ssoEnforced || (user?.role === 'OWNER' && user.ssoBreakGlass);
  const passwordOk = await verifyPassword(input.password, user?.passwordHash);
  const failure = !user
    ? 'UNKNOWN_EMAIL'
    : !passwordOk
      ? 'WRONG_PASSWORD'
      : tenant!.status !== 'ACTIVE'
        ? 'TENANT_SUSPENDED'
        : user.status !== 'ACTIVE'
          ? 'USER_NOT_ACTIVE'
          : !passwordAllowed
            ? 'SSO_REQUIRED'
            : null;
  if (!tenant) throw unauthenticated(INVALID_LOGIN); // no tenant, no chain to record it in
  if (failure) {
    // Recorded in the tenant's own chain; the attempted email is kept (it is what an investigator needs).
    await inTenant(deps.db, actors.system('auth', tenant.id, req), (tx) =>
      recordAuthEvent(tx, 'LOGIN_FAILED', { type: 'USER', id: user?.id ?? null }, { email: input.email.slice(0, 254), reason: failure }),
    );
    if (failure === 'TENANT_SUSPENDED') throw new AppError('FORBIDDEN', 'This tenant is suspended', { reason: 'TENANT_SUSPENDED' });
    // Told only to someone who knows the password: this tenant signs in through its identity provider.
    if (failure === 'SSO_REQUIRED') throw ssoRequired();
    throw unauthenticated(INVALID_LOGIN);
  }
  return issueSession(deps, user!, crypto.randomUUID(), req, 'LOGIN_SUCCEEDED');
}

/**
 * Refresh: single use. A token already rotated means it was stolen or replayed: the whole family is
 * revoked (committed before we answer) and the caller must log in again.
 */
export async function refreshSession(deps: SessionDeps, refreshToken: string, req: RequestInfo): Promise<SessionTokens> {
  validate(z.object({ refreshToken: refreshInput }), { refreshToken });
  const parsed = parseRefreshToken(refreshToken);
  if (!parsed) throw unauthenticated('Invalid refresh token');
  const outcome = await inTenant(deps.db, actors.system('auth', parsed.tenantId, req), async (tx, session) => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, parsed.hash))
      .for('update');
    if (!row || row.revokedAt) return { kind: 'invalid' } as const;
    if (row.rotatedAt) {
      await endSessions(tx, { userId: row.userId, sessionId: row.familyId });
      await recordAuthEvent(tx, 'REFRESH_TOKEN_REUSED', { type: 'USER', id: row.userId }, { familyId: row.familyId });
      return { kind: 'reused' } as const;
    }
    if (row.expiresAt < new Date() || session.tenantStatus !== 'ACTIVE') return { kind: 'invalid' } as const;
    // The user, and whether the tenant enforces SSO and this session came through it, in one statement.
    const [found] = await tx
      .select({ user: users, ssoEnforced: tenants.ssoEnforced, viaSso: sessions.viaSso })
      .from(users)
      .innerJoin(tenants, eq(tenants.id, users.tenantId))
      .leftJoin(sessions, and(eq(sessions.tenantId, users.tenantId), eq(sessions.id, row.familyId)))
      .where(eq(users.id, row.userId));
    const user = found?.user;
    if (!user || user.status !== 'ACTIVE') return { kind: 'invalid' } as const;
    // A password session that outlived the switch to enforced SSO (break-glass OWNERs excepted) ends here.
    if (found.ssoEnforced && !found.viaSso && !(user.role === 'OWNER' && user.ssoBreakGlass)) {
      await endSessions(tx, { userId: user.id, sessionId: row.familyId });
      await recordAuthEvent(tx, 'LOGIN_FAILED', { type: 'USER', id: user.id }, { familyId: row.familyId, reason: 'SSO_REQUIRED' });
      return { kind: 'sso-required' } as const;
    }
    await tx.update(refreshTokens).set({ rotatedAt: new Date() }).where(eq(refreshTokens.id, row.id));
    return { kind: 'ok', user, familyId: row.familyId } as const;
  });
  if (outcome.kind === 'reused') throw unauthenticated('Refresh token reuse detected: the session has been revoked');
  if (outcome.kind === 'invalid') throw unauthenticated('Invalid refresh token');
  if (outcome.kind === 'sso-required') throw ssoRequired();
  return issueSession(deps, outcome.user, outcome.familyId, req, 'SESSION_REFRESHED');
}

/** Revokes the token's whole family. Answers the same whatever the token was. */
export async function logout(deps: SessionDeps, refreshToken: string, req: RequestInfo): Promise<true> {
  validate(z.object({ refreshToken: refreshInput }), { refreshToken });
  const parsed = parseRefreshToken(refreshToken);
  if (!parsed) return true;
  await inTenant(deps.db, actors.system('auth', parsed.tenantId, req), async (tx) => {
    const [row] = await tx.select({ familyId: refreshTokens.familyId, userId: refreshTokens.userId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, parsed.hash));
    if (!row) return;
    await endSessions(tx, { userId: row.userId, sessionId: row.familyId });
    await recordAuthEvent(tx, 'LOGOUT', { type: 'USER', id: row.userId }, { familyId: row.familyId });
  });
  return true;
}

/**
 * SSO enforcement (issue 14) for password paths other than login (accepting an invitation): may this
 * user start a session with a password now? Only break-glass OWNERs may while the tenant enforces SSO.
 */
export async function passwordLoginAllowed(tx: Tx, user: Pick<UserRow, 'tenantId' | 'role' | 'ssoBreakGlass'>): Promise<boolean> {
  const [t] = await tx.select({ enforced: tenants.ssoEnforced }).from(tenants).where(eq(tenants.id, user.tenantId));
  return !t?.enforced || (user.role === 'OWNER' && user.ssoBreakGlass);
}

/**
 * When a tenant starts enforcing SSO (or an OWNER stops being break-glass): the sessions that were
 * started with a password end at once — refresh tokens revoked (open sockets close), session records
 * revoked — for everyone but break-glass OWNERs, or for one user. Sessions that came through the
 * identity provider stay. Returns how many sessions ended.
 */
export async function endPasswordSessions(tx: Tx, onlyUserId?: string): Promise<number> {
  const ended = (await tx.execute(sql`
    update refresh_tokens rt set revoked_at = now()
    from users u
    where u.tenant_id = rt.tenant_id and u.id = rt.user_id and rt.revoked_at is null
      and not (u.role = 'OWNER' and u.sso_break_glass)
      and (${onlyUserId ?? null}::uuid is null or u.id = ${onlyUserId ?? null}::uuid)
      and not exists (select 1 from sessions s where s.tenant_id = rt.tenant_id and s.id = rt.family_id and s.via_sso)
    returning rt.family_id`)) as unknown as { family_id: string }[];
  const families = [...new Set(ended.map((r) => r.family_id))];
  if (families.length) await tx.update(sessions).set({ revokedAt: new Date() }).where(and(inArray(sessions.id, families), isNull(sessions.revokedAt)));
  return families.length;
}

/** What a password path answers while the tenant enforces SSO. */
export const ssoRequired = () => new AppError('FORBIDDEN', 'This tenant requires single sign-on', { reason: 'SSO_REQUIRED' });

/**
 * A session for a user an identity provider signed in (src/modules/sso): the caller has checked the
 * one-time code, the user's and the tenant's status. The login event names the method and connection.
 */
export function startSsoSession(deps: Pick<SessionDeps, 'db' | 'tokens' | 'refreshTtlDays'>, user: UserRow, req: RequestInfo, details: { connectionId: string }): Promise<SessionTokens> {
  return issueSession(deps, user, crypto.randomUUID(), req, 'LOGIN_SUCCEEDED', { method: 'sso', ...details });
}

/**
 * A new refresh token of the family (a new login's first, or a rotation) and the session's record:
 * created at login, its last use, expiry, IP and user agent kept current on every refresh.
 * `event`: the auth event recorded with it (an accepted invitation logs in as LOGIN_SUCCEEDED).
 */
export async function issueSession(
  deps: Pick<SessionDeps, 'db' | 'tokens' | 'refreshTtlDays'>,
  user: UserRow,
  familyId: string,
  req: RequestInfo,
  event: 'LOGIN_SUCCEEDED' | 'SESSION_REFRESHED',
  details: Record<string, unknown> = {},
): Promise<SessionTokens> {
  const secret = crypto.randomBytes(32).toString('base64url');
  const refreshToken = `rt_${user.tenantId}_${secret}`;
  const refreshTokenExpiresAt = new Date(Date.now() + deps.refreshTtlDays * 86_400_000);
  await inTenant(deps.db, actors.user(user.id, user.tenantId, req), async (tx) => {
    if (event === 'SESSION_REFRESHED') {
      // Its row locked first, as endSessions does: a replay of the rotated token that ended the session
      // meanwhile (reuse detected) is seen here, and no token of the session outlives it.
      const [current] = await tx.select({ revokedAt: sessions.revokedAt }).from(sessions).where(and(eq(sessions.tenantId, user.tenantId), eq(sessions.id, familyId))).for('update');
      if (current?.revokedAt) throw unauthenticated('Refresh token reuse detected: the session has been revoked');
    }
    await tx.insert(refreshTokens).values({ tenantId: user.tenantId, userId: user.id, familyId, tokenHash: sha256(refreshToken), expiresAt: refreshTokenExpiresAt });
    const seen = { lastUsedAt: new Date(), expiresAt: refreshTokenExpiresAt, ipAddress: req.clientIp?.slice(0, 64) ?? null, userAgent: req.userAgent?.slice(0, 256) ?? null };
    await tx
      .insert(sessions)
      .values({ tenantId: user.tenantId, id: familyId, userId: user.id, viaSso: details.method === 'sso', ...seen })
      .onConflictDoUpdate({ target: [sessions.tenantId, sessions.id], set: seen });
    await recordAuthEvent(tx, event, { type: 'USER', id: user.id }, { familyId, ...details });
  });
  const access = await deps.tokens.signUserToken(user, familyId);
  return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt, user };
}

/**
 * Ends sessions in the caller's tenant transaction: one session (`sessionId`), or every session of
 * the user except `exceptSessionId`. Their refresh tokens are revoked, which also closes the open
 * WebSockets of those sessions (the refresh_tokens trigger notifies the principal watch). Returns
 * how many sessions were live.
 */
export async function endSessions(tx: Tx, target: { userId: string; sessionId?: string; exceptSessionId?: string }): Promise<number> {
  // The session rows first: a refresh issuing a token in one of them holds its row (issueSession), so
  // this waits for it, and the refresh-token update below, a later statement, sees that token too.
  const sessionFilter = target.sessionId ? eq(sessions.id, target.sessionId) : target.exceptSessionId ? ne(sessions.id, target.exceptSessionId) : undefined;
  await tx.update(sessions).set({ revokedAt: new Date() }).where(and(eq(sessions.userId, target.userId), isNull(sessions.revokedAt), sessionFilter));
  const familyFilter = target.sessionId ? eq(refreshTokens.familyId, target.sessionId) : target.exceptSessionId ? ne(refreshTokens.familyId, target.exceptSessionId) : undefined;
  const revoked = await tx
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.userId, target.userId), isNull(refreshTokens.revokedAt), familyFilter))
    .returning({ familyId: refreshTokens.familyId });
  return new Set(revoked.map((r) => r.familyId)).size;
}

/** `rt_<tenant uuid>_<secret>`: the tenant part lets us look the token up under that tenant's RLS. */
function parseRefreshToken(token: string): { tenantId: string; hash: string } | undefined {
  const m = /^rt_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(token);
  return m?.[1] ? { tenantId: m[1], hash: sha256(token) } : undefined;
}

export function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

/** The platform operator's credentials come from configuration, compared in constant time. */
export function checkPlatformOperator(expected: { email: string; password: string }, email: string, password: string): boolean {
  const a = crypto.createHash('sha256').update(`${email.toLowerCase()}\n${password}`).digest();
  const b = crypto.createHash('sha256').update(`${expected.email.toLowerCase()}\n${expected.password}`).digest();
  return crypto.timingSafeEqual(a, b);
}
