/**
 * Invitations end to end: GraphQL → outbox row + job in one transaction → the real job path →
 * the mock communication service over HTTP → the link read back from the mock's /_control →
 * acceptInvitation → login. Plus reuse, expiry, revocation, resend, bounces, a provider that is
 * down, a tenant without a provider, mirrored users, roles and tenants.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { createTestIntegration, FAST_OUTBOUND_ENV, mockControl } from './helpers/integrations.js';
import { ACCEPT, INVITATIONS, INVITE, LOGIN, mailbox, registerWebhookEndpoint, tokenOf, waitForMail } from './helpers/people.js';
import type { SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { FAST_JOBS_ENV, mockApi, sendUserWebhook, syncNow } from './helpers/sync.js';
import { waitFor } from './helpers/wait.js';

const APP_URL = 'https://app.tessera.test';
let server: TestServer;
let mock: MockServices;
let control: ReturnType<typeof mockControl>;
let t: SeededTenant;
let integrationId: string;

const email = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}@example.com`;

beforeAll(async () => {
  [server, mock] = await Promise.all([
    startTestServer({ env: { ...FAST_OUTBOUND_ENV, ...FAST_JOBS_ENV, MESSAGE_RETRY_LIMIT: '2', MESSAGE_RETRY_DELAY_SECONDS: '1', APP_URL } }),
    startMockServices({ port: 0, seedUsers: 2 }),
  ]);
  control = mockControl(mock);
  t = await server.seed.tenant();
  const created = await createTestIntegration(server.app, mock, t.tenant.id, 'COMMUNICATION_SERVICE');
  integrationId = created.target.id;
  await registerWebhookEndpoint(mock, server, integrationId, created.secret);
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});
beforeEach(async () => {
  await control.clearFaults();
});

async function invite(to: string, token = t.owner.token, role = 'MEMBER') {
  const res = await server.gql(INVITE, { input: { email: to, name: 'Sam Sample', role } }, { token });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data.inviteUser;
}

async function invitation(id: string) {
  const res = await server.gql(INVITATIONS, {}, { token: t.owner.token });
  return res.data.invitations.edges.map((e: any) => e.node).find((n: any) => n.id === id);
}

describe('invite → email → accept → login', () => {
  it('an ADMIN invites sam; the mock records the message; its link logs Sam in; Sam can log in again', async () => {
    const sam = email('sam');
    const admin = await t.user('ADMIN');
    const invited = await invite(sam, admin.token);
    expect(invited.invitationUrl).toBeNull(); // sent by email, never shown
    expect(invited.invitation).toMatchObject({ status: 'PENDING', email: sam, user: { email: sam, status: 'INVITED', role: 'MEMBER' }, invitedBy: { id: admin.user.id } });
    expect(invited.invitation.message.status).toBe('QUEUED');

    const mail = await waitForMail(mock, sam);
    expect(mail.subject).toMatch(/invited/i);
    expect(mail.links[0]).toMatch(new RegExp(`^${APP_URL}/accept-invitation\\?token=inv_`));
    expect(mail.metadata?.tessera_message_id).toBe(invited.invitation.message.id);
    const token = tokenOf(mail);

    // The token is stored only as a hash.
    const stored = await server.ownerSql`select token_hash, body_encrypted from user_tokens ut join outbound_messages m on m.id = ut.message_id where ut.id = ${invited.invitation.id}`;
    expect(stored[0]!.token_hash).not.toContain(token.slice(-20));
    expect(stored[0]!.body_encrypted).toBeNull(); // the link is erased once the provider has it

    const accepted = await server.gql(ACCEPT, { token, password: 'sams-new-password', name: 'Sam Smith' });
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data.acceptInvitation.user).toMatchObject({ email: sam, name: 'Sam Smith', status: 'ACTIVE' });
    const me = await server.gql('{ me { email status } }', {}, { token: accepted.data.acceptInvitation.accessToken });
    expect(me.data.me).toEqual({ email: sam, status: 'ACTIVE' });

    const login = await server.gql(LOGIN, { input: { tenantSlug: t.tenant.slug, email: sam, password: 'sams-new-password' } });
    expect(login.data.login.user.status).toBe('ACTIVE');

    // Delivery status came back by webhook, linked by the provider's message id.
    const delivered = await waitFor(async () => {
      const inv = await invitation(invited.invitation.id);
      return inv?.message?.deliveryStatus === 'DELIVERED' ? inv : undefined;
    }, { message: 'DELIVERED' });
    expect(delivered).toMatchObject({ status: 'ACCEPTED', message: { status: 'SENT', providerMessageId: mail.id } });

    // Audited with the right actors: the ADMIN created the invitation, Sam accepted it.
    const audit = await server.gql(`{ auditLogs(first: 100) { edges { node { action actorType actorId entityType entityId changes } } } }`, {}, { token: t.owner.token });
    const entries = audit.data.auditLogs.edges.map((e: any) => e.node);
    const samId = invited.invitation.user.id;
    expect(entries.find((e: any) => e.entityType === 'user_tokens' && e.action === 'INSERT' && e.entityId === invited.invitation.id)).toMatchObject({ actorType: 'USER', actorId: admin.user.id });
    expect(entries.find((e: any) => e.entityType === 'user_tokens' && e.action === 'INSERT')!.changes.token_hash).toEqual({ redacted: true });
    expect(entries.find((e: any) => e.action === 'INVITATION_ACCEPTED')).toMatchObject({ actorType: 'USER', actorId: samId });
    expect(entries.find((e: any) => e.entityType === 'users' && e.action === 'UPDATE' && e.entityId === samId)).toMatchObject({ actorType: 'USER', actorId: samId });
  });
});

describe('single use, expiry, revocation, resend: one code, nothing changes', () => {
  it('a used token is refused with INVALID_TOKEN and changes nothing', async () => {
    const to = email('once');
    const invited = await invite(to);
    const token = tokenOf(await waitForMail(mock, to));
    expect((await server.gql(ACCEPT, { token, password: 'first-password-1' })).errors).toBeUndefined();
    const again = await server.gql(ACCEPT, { token, password: 'second-password-2', name: 'Mallory' });
    expect(errorCode(again)).toBe('INVALID_TOKEN');
    const [user] = await server.ownerSql`select name, status from users where id = ${invited.invitation.user.id}`;
    expect(user).toMatchObject({ name: 'Sam Sample', status: 'ACTIVE' });
    // The first password still logs in, the second does not.
    expect(errorCode(await server.gql(LOGIN, { input: { tenantSlug: t.tenant.slug, email: to, password: 'second-password-2' } }))).toBe('UNAUTHENTICATED');
    expect((await server.gql(LOGIN, { input: { tenantSlug: t.tenant.slug, email: to, password: 'first-password-1' } })).errors).toBeUndefined();
  });

  it('an expired token is refused with the same code; the user stays INVITED', async () => {
    const to = email('late');
    const invited = await invite(to);
    const token = tokenOf(await waitForMail(mock, to));
    await server.ownerSql`update user_tokens set expires_at = now() - interval '1 second' where id = ${invited.invitation.id}`;
    const res = await server.gql(ACCEPT, { token, password: 'late-password-1' });
    expect(errorCode(res)).toBe('INVALID_TOKEN');
    expect((await server.ownerSql`select status from users where id = ${invited.invitation.user.id}`)[0]!.status).toBe('INVITED');
    expect((await invitation(invited.invitation.id)).status).toBe('EXPIRED');
  });

  it('a revoked invitation is refused; revoking twice is a CONFLICT', async () => {
    const to = email('revoked');
    const invited = await invite(to);
    const token = tokenOf(await waitForMail(mock, to));
    const REVOKE = `mutation ($id: UUID!) { revokeInvitation(id: $id) { id status revokedAt } }`;
    const revoked = await server.gql(REVOKE, { id: invited.invitation.id }, { token: t.owner.token });
    expect(revoked.data.revokeInvitation).toMatchObject({ status: 'REVOKED' });
    expect(errorCode(await server.gql(ACCEPT, { token, password: 'revoked-password' }))).toBe('INVALID_TOKEN');
    expect(errorCode(await server.gql(REVOKE, { id: invited.invitation.id }, { token: t.owner.token }))).toBe('CONFLICT');
    expect(errorCode(await server.gql(REVOKE, { id: crypto.randomUUID() }, { token: t.owner.token }))).toBe('NOT_FOUND');
  });

  it('resend: a new link works, the old one is dead at once', async () => {
    const to = email('resend');
    const invited = await invite(to);
    const oldToken = tokenOf(await waitForMail(mock, to));
    const RESEND = `mutation ($userId: UUID!) { resendInvitation(userId: $userId) { invitationUrl invitation { id status message { id } } } }`;
    const resent = await server.gql(RESEND, { userId: invited.invitation.user.id }, { token: t.owner.token });
    expect(resent.errors).toBeUndefined();
    expect(resent.data.resendInvitation.invitation.id).not.toBe(invited.invitation.id);
    const newToken = tokenOf(await waitForMail(mock, to, 2));
    expect(newToken).not.toBe(oldToken);
    expect((await invitation(invited.invitation.id)).status).toBe('REVOKED');
    expect(errorCode(await server.gql(ACCEPT, { token: oldToken, password: 'old-link-password' }))).toBe('INVALID_TOKEN');
    expect((await server.gql(ACCEPT, { token: newToken, password: 'new-link-password' })).errors).toBeUndefined();
    // An ACTIVE user is not invited again.
    expect(errorCode(await server.gql(RESEND, { userId: invited.invitation.user.id }, { token: t.owner.token }))).toBe('CONFLICT');
  });

  it('malformed, forged and wrong-purpose tokens get the same answer', async () => {
    const forged = `inv_${t.tenant.id}_${'A'.repeat(43)}`;
    for (const token of ['', 'x', forged, forged.replace('inv_', 'pwr_'), `inv_${crypto.randomUUID()}_${'B'.repeat(43)}`, 'inv_' + 'a'.repeat(500), "inv_' or 1=1 --", `inv_${t.tenant.id}_${'A'.repeat(42)}\u0000`]) {
      const res = await server.gql(ACCEPT, { token, password: 'whatever-password' });
      expect(res.errors?.[0]?.extensions?.code, token.slice(0, 40)).toMatch(/^(INVALID_TOKEN|BAD_USER_INPUT)$/);
      expect(res.data ?? null).toBeNull();
    }
  });
});

describe('delivery status and provider failures', () => {
  it('a bounced invitation is visible to the ADMIN (filter) and in the audit trail, as the integration', async () => {
    const to = `bounce-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const invited = await invite(to);
    const bounced = await waitFor(async () => {
      const res = await server.gql(INVITATIONS, { filter: { deliveryStatus: 'BOUNCED' } }, { token: t.owner.token });
      return res.data.invitations.edges.map((e: any) => e.node).find((n: any) => n.id === invited.invitation.id);
    }, { message: 'a BOUNCED invitation' });
    expect(bounced).toMatchObject({ status: 'PENDING', message: { status: 'SENT', deliveryStatus: 'BOUNCED' } });
    const audit = await server.gql(`query ($f: AuditLogFilter) { auditLogs(first: 20, filter: $f) { edges { node { action actorType actorId changes } } } }`, { f: { entityType: 'outbound_messages', entityId: invited.invitation.message.id } }, { token: t.owner.token });
    const entry = audit.data.auditLogs.edges.map((e: any) => e.node).find((n: any) => n.changes.delivery_status?.new === 'BOUNCED');
    expect(entry).toMatchObject({ action: 'UPDATE', actorType: 'INTEGRATION', actorId: integrationId });
  });

  it('a provider that is down: retries, then DEAD (visible to the ADMIN); resend works once it is back', async () => {
    await control.faults({ service: 'communication-service', down: true });
    const to = email('down');
    const invited = await invite(to);
    const dead = await waitFor(async () => {
      const inv = await invitation(invited.invitation.id);
      return inv?.message?.status === 'DEAD' ? inv : undefined;
    }, { timeoutMs: 30_000, message: 'DEAD' });
    expect(dead.message.attempts).toBe(3); // the first attempt and MESSAGE_RETRY_LIMIT (2) retries
    expect(dead.message.lastError).toMatch(/503|Circuit/); // the provider's 503s, or the circuit they opened
    const [row] = await server.ownerSql`select body_encrypted from outbound_messages where id = ${invited.invitation.message.id}`;
    expect(row!.body_encrypted).toBeNull(); // a dead message keeps no link
    expect(await mailbox(mock, to)).toHaveLength(0);
    // A dead message is a dead letter in the integration's health.
    const health = await server.gql(`query ($id: UUID!) { integrationHealth(integrationId: $id) { signals { deadLetterCount } } }`, { id: integrationId }, { token: t.owner.token });
    expect(health.errors).toBeUndefined();
    expect(health.data.integrationHealth.signals.deadLetterCount).toBeGreaterThanOrEqual(1);

    await control.clearFaults();
    const resent = await server.gql(`mutation ($userId: UUID!) { resendInvitation(userId: $userId) { invitation { id } } }`, { userId: invited.invitation.user.id }, { token: t.owner.token });
    expect(resent.errors).toBeUndefined();
    const token = tokenOf(await waitForMail(mock, to, 1, 20_000));
    expect((await server.gql(ACCEPT, { token, password: 'back-again-password' })).errors).toBeUndefined();
  });

  it('the provider is asked once per message even when a retry repeats the call (Idempotency-Key)', async () => {
    const to = email('idem');
    const invited = await invite(to);
    await waitForMail(mock, to);
    const [m] = await server.ownerSql`select idempotency_key, provider_message_id from outbound_messages where id = ${invited.invitation.message.id}`;
    expect(m!.idempotency_key).toBe(`tessera-message-${invited.invitation.message.id}`);
    const replay = await fetch(`${mock.url}/communication-service/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test-api-key', 'idempotency-key': m!.idempotency_key },
      body: JSON.stringify({ to_email: to, channel: 'email', subject: 'x', text: 'y' }),
    });
    expect(replay.status).toBe(422); // same key, different body: refused, not sent twice
    expect(await mailbox(mock, to)).toHaveLength(1);
  });
});

describe('who may invite, and which tenant a token works in', () => {
  it('a VIEWER and a MEMBER cannot invite; an ADMIN cannot invite an OWNER', async () => {
    const viewer = await t.user('VIEWER');
    const member = await t.user('MEMBER');
    const admin = await t.user('ADMIN');
    const input = { email: email('nope'), name: 'Nope' };
    expect(errorCode(await server.gql(INVITE, { input }, { token: viewer.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(INVITE, { input }, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(INVITE, { input: { ...input, role: 'OWNER' } }, { token: admin.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(INVITATIONS, {}, { token: viewer.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(INVITE, { input }))).toBe('UNAUTHENTICATED');
    expect((await server.ownerSql`select count(*)::int as n from users where email = ${input.email}`)[0]!.n).toBe(0);
  });

  it("another tenant's invitation token is useless here, and its invitations are invisible", async () => {
    const other = await server.seed.tenant();
    const to = email('elsewhere');
    const res = await server.gql(INVITE, { input: { email: to, name: 'Elsewhere' } }, { token: other.owner.token });
    const url = res.data.inviteUser.invitationUrl; // the other tenant has no provider: the link comes back once
    expect(url).toMatch(new RegExp(`^${APP_URL}/accept-invitation\\?token=inv_${other.tenant.id}_`));
    const token = new URL(url).searchParams.get('token')!;
    // Addressed to this tenant (header or the token's tenant swapped): refused, and nothing changes.
    expect(errorCode(await server.gql(ACCEPT, { token, password: 'cross-tenant-pw' }, { headers: { 'x-tenant': t.tenant.slug } }))).toBe('INVALID_TOKEN');
    expect(errorCode(await server.gql(ACCEPT, { token: token.replace(other.tenant.id, t.tenant.id), password: 'cross-tenant-pw' }))).toBe('INVALID_TOKEN');
    expect((await server.ownerSql`select status from users where tenant_id = ${other.tenant.id} and email = ${to}`)[0]!.status).toBe('INVITED');
    const mine = await server.gql(INVITATIONS, {}, { token: t.owner.token });
    expect(mine.data.invitations.edges.map((e: any) => e.node.email)).not.toContain(to);
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { revokeInvitation(id: $id) { id } }`, { id: res.data.inviteUser.invitation.id }, { token: t.owner.token }))).toBe('NOT_FOUND');
    // In its own tenant (named by header too) it works.
    expect((await server.gql(ACCEPT, { token, password: 'cross-tenant-pw' }, { headers: { 'x-tenant': other.tenant.slug } })).errors).toBeUndefined();
  });
});

describe('without a communication integration, and mirrored users', () => {
  it('the link is returned once in the payload; resend returns a new one; nothing is queued', async () => {
    const bare = await server.seed.tenant();
    const to = email('nomail');
    const res = await server.gql(INVITE, { input: { email: to, name: 'No Mail' } }, { token: bare.owner.token });
    expect(res.data.inviteUser.invitation.message).toBeNull();
    const token = new URL(res.data.inviteUser.invitationUrl).searchParams.get('token')!;
    const list = await server.gql(`{ invitations { edges { node { id status } } } }`, {}, { token: bare.owner.token });
    expect(JSON.stringify(list.data)).not.toContain(token.slice(-20)); // never shown again
    expect((await server.ownerSql`select count(*)::int as n from outbound_messages where tenant_id = ${bare.tenant.id}`)[0]!.n).toBe(0);
    const accepted = await server.gql(ACCEPT, { token, password: 'no-mail-password' });
    expect(accepted.data.acceptInvitation.user.status).toBe('ACTIVE');
  });

  it('inviteAllPendingUsers invites every INVITED user without a pending invitation, once', async () => {
    const bare = await server.seed.tenant();
    // Users created INVITED without an invitation (as a sync or createUser without a password makes them).
    for (const n of [1, 2, 3]) await server.gql(`mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }`, { i: { email: `m${n}-${bare.tenant.slug}@example.com`, name: `Mirrored ${n}` } }, { token: bare.owner.token });
    const ALL = `mutation { inviteAllPendingUsers { invitationUrl invitation { user { email } } } }`;
    const first = await server.gql(ALL, {}, { token: bare.owner.token });
    expect(first.errors).toBeUndefined();
    expect(first.data.inviteAllPendingUsers).toHaveLength(3);
    expect(first.data.inviteAllPendingUsers.every((p: any) => p.invitationUrl?.startsWith(`${APP_URL}/accept-invitation`))).toBe(true);
    expect((await server.gql(ALL, {}, { token: bare.owner.token })).data.inviteAllPendingUsers).toHaveLength(0);
  });
});

describe('users mirrored from a USER_SERVICE', () => {
  it('with inviteNewUsers, a user created by webhook or by sync is invited (once, as the integration); without it nobody is', async () => {
    const us = await createTestIntegration(server.app, mock, t.tenant.id, 'USER_SERVICE');
    const UPDATE = `mutation ($id: UUID!, $input: UpdateIntegrationInput!) { updateIntegration(id: $id, input: $input) { id inviteNewUsers } }`;
    // Off by default: a mirrored user stays INVITED without an invitation.
    const quiet = email('quiet');
    await sendUserWebhook(server, us.target.id, us.secret, 'user.created', { id: `usr_${crypto.randomUUID()}`, email: quiet, name: 'Quiet', status: 'active', version: 1, updated_at: new Date().toISOString() });
    await waitFor(async () => (await server.ownerSql`select 1 from users where email = ${quiet}`).length === 1, { message: 'the mirrored user' });
    expect((await server.gql(UPDATE, { id: us.target.id, input: { inviteNewUsers: true } }, { token: t.owner.token })).data.updateIntegration.inviteNewUsers).toBe(true);

    // By webhook.
    const hooked = email('hooked');
    const res = await sendUserWebhook(server, us.target.id, us.secret, 'user.created', { id: `usr_${crypto.randomUUID()}`, email: hooked, name: 'Hooked', status: 'active', version: 1, updated_at: new Date().toISOString() });
    expect(res.status).toBe(202);
    const token = tokenOf(await waitForMail(mock, hooked));
    await server.sealAudit();
    const [inv] = await server.ownerSql`select ut.created_by, a.actor_type, a.actor_id from user_tokens ut join users u on u.id = ut.user_id
      join audit_logs a on a.entity_type = 'user_tokens' and a.entity_id = ut.id::text and a.action = 'INSERT' where u.email = ${hooked}`;
    expect(inv).toMatchObject({ created_by: null, actor_type: 'INTEGRATION', actor_id: us.target.id });
    expect((await server.gql(ACCEPT, { token, password: 'mirrored-password' })).data.acceptInvitation.user.status).toBe('ACTIVE');

    // By sync: the provider's users that are new here are invited, once.
    const api = mockApi(mock);
    const synced = email('synced');
    await api.createUser({ email: synced, name: 'Synced' });
    await syncNow(server, t.owner.token, us.target.id, 'INCREMENTAL');
    await waitForMail(mock, synced);
    await syncNow(server, t.owner.token, us.target.id, 'FULL');
    expect((await server.ownerSql`select count(*)::int as n from user_tokens ut join users u on u.id = ut.user_id where u.email = ${synced}`)[0]!.n).toBe(1);
    // The user mirrored before the option was on was not invited by it.
    expect((await server.ownerSql`select count(*)::int as n from user_tokens ut join users u on u.id = ut.user_id where u.email = ${quiet}`)[0]!.n).toBe(0);
  });
});
