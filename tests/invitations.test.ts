/**
 * Invitations end to end: GraphQL → outbox row + job in one transaction → the real job path →
 * the mock communication service over HTTP → the link read back from the mock's /_control →
 * acceptInvitation → login. Plus reuse, expiry, revocation, resend, bounces, a provider that is
 * down, a tenant without a provider, mirrored users, roles and tenants.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { createTestIntegration, FAST_OUTBOUND_ENV, mockControl } from './helpers/integrations.js';
import { ACCEPT, INVITATIONS, INVITE, LOGIN, registerWebhookEndpoint, tokenOf, waitForMail } from './helpers/people.js';
import type { SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { FAST_JOBS_ENV } from './helpers/sync.js';
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
