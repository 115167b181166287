/**
 * Invitations: an ADMIN invites a person (or every INVITED user at once); the person accepts with
 * the link's token, sets a password and is logged in. The token and its message are issued by
 * src/integrations/communication/user-links.ts; only the token's hash is stored.
 */
import crypto from 'node:crypto';
import { and, count, desc, eq, gt, inArray, isNotNull, isNull, lte, notExists, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { App } from '../../app.js';
import { hashPassword } from '../../auth/passwords.js';
import { assertCanManage, type Actor } from '../../auth/roles.js';
import { issueSession, passwordLoginAllowed, ssoRequired, type SessionTokens } from '../../auth/session-service.js';
import { recordAuthEvent } from '../../auth/events.js';
import { tenantSlugFrom, type TenantAddress } from '../../auth/tenant-address.js';
import { invalidUserToken, parseUserToken } from '../../auth/user-tokens.js';
import type { Tx } from '../../db/client.js';
import { decodeCursor, pageSize, toPage, type Page } from '../../db/pagination.js';
import { outboundMessages, tenants, users, userTokens, type OutboundMessageRow, type UserRow, type UserTokenRow } from '../../db/schema.js';
import { actors, inTenant, type RequestInfo, type Scope } from '../../db/tenant-transaction.js';
import { conflict, notFound } from '../../errors.js';
import { issueUserLink, type LinkDeps } from '../../integrations/communication/user-links.js';
import { pushUserChange } from '../../integrations/push.js';
import { fields, validate } from '../../validation.js';

export type InvitationStatus = 'PENDING' | 'ACCEPTED' | 'REVOKED' | 'EXPIRED';

/** An invitation as the API shows it: the token row (never the token), its status and its message. */
export interface InvitationView extends UserTokenRow {
  status: InvitationStatus;
  message: OutboundMessageRow | null;
}

export interface InvitationPayloadView {
  invitation: InvitationView;
  /** The link, only when no message could carry it. */
  invitationUrl: string | null;
}

export type InvitationPage = Page<InvitationView>;

type LinkApp = Pick<App, 'config' | 'secrets' | 'jobs'>;

export function invitationStatus(t: Pick<UserTokenRow, 'usedAt' | 'revokedAt' | 'expiresAt'>, now = new Date()): InvitationStatus {
  if (t.usedAt) return 'ACCEPTED';
  if (t.revokedAt) return 'REVOKED';
  return t.expiresAt <= now ? 'EXPIRED' : 'PENDING';
}

const linkDeps = (app: LinkApp, scope: Scope): LinkDeps => ({ config: app.config, jobs: scope.jobs ?? app.jobs, secrets: app.secrets });

async function tenantName(tx: Tx): Promise<string> {
  const [t] = await tx.select({ name: tenants.name }).from(tenants);
  return t?.name ?? 'your organisation';
}

function payload(token: UserTokenRow, message: OutboundMessageRow | null, link: string): InvitationPayloadView {
  return { invitation: { ...token, status: invitationStatus(token), message }, invitationUrl: message ? null : link };
}

const inviteInput = z.object({ email: fields.email, name: fields.name, role: z.enum(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']).nullish() });

/**
 * inviteUser: 1. the role check against the actor (nobody invites above their own role); 2. the
 * user, INVITED, without a password (CONFLICT if the email is taken); 3. the invitation and its
 * message, in the same transaction (a failure leaves neither).
 */
export async function inviteUser(app: LinkApp, scope: Scope, actor: Actor, input: z.input<typeof inviteInput>): Promise<InvitationPayloadView> {
  const data = validate(inviteInput, input);
  const role = data.role ?? 'MEMBER';
  assertCanManage(actor, { role }, role);
  return scope.write(async (tx) => {
    const [user] = await tx.insert(users).values({ tenantId: actor.tenantId, email: data.email, name: data.name, role, status: 'INVITED' }).returning();
    await pushUserChange(tx, scope, null, user!);
    const issued = await issueUserLink(tx, linkDeps(app, scope), { user: user!, purpose: 'INVITATION', createdBy: actor.userId, tenantName: await tenantName(tx) });
    return payload(issued.token, issued.message, issued.link);
  });
}

/** A new invitation for an INVITED user; the previous link dies in the same transaction. */
export async function resendInvitation(app: LinkApp, scope: Scope, actor: Actor, userId: string): Promise<InvitationPayloadView> {
  validate(z.object({ userId: z.uuid('Not a UUID') }), { userId });
  return scope.write(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
    if (!user) throw notFound('User');
    assertCanManage(actor, user);
    if (user.status !== 'INVITED') throw conflict(`Only INVITED users can be invited; this one is ${user.status}`);
    const issued = await issueUserLink(tx, linkDeps(app, scope), { user, purpose: 'INVITATION', createdBy: actor.userId, tenantName: await tenantName(tx) });
    return payload(issued.token, issued.message, issued.link);
  });
}

export async function revokeInvitation(scope: Scope, actor: Actor, id: string): Promise<InvitationView> {
  validate(z.object({ id: z.uuid('Not a UUID') }), { id });
  return scope.write(async (tx) => {
    const [token] = await tx.select().from(userTokens).where(and(eq(userTokens.id, id), eq(userTokens.purpose, 'INVITATION'))).for('update');
    if (!token) throw notFound('Invitation');
    const [user] = await tx.select().from(users).where(eq(users.id, token.userId));
    if (user) assertCanManage(actor, user);
    const status = invitationStatus(token);
    if (status !== 'PENDING') throw conflict(`Only pending invitations can be revoked; this one is ${status}`);
    const [revoked] = await tx.update(userTokens).set({ revokedAt: new Date(), updatedAt: new Date() }).where(eq(userTokens.id, id)).returning();
    if (token.messageId) {
      await tx
        .update(outboundMessages)
        .set({ status: 'CANCELED', bodyEncrypted: null, updatedAt: new Date() })
        .where(and(eq(outboundMessages.id, token.messageId), inArray(outboundMessages.status, ['QUEUED', 'FAILED'])));
    }
    return { ...revoked!, status: 'REVOKED' as const, message: await messageOf(tx, revoked!.messageId) };
  });
}

/** Every INVITED user (not above the actor's role) without a pending invitation gets one. At most 500 per call. */
export async function inviteAllPendingUsers(app: LinkApp, scope: Scope, actor: Actor): Promise<InvitationPayloadView[]> {
  return scope.write(async (tx) => {
    const pending = tx
      .select({ one: sql`1` })
      .from(userTokens)
      .where(and(eq(userTokens.userId, users.id), eq(userTokens.purpose, 'INVITATION'), isNull(userTokens.usedAt), isNull(userTokens.revokedAt), gt(userTokens.expiresAt, sql`now()`)));
    const candidates = await tx.select().from(users).where(and(eq(users.status, 'INVITED'), notExists(pending))).orderBy(users.createdAt, users.id).limit(500).for('update');
    const name = await tenantName(tx);
    const invitations: InvitationPayloadView[] = [];
    for (const user of candidates) {
      try {
        assertCanManage(actor, user);
      } catch {
        continue; // an ADMIN doesn't invite OWNERs; the rest still go
      }
      const issued = await issueUserLink(tx, linkDeps(app, scope), { user, purpose: 'INVITATION', createdBy: actor.userId, tenantName: name });
      invitations.push(payload(issued.token, issued.message, issued.link));
    }
    return invitations;
  });
}

const listInput = z.object({
  filter: z
    .object({ status: z.enum(['PENDING', 'ACCEPTED', 'REVOKED', 'EXPIRED']).nullish(), deliveryStatus: z.enum(['SENT', 'DELIVERED', 'BOUNCED', 'FAILED']).nullish() })
    .nullish(),
  first: z.number().nullish(),
  after: z.string().nullish(),
});

function statusCondition(status: InvitationStatus): SQL {
  const open = and(isNull(userTokens.usedAt), isNull(userTokens.revokedAt));
  switch (status) {
    case 'ACCEPTED':
      return isNotNull(userTokens.usedAt);
    case 'REVOKED':
      return and(isNull(userTokens.usedAt), isNotNull(userTokens.revokedAt))!;
    case 'EXPIRED':
      return and(open, lte(userTokens.expiresAt, sql`now()`))!;
    case 'PENDING':
      return and(open, gt(userTokens.expiresAt, sql`now()`))!;
  }
}

/** The tenant's invitations, newest first, each with its message (one statement per page). */
export async function listInvitations(scope: Scope, input: z.input<typeof listInput>): Promise<InvitationPage> {
  const { filter, first, after } = validate(listInput, input);
  const limit = pageSize(first);
  const cursor = decodeCursor(after);
  const where = and(
    eq(userTokens.purpose, 'INVITATION'),
    filter?.status ? statusCondition(filter.status) : undefined,
    filter?.deliveryStatus ? eq(outboundMessages.deliveryStatus, filter.deliveryStatus) : undefined,
  );
  const keyset = cursor ? sql`(${userTokens.createdAt}, ${userTokens.id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined;
  const rows = await scope.read((tx) =>
    tx
      .select({ token: userTokens, message: outboundMessages })
      .from(userTokens)
      .leftJoin(outboundMessages, eq(outboundMessages.id, userTokens.messageId))
      .where(and(where, keyset))
      .orderBy(desc(userTokens.createdAt), desc(userTokens.id))
      .limit(limit + 1),
  );
  const now = new Date();
  const views = rows.map((r) => ({ ...r.token, status: invitationStatus(r.token, now), message: r.message }));
  return toPage(views, limit, async () =>
    (await scope.read((tx) => tx.select({ n: count() }).from(userTokens).leftJoin(outboundMessages, eq(outboundMessages.id, userTokens.messageId)).where(where)))[0]?.n ?? 0,
  );
}

async function messageOf(tx: Tx, id: string | null): Promise<OutboundMessageRow | null> {
  if (!id) return null;
  const [m] = await tx.select().from(outboundMessages).where(eq(outboundMessages.id, id));
  return m ?? null;
}

const acceptInput = z.object({ token: z.string().max(200, 'At most 200 characters'), password: fields.password, name: fields.name.nullish() });

/**
 * acceptInvitation: 1. the token names its tenant; a request addressed to another tenant (X-Tenant,
 * host) is refused like any bad token; 2. under that tenant's RLS, the token row is locked and must
 * be pending, and its user INVITED; 3. the password is set, the user ACTIVE, the token used, in one
 * transaction acting as the user; 4. a session starts (the payload of `login`).
 */
export async function acceptInvitation(
  app: Pick<App, 'db' | 'tokens' | 'config'>,
  raw: z.input<typeof acceptInput>,
  req: RequestInfo,
  address: TenantAddress,
): Promise<SessionTokens> {
  const input = validate(acceptInput, raw);
  const parsed = parseUserToken('INVITATION', input.token);
  if (!parsed) throw invalidUserToken();
  await assertAddressedTenant(app, address, parsed.tenantId);
  const found = await inTenant(app.db, actors.system('auth', parsed.tenantId, req), async (tx, session) => {
    if (session.tenantStatus !== 'ACTIVE') return null;
    const [token] = await tx.select().from(userTokens).where(and(eq(userTokens.tokenHash, parsed.hash), eq(userTokens.purpose, 'INVITATION')));
    return token && invitationStatus(token) === 'PENDING' ? token : null;
  });
  if (!found) throw invalidUserToken();
  // Hashed only for a live token: a flood of bad tokens costs no password hashing.
  const passwordHash = await hashPassword(input.password);
  // The change itself is the user's own act: audited with them as the actor.
  const user = await inTenant(app.db, actors.user(found.userId, parsed.tenantId, req), async (tx) => {
    const [token] = await tx.select().from(userTokens).where(eq(userTokens.id, found.id)).for('update');
    if (!token || invitationStatus(token) !== 'PENDING') return null;
    const [current] = await tx.select().from(users).where(eq(users.id, token.userId)).for('update');
    if (!current || current.status !== 'INVITED') return null;
    // SSO enforced: people join by signing in through the identity provider (which activates them), not with a password.
    if (!(await passwordLoginAllowed(tx, current))) throw ssoRequired();
    await tx.update(userTokens).set({ usedAt: new Date(), updatedAt: new Date() }).where(eq(userTokens.id, token.id));
    const [activated] = await tx
      .update(users)
      .set({ passwordHash, status: 'ACTIVE', ...(input.name ? { name: input.name } : {}), updatedAt: new Date() })
      .where(eq(users.id, current.id))
      .returning();
    await recordAuthEvent(tx, 'INVITATION_ACCEPTED', { type: 'USER', id: current.id }, { invitationId: token.id });
    return activated!;
  });
  if (!user) throw invalidUserToken();
  return issueSession({ db: app.db, tokens: app.tokens, refreshTtlDays: app.config.REFRESH_TOKEN_TTL_DAYS }, user, crypto.randomUUID(), req, 'LOGIN_SUCCEEDED');
}

/**
 * A token names its tenant; when the request also names one (X-Tenant, tenant host), they must be
 * the same tenant, or the token is useless here (answered like any bad token).
 */
export async function assertAddressedTenant(app: Pick<App, 'db' | 'config'>, address: TenantAddress, tenantId: string): Promise<void> {
  let slug: string | undefined;
  try {
    slug = tenantSlugFrom(address, app.config.TENANT_BASE_DOMAIN);
  } catch {
    throw invalidUserToken();
  }
  if (slug === undefined) return;
  const [tenant] = (await app.db.execute(sql`select id from platform.tenant_by_slug(${slug})`)) as unknown as { id: string }[];
  if (tenant?.id !== tenantId) throw invalidUserToken();
}

export type { UserRow };
