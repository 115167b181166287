/**
 * API keys (issue 15): service accounts that authenticate with `Authorization: Bearer tsk_…` wherever
 * an access token works, recognised by app_begin in the request's first statement. Real server, real
 * Postgres, real WebSockets.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey } from '../src/auth/api-keys.js';
import { waitFor } from './helpers/wait.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { subscribe } from './helpers/ws.js';
import type { SeededTenant } from './helpers/seed.js';

let server: TestServer;
const clients: Client[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
});

const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name role prefix status createdBy { id } expiresAt } } }`;
const LIST = `query($all: Boolean) { apiKeys(includeRevoked: $all) { id prefix status lastUsedAt lastUsedIp revokedAt createdBy { id } } }`;

async function createKey(t: SeededTenant, role = 'ADMIN', token = t.owner.token, extra: Record<string, unknown> = {}) {
  const res = await server.gql(CREATE, { input: { name: `key ${role}`, role, ...extra } }, { token });
  expect(res.errors).toBeUndefined();
  return res.data.createApiKey as { key: string; apiKey: { id: string; prefix: string; status: string } };
}

describe('creating and listing keys', () => {
  it('the key is shown once, recognisable (tsk_ + ids + secret), stored only as a hash, listed with prefix, creator and last use', async () => {
    const t = await server.seed.tenant();
    const { key, apiKey } = await createKey(t);
    expect(key).toMatch(/^tsk_[0-9a-f]{64}[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect(parseApiKey(key)).toMatchObject({ keyId: apiKey.id, tenantId: t.tenant.id });
    const [row] = await server.ownerSql`select * from api_keys where id = ${apiKey.id}`;
    expect(JSON.stringify(row)).not.toContain(key.slice(-43)); // the secret is nowhere at rest
    expect(row!.key_hash).toBe(parseApiKey(key)!.hash);

    const me = await server.gql('{ users(first: 5) { edges { node { id } } } }', {}, { token: key });
    expect(me.errors).toBeUndefined();
    const list = await server.gql(LIST, {}, { token: t.owner.token });
    expect(list.data.apiKeys).toEqual([expect.objectContaining({ id: apiKey.id, prefix: apiKey.prefix, status: 'ACTIVE', lastUsedIp: '127.0.0.1', createdBy: { id: t.owner.user.id } })]);
    expect(Date.now() - new Date(list.data.apiKeys[0].lastUsedAt).getTime()).toBeLessThan(60_000);
  });

  it('a key’s role is at most its creator’s; MEMBERs can’t create keys; bad input is refused field by field', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const member = await t.user('MEMBER');
    expect(errorCode(await server.gql(CREATE, { input: { name: 'x', role: 'OWNER' } }, { token: admin.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(CREATE, { input: { name: 'x', role: 'VIEWER' } }, { token: member.token }))).toBe('FORBIDDEN');
    const bad = await server.gql(CREATE, { input: { name: ' ', role: 'VIEWER', expiresAt: '2001-01-01T00:00:00Z' } }, { token: admin.token });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0]!.extensions!.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'expiresAt' })]));
    await createKey(t, 'ADMIN', admin.token);
  });
});

describe('a key authenticates like a token, as itself', () => {
  it('works for queries and mutations with its own role; the audit trail names the key (API_KEY)', async () => {
    const t = await server.seed.tenant();
    const { key, apiKey } = await createKey(t, 'ADMIN');
    const res = await server.gql('mutation { createUser(input: { email: "bot-made@x.test", name: "By a bot", role: MEMBER }) { id } }', {}, { token: key, headers: { 'x-request-id': 'req-by-key-1' } });
    expect(res.errors).toBeUndefined();
    await server.sealAudit();
    const [entry] = await server.ownerSql`select actor_type, actor_id, request_id from audit_logs where tenant_id = ${t.tenant.id} and entity_type = 'users' and entity_id = ${res.data.createUser.id}`;
    expect(entry).toEqual({ actor_type: 'API_KEY', actor_id: apiKey.id, request_id: 'req-by-key-1' });
    const audit = await server.gql(`{ auditLogs(first: 5, filter: { actorType: API_KEY }) { edges { node { actorType actorId } } } }`, {}, { token: key });
    expect(audit.data.auditLogs.edges[0].node).toEqual({ actorType: 'API_KEY', actorId: apiKey.id });
    // A VIEWER key can read, not write.
    const viewer = await createKey(t, 'VIEWER');
    expect(errorCode(await server.gql('mutation { createUser(input: { email: "no@x.test", name: "No" }) { id } }', {}, { token: viewer.key }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql('{ auditLogs(first: 1) { edges { cursor } } }', {}, { token: viewer.key }))).toBe('FORBIDDEN');
  });

  it('a key costs a request the same statements (round trips) as an access token: app_begin recognises it', async () => {
    const t = await server.seed.tenant();
    const { key } = await createKey(t, 'OWNER');
    const q = '{ tenant { id } users(first: 5) { edges { node { id organizations { id } } } } }';
    const statements = async (token: string) => {
      const before = server.queryCount();
      expect((await server.gql(q, {}, { token })).errors).toBeUndefined();
      return server.queryCount() - before;
    };
    await statements(key); // its first use (recorded once a minute) is inside the same statement anyway
    expect(await statements(key)).toBe(await statements(t.owner.token));
  });

  it('forged, altered, unknown, other-tenant and malformed keys are UNAUTHENTICATED, never another tenant’s data', async () => {
    const a = await server.seed.tenant();
    const b = await server.seed.tenant();
    const { key } = await createKey(a);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const bHex = b.tenant.id.replace(/-/g, '');
    const cases = [
      flip(key, key.length - 1), // wrong secret
      key.slice(0, 4) + key.slice(4, 36) + bHex + key.slice(68), // the key moved to tenant B
      `tsk_${'0'.repeat(64)}${key.slice(68)}`, // unknown ids
    ];
    for (const malformed of [key.slice(0, -1), `${key}x`, 'tsk_', `tsk_${'g'.repeat(64)}${key.slice(68)}`]) {
      const res = await server.gql('{ users(first: 1) { edges { node { id } } } }', {}, { token: malformed });
      expect(res.status, malformed).toBe(401);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
    }
    for (const bad of cases) {
      const res = await server.gql('{ users(first: 1) { edges { node { id } } } }', {}, { token: bad });
      // Malformed: 401 before execution; well-formed but not valid: refused by the rule (like an inactive user's token).
      expect(errorCode(res), bad).toBe('UNAUTHENTICATED');
      expect(res.data?.users ?? null).toBeNull();
    }
  });

  it('expiry and revocation take effect at once; keys can’t create or revoke keys, or make OWNERs', async () => {
    const t = await server.seed.tenant();
    const soon = await createKey(t, 'ADMIN', t.owner.token, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await server.gql('{ tenant { id } }', {}, { token: soon.key })).errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1600));
    expect(errorCode(await server.gql('{ tenant { id } }', {}, { token: soon.key }))).toBe('UNAUTHENTICATED');
    expect((await server.gql(LIST, { all: true }, { token: t.owner.token })).data.apiKeys.find((k: { id: string }) => k.id === soon.apiKey.id).status).toBe('EXPIRED');

    const owner = await createKey(t, 'OWNER');
    const refused = await server.gql(CREATE, { input: { name: 'child', role: 'VIEWER' } }, { token: owner.key });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0]!.extensions!.reason).toBe('API_KEY_NOT_ALLOWED');
    expect(errorCode(await server.gql('mutation($id: UUID!) { revokeApiKey(id: $id) { id } }', { id: owner.apiKey.id }, { token: owner.key }))).toBe('FORBIDDEN');
    // Nor who may sign in: SSO/SCIM settings (the identityAdmin rule) refuse keys, reading them too.
    expect(errorCode(await server.gql('mutation { createScimToken(name: "by a key") { scimToken { id } } }', {}, { token: owner.key }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql('{ scimTokens { id } }', {}, { token: owner.key }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql('mutation { createUser(input: { email: "o2@x.test", name: "O2", role: OWNER, password: "a-long-password" }) { id } }', {}, { token: owner.key }))).toBe('FORBIDDEN');
    const member = await t.user('MEMBER');
    expect(errorCode(await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: OWNER) { id } }', { id: member.user.id }, { token: owner.key }))).toBe('FORBIDDEN');
    expect((await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: ADMIN) { role } }', { id: member.user.id }, { token: owner.key })).data.changeUserRole.role).toBe('ADMIN');

    // An ADMIN can't revoke an OWNER key; the OWNER can, and the key stops at once.
    const admin = await t.user('ADMIN');
    expect(errorCode(await server.gql('mutation($id: UUID!) { revokeApiKey(id: $id) { id } }', { id: owner.apiKey.id }, { token: admin.token }))).toBe('FORBIDDEN');
    const revoked = await server.gql('mutation($id: UUID!) { revokeApiKey(id: $id) { status revokedAt } }', { id: owner.apiKey.id }, { token: t.owner.token });
    expect(revoked.data.revokeApiKey.status).toBe('REVOKED');
    expect(errorCode(await server.gql('{ tenant { id } }', {}, { token: owner.key }))).toBe('UNAUTHENTICATED');
    // Other tenants' keys are NOT_FOUND.
    const other = await server.seed.tenant();
    expect(errorCode(await server.gql('mutation($id: UUID!) { revokeApiKey(id: $id) { id } }', { id: soon.apiKey.id }, { token: other.owner.token }))).toBe('NOT_FOUND');
  });

  it('an OWNER key can neither make an OWNER (create, invite, bulk, promote) nor manage one (edit, invite again, end sessions, deactivate, delete): FORBIDDEN, nothing changed', async () => {
    const t = await server.seed.tenant();
    const { key } = await createKey(t, 'OWNER');
    const asKey = (query: string, variables: Record<string, unknown> = {}) => server.gql(query, variables, { token: key });
    const refusedForKeys = (res: Awaited<ReturnType<typeof asKey>>, what: string) => {
      expect(errorCode(res), what).toBe('FORBIDDEN');
      expect(res.errors![0]!.extensions!.reason, what).toBe('API_KEY_NOT_ALLOWED');
    };
    // A second, invited OWNER (by a person), whose link is pending.
    const invitedRes = await server.gql('mutation { inviteUser(input: { email: "next-owner@x.test", name: "Next", role: OWNER }) { invitation { id user { id } } } }', {}, { token: t.owner.token });
    expect(invitedRes.errors).toBeUndefined();
    const invited = { invitation: invitedRes.data.inviteUser.invitation, user: invitedRes.data.inviteUser.invitation.user };
    const owner = t.owner.user.id;
    const attempts: [string, string, Record<string, unknown>][] = [
      ['invite an OWNER', 'mutation { inviteUser(input: { email: "key-owner@x.test", name: "K", role: OWNER }) { invitation { id } } }', {}],
      ['create an OWNER', 'mutation { createUser(input: { email: "key-owner2@x.test", name: "K", role: OWNER }) { id } }', {}],
      ['edit an OWNER (email)', 'mutation($id: UUID!) { updateUser(id: $id, input: { email: "taken-over@x.test" }) { id } }', { id: owner }],
      ['edit an OWNER (password)', 'mutation($id: UUID!) { updateUser(id: $id, input: { password: "a-key-chosen-password" }) { id } }', { id: owner }],
      ['invite an OWNER again', 'mutation($id: UUID!) { resendInvitation(userId: $id) { invitation { id } } }', { id: invited.user.id }],
      ['revoke an OWNER invitation', 'mutation($id: UUID!) { revokeInvitation(id: $id) { id } }', { id: invited.invitation.id }],
      ["end an OWNER's sessions", 'mutation($id: UUID!) { revokeUserSessions(userId: $id) }', { id: owner }],
      ['deactivate an OWNER', 'mutation($id: UUID!) { deactivateUser(id: $id) { id } }', { id: owner }],
      ['delete an OWNER', 'mutation($id: UUID!) { deleteUser(id: $id) { id } }', { id: invited.user.id }],
    ];
    for (const [what, query, variables] of attempts) refusedForKeys(await asKey(query, variables), what);
    const bulk = await asKey('mutation { createUsers(inputs: [{ email: "bulk-owner@x.test", name: "B", role: OWNER }, { email: "bulk-member@x.test", name: "M", role: MEMBER }]) { results { index user { id } error { code } } } }');
    expect(bulk.data.createUsers.results.map((r: { error: { code: string } | null }) => r.error?.code ?? 'ok')).toEqual(['FORBIDDEN', 'ok']);
    const bulkEdit = await asKey('mutation($id: UUID!) { updateUsers(inputs: [{ id: $id, name: "Renamed by a key" }]) { results { error { code } } } }', { id: owner });
    expect(bulkEdit.data.updateUsers.results[0].error.code).toBe('FORBIDDEN');

    const [row] = await server.ownerSql<{ email: string; name: string; status: string }[]>`select email, name, status from users where id = ${owner}`;
    expect(row).toEqual({ email: t.owner.user.email, name: expect.not.stringMatching('Renamed by a key'), status: 'ACTIVE' });
    expect(await server.ownerSql`select 1 from users where tenant_id = ${t.tenant.id} and email in ('key-owner@x.test', 'key-owner2@x.test', 'bulk-owner@x.test')`).toHaveLength(0);
    const pending = (await server.gql('{ invitations { edges { node { id status } } } }', {}, { token: t.owner.token })).data.invitations.edges.map((e: { node: unknown }) => e.node);
    expect(pending).toContainEqual({ id: invited.invitation.id, status: 'PENDING' });
    expect((await server.gql('{ me { id } }', {}, { token: t.owner.token })).data.me.id).toBe(owner); // sessions intact
    // Below OWNER the key still does an ADMIN's work.
    expect((await asKey('mutation { inviteUser(input: { email: "key-member@x.test", name: "KM", role: MEMBER }) { invitation { user { role } } } }')).data.inviteUser.invitation.user.role).toBe('MEMBER');
  });

  it('rate limits apply per key (each key its own mutation budget)', async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '3' } });
    try {
      const t = await limited.seed.tenant();
      const mk = async () => (await limited.gql(CREATE, { input: { name: 'k', role: 'ADMIN' } }, { token: t.owner.token })).data.createApiKey.key as string;
      const [k1, k2] = [await mk(), await mk()];
      const mutate = (key: string, n: number) => limited.gql(`mutation { createOrganization(input: { name: "org-${n}-${Math.random()}" }) { id } }`, {}, { token: key });
      for (let i = 0; i < 3; i++) expect((await mutate(k1, i)).errors).toBeUndefined();
      const over = await mutate(k1, 9);
      expect(over.status).toBe(429);
      expect(errorCode(over)).toBe('RATE_LIMITED');
      expect((await mutate(k2, 1)).errors).toBeUndefined(); // another key, another budget
    } finally {
      await limited.close();
    }
  });
});

describe('a key on an open WebSocket', () => {
  it('revocation closes the socket (4403) within a second', async () => {
    const t = await server.seed.tenant();
    const { key, apiKey } = await createKey(t, 'ADMIN');
    let closed: { code: number; reason: string; at: number } | undefined;
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
      on: { closed: (e) => void (closed ??= { code: (e as { code: number }).code, reason: String((e as { reason: string }).reason), at: Date.now() }) },
    });
    clients.push(client);
    const sub = subscribe(client, 'subscription { heartbeat(intervalSeconds: 1) }');
    await sub.waitFor(() => true);
    await server.gql('mutation($id: UUID!) { revokeApiKey(id: $id) { id } }', { id: apiKey.id }, { token: t.owner.token });
    const committedAt = Date.now();
    await waitFor(() => !!closed, { timeoutMs: 3000, message: 'the socket to close' });
    expect(closed!.code).toBe(4403);
    expect(closed!.at - committedAt).toBeLessThan(1000);
  });
});
