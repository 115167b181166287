/**
 * Account recovery and email change.
 *
 * Password reset, without enumeration: `requestPasswordReset` only names the tenant, validates and
 * enqueues a job (the same statements whether or not the email belongs to someone), then answers
 * true. The job looks the address up and, for an ACTIVE user, issues the reset link and queues its
 * message (src/integrations/communication/user-links.ts). The answer's body, status and timing are
 * therefore the same for known and unknown addresses; the rate limits (per IP, per email) apply
 * before any of it (src/graphql/permissions.ts).
 *
 * Email change: the new address must confirm a token sent to it; only then does the email change,
 * and the old address is told.
 */
import crypto from 'node:crypto';
import { and, desc, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { App } from '../../app.js';
import { recordAuthEvent } from '../../auth/events.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import type { Actor } from '../../auth/roles.js';
import { endSessions, passwordLoginAllowed, requireTenantSlug } from '../../auth/session-service.js';
import type { TenantAddress } from '../../auth/tenant-address.js';
import { invalidUserToken, parseUserToken, type UserTokenPurpose } from '../../auth/user-tokens.js';
import type { Tx } from '../../db/client.js';
import { tenants, users, userTokens, type UserTokenRow } from '../../db/schema.js';
import { actors, inTenant, ShortTransactionScope, type RequestInfo } from '../../db/tenant-transaction.js';
import { AppError, conflict } from '../../errors.js';
import { issueUserLink, queueNotice, revokeLiveTokens, type LinkDeps } from '../../integrations/communication/user-links.js';
import { pushUserChange } from '../../integrations/push.js';
import type { JobOf } from '../../jobs/boss.js';
import { QUEUES, type PasswordResetRequestData } from '../../jobs/queues.js';
import { fields, validate } from '../../validation.js';
import { assertAddressedTenant } from '../invitations/service.js';

type AccountApp = Pick<App, 'db' | 'config' | 'jobs' | 'secrets' | 'log'>;

const linkDeps = (app: AccountApp): LinkDeps => ({ config: app.config, jobs: app.jobs, secrets: app.secrets });

const resetRequestInput = z.object({
  tenantSlug: z.string().trim().max(40, 'At most 40 characters').nullish(),
  // Any text up to the limit: a malformed address is answered like an unknown one (no oracle in the validation either).
  email: z.string().trim().toLowerCase().max(254, 'At most 254 characters'),
});

/** Always true, after the same work for every address of an existing tenant. */
export async function requestPasswordReset(app: AccountApp, raw: z.input<typeof resetRequestInput>, req: RequestInfo, address: TenantAddress): Promise<true> {
  const input = validate(resetRequestInput, raw);
  const slug = requireTenantSlug({ tenantBaseDomain: app.config.TENANT_BASE_DOMAIN }, address, input.tenantSlug);
  const [tenant] = (await app.db.execute(sql`select id, status from platform.tenant_by_slug(${slug})`)) as unknown as { id: string; status: string }[];
  if (!tenant || tenant.status !== 'ACTIVE') return true;
  // A random start 1–3 s later: the work a known address causes (lookup, message, provider call)
  // never lines up with this request or the caller's next one, so timing can't tell them apart.
  await inTenant(app.db, actors.system('auth', tenant.id, req), (tx) =>
    app.jobs.enqueue<PasswordResetRequestData>(
      tx,
      QUEUES.passwordResetRequest,
      [{ tenantId: tenant.id, email: input.email, clientIp: req.clientIp ?? null, userAgent: req.userAgent?.slice(0, 256) ?? null, requestId: req.requestId ?? null }],
      { startAfterSeconds: crypto.randomInt(1, 4) },
    ),
  );
  return true;
}

/**
 * The job behind requestPasswordReset: for an ACTIVE user with that email, a new reset link (the
 * previous one dies) and its message; for an INVITED one, a new invitation instead (they have no
 * password to reset); deactivated users get nothing. The request's IP and user agent are on the
 * audit entries.
 */
export async function processPasswordResetRequest(app: AccountApp, job: JobOf<PasswordResetRequestData>): Promise<string> {
  const { tenantId, email } = job.data;
  const req = { requestId: job.data.requestId ?? `job:${job.id}`, clientIp: job.data.clientIp ?? undefined, userAgent: job.data.userAgent ?? undefined };
  return inTenant(app.db, actors.system('password-reset', tenantId, req), async (tx, session) => {
    if (session.tenantStatus !== 'ACTIVE') return 'tenant-inactive';
    const [user] = await tx.select().from(users).where(sql`lower(${users.email}) = lower(${email})`).for('update');
    if (!user || user.status === 'DEACTIVATED') return 'no-account';
    // A tenant that enforces SSO has no passwords to reset (break-glass OWNERs excepted): nothing is sent.
    if (!(await passwordLoginAllowed(tx, user))) return 'sso-enforced';
    // Invited but never joined (the invitation lost or expired): what they need is a fresh invitation;
    // unless an ADMIN revoked it (their last one): only an ADMIN's new invitation undoes that.
    if (user.status === 'INVITED') {
      const [last] = await tx.select({ revokedAt: userTokens.revokedAt }).from(userTokens).where(and(eq(userTokens.userId, user.id), eq(userTokens.purpose, 'INVITATION'))).orderBy(desc(userTokens.createdAt)).limit(1);
      if (last?.revokedAt) return 'invitation-revoked';
    }
    const purpose = user.status === 'INVITED' ? 'INVITATION' : 'PASSWORD_RESET';
    const issued = await issueUserLink(tx, linkDeps(app), { user, purpose, createdBy: null, tenantName: await tenantName(tx) });
    await recordAuthEvent(tx, 'PASSWORD_RESET_REQUESTED', { type: 'USER', id: user.id }, { tokenId: issued.token.id, messageId: issued.message?.id ?? null });
    if (!issued.message) app.log.warn({ tenantId }, 'password reset requested, but the tenant has no communication integration to send it');
    return issued.message ? 'sent' : 'no-provider';
  });
}

const resetInput = z.object({ token: z.string().max(200, 'At most 200 characters'), newPassword: fields.password });

/**
 * resetPassword: the token is checked (one answer for every bad one), the password set, the token
 * used, every session of the user ended (refresh tokens revoked; open sockets close), all in one
 * transaction acting as the user.
 */
export async function resetPassword(app: AccountApp, raw: z.input<typeof resetInput>, req: RequestInfo, address: TenantAddress): Promise<true> {
  const input = validate(resetInput, raw);
  const parsed = parseUserToken('PASSWORD_RESET', input.token);
  if (!parsed) throw invalidUserToken();
  await assertAddressedTenant(app, address, parsed.tenantId);
  const token = await liveToken(app, parsed, 'PASSWORD_RESET', req);
  const passwordHash = await hashPassword(input.newPassword);
  const done = await inTenant(app.db, actors.user(token.userId, parsed.tenantId, req), async (tx) => {
    const locked = await lockLive(tx, token.id);
    if (!locked) return false;
    const [user] = await tx.select().from(users).where(eq(users.id, locked.userId)).for('update');
    if (!user || user.status !== 'ACTIVE') return false;
    await tx.update(userTokens).set({ usedAt: new Date(), updatedAt: new Date() }).where(eq(userTokens.id, locked.id));
    await tx.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, user.id));
    const ended = await endSessions(tx, { userId: user.id });
    await recordAuthEvent(tx, 'PASSWORD_RESET', { type: 'USER', id: user.id }, { tokenId: locked.id, sessionsEnded: ended });
    return true;
  });
  if (!done) throw invalidUserToken();
  return true;
}

const emailChangeInput = z.object({ newEmail: fields.email, currentPassword: z.string().max(200, 'At most 200 characters') });

/** Sends a confirmation link to the new address; nothing changes until it is confirmed. */
export async function requestEmailChange(app: AccountApp, actor: Actor, req: RequestInfo, raw: z.input<typeof emailChangeInput>): Promise<true> {
  const input = validate(emailChangeInput, raw);
  const scope = new ShortTransactionScope(app.db, actors.user(actor.userId, actor.tenantId, req), app.jobs);
  const me = await withCurrentPassword(scope, actor, input.currentPassword);
  if (me.email.toLowerCase() === input.newEmail) throw new AppError('BAD_USER_INPUT', 'newEmail: This is already your email address', { fields: [{ field: 'newEmail', message: 'This is already your email address' }] });
  await scope.write(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, actor.userId)).for('update');
    await assertEmailFree(tx, input.newEmail, actor.userId);
    await issueUserLink(tx, linkDeps(app), { user: user!, purpose: 'EMAIL_CHANGE', createdBy: null, tenantName: await tenantName(tx), newEmail: input.newEmail });
  });
  return true;
}

/**
 * The caller's own row, once `currentPassword` is theirs (BAD_USER_INPUT otherwise). Read in a short
 * transaction and checked outside it: hashing is slow and must not hold a connection.
 */
async function withCurrentPassword(scope: ShortTransactionScope, actor: Actor, currentPassword: string) {
  const [me] = await scope.read((tx) => tx.select().from(users).where(eq(users.id, actor.userId)));
  if (!me || !(await verifyPassword(currentPassword, me.passwordHash))) {
    throw new AppError('BAD_USER_INPUT', 'currentPassword: Incorrect password', { fields: [{ field: 'currentPassword', message: 'Incorrect password' }] });
  }
  return me;
}

const passwordChangeInput = z.object({ currentPassword: z.string().max(200, 'At most 200 characters'), newPassword: fields.password });

/**
 * A new password for oneself, given the current one. Every other session of the user ends (this
 * one stays), as after a reset: whoever else held one no longer knows the password. A concurrent
 * change of the password in between is a CONFLICT (the current password checked is no longer it).
 */
export async function changePassword(app: AccountApp, actor: Actor, req: RequestInfo, currentSessionId: string | undefined, raw: z.input<typeof passwordChangeInput>): Promise<true> {
  const input = validate(passwordChangeInput, raw);
  const scope = new ShortTransactionScope(app.db, actors.user(actor.userId, actor.tenantId, req), app.jobs);
  const me = await withCurrentPassword(scope, actor, input.currentPassword);
  const passwordHash = await hashPassword(input.newPassword);
  await scope.write(async (tx) => {
    const changed = await tx
      .update(users)
      .set({ passwordHash, updatedAt: new Date() })
      .where(and(eq(users.id, me.id), eq(users.passwordHash, me.passwordHash!)))
      .returning({ id: users.id });
    if (!changed.length) throw conflict('Your password changed meanwhile; try again with the current one');
    await endSessions(tx, { userId: me.id, ...(currentSessionId ? { exceptSessionId: currentSessionId } : {}) });
  });
  return true;
}

const confirmInput = z.object({ token: z.string().max(200, 'At most 200 characters') });

/** The new address confirmed: the email changes (CONFLICT if someone took it meanwhile) and the old address is told. */
export async function confirmEmailChange(app: AccountApp, raw: z.input<typeof confirmInput>, req: RequestInfo, address: TenantAddress): Promise<true> {
  const input = validate(confirmInput, raw);
  const parsed = parseUserToken('EMAIL_CHANGE', input.token);
  if (!parsed) throw invalidUserToken();
  await assertAddressedTenant(app, address, parsed.tenantId);
  const token = await liveToken(app, parsed, 'EMAIL_CHANGE', req);
  const scope = new ShortTransactionScope(app.db, actors.user(token.userId, parsed.tenantId, req), app.jobs);
  const done = await scope.write(async (tx) => {
    const locked = await lockLive(tx, token.id);
    if (!locked || !locked.newEmail) return false;
    const [user] = await tx.select().from(users).where(eq(users.id, locked.userId)).for('update');
    if (!user || user.status === 'DEACTIVATED') return false;
    await assertEmailFree(tx, locked.newEmail, user.id);
    await tx.update(userTokens).set({ usedAt: new Date(), updatedAt: new Date() }).where(eq(userTokens.id, locked.id));
    const [changed] = await tx.update(users).set({ email: locked.newEmail, updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
    // A reset link sent to the old address must not outlive the change.
    await revokeLiveTokens(tx, user.id, ['PASSWORD_RESET']);
    await pushUserChange(tx, scope, user, changed!);
    await recordAuthEvent(tx, 'EMAIL_CHANGED', { type: 'USER', id: user.id }, { from: user.email, to: locked.newEmail });
    await queueNotice(tx, linkDeps(app), { user: changed!, to: user.email, tenantName: await tenantName(tx), newEmail: locked.newEmail });
    return true;
  });
  if (!done) throw invalidUserToken();
  return true;
}

/** The token's row if it is live (unused, unrevoked, unexpired) in an ACTIVE tenant; else the one bad-token answer. */
async function liveToken(app: AccountApp, parsed: { tenantId: string; hash: string }, purpose: UserTokenPurpose, req: RequestInfo): Promise<UserTokenRow> {
  const token = await inTenant(app.db, actors.system('auth', parsed.tenantId, req), async (tx, session) => {
    if (session.tenantStatus !== 'ACTIVE') return undefined;
    const [row] = await tx.select().from(userTokens).where(and(eq(userTokens.tokenHash, parsed.hash), eq(userTokens.purpose, purpose)));
    return row && isLive(row) ? row : undefined;
  });
  if (!token) throw invalidUserToken();
  return token;
}

async function lockLive(tx: Tx, id: string): Promise<UserTokenRow | undefined> {
  const [row] = await tx.select().from(userTokens).where(eq(userTokens.id, id)).for('update');
  return row && isLive(row) ? row : undefined;
}

const isLive = (t: UserTokenRow) => !t.usedAt && !t.revokedAt && t.expiresAt > new Date();

async function assertEmailFree(tx: Tx, email: string, exceptUserId: string) {
  const [taken] = await tx.select({ id: users.id }).from(users).where(and(sql`lower(${users.email}) = lower(${email})`, ne(users.id, exceptUserId)));
  if (taken) throw conflict('This email address is already used in this tenant');
}

async function tenantName(tx: Tx): Promise<string> {
  const [t] = await tx.select({ name: tenants.name }).from(tenants);
  return t?.name ?? 'your organisation';
}
