/** Sessions: list your logins, end one or all others; an ADMIN ends all of a user's. Over real HTTP and sockets. */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN } from './helpers/people.js';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';
import { connectWs, subscribe } from './helpers/ws.js';

let server: TestServer;
let t: SeededTenant;
const SESSIONS = `{ mySessions { id createdAt lastUsedAt expiresAt userAgent ipAddress current } }`;
const REFRESH = `mutation ($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }`;
const ME = '{ me { id } }';

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
});
afterAll(() => server?.close());

async function login(email: string, userAgent = 'test-agent/1.0') {
  const res = await server.gql(LOGIN, { input: { tenantSlug: t.tenant.slug, email, password: PASSWORD } }, { headers: { 'user-agent': userAgent } });
  expect(res.errors).toBeUndefined();
  return res.data.login as { accessToken: string; refreshToken: string };
}

describe('mySessions', () => {
  it('lists each login with when it was created and last used, its user agent and IP, marking the current one; a refresh moves lastUsedAt', async () => {
    const u = await t.user('VIEWER');
    const phone = await login(u.user.email, 'Phone/2.0');
    const laptop = await login(u.user.email, 'Laptop/3.0');
    const list = (await server.gql(SESSIONS, {}, { token: laptop.accessToken })).data.mySessions;
    expect(list).toHaveLength(2);
    expect(list.find((s: any) => s.current)).toMatchObject({ userAgent: 'Laptop/3.0', ipAddress: '127.0.0.1' });
    const phoneSession = list.find((s: any) => !s.current);
    expect(phoneSession.userAgent).toBe('Phone/2.0');
    await new Promise((r) => setTimeout(r, 20));
    await server.gql(REFRESH, { r: phone.refreshToken });
    const after = (await server.gql(SESSIONS, {}, { token: laptop.accessToken })).data.mySessions;
    const moved = after.find((s: any) => s.id === phoneSession.id);
    expect(new Date(moved.lastUsedAt).getTime()).toBeGreaterThan(new Date(phoneSession.lastUsedAt).getTime());
    expect(moved.createdAt).toBe(phoneSession.createdAt);
    // Only one's own: another user sees only theirs.
    const other = (await server.gql(SESSIONS, {}, { token: t.owner.token })).data.mySessions;
    expect(other.map((s: any) => s.id)).not.toContain(phoneSession.id);
  });
});

describe('ending sessions', () => {
  it('revokeSession ends that session (its refresh token dies, its socket closes) and no other; not someone else’s', async () => {
    const u = await t.user('MEMBER');
    const a = await login(u.user.email);
    const b = await login(u.user.email);
    const sessions = (await server.gql(SESSIONS, {}, { token: b.accessToken })).data.mySessions;
    const aId = sessions.find((s: any) => !s.current).id;
    let closed: number | undefined;
    const client = connectWs(server.url, a.accessToken, { onClosed: (code) => (closed = code) });
    const sub = subscribe(client, 'subscription { heartbeat(intervalSeconds: 1) }');
    await sub.waitFor(() => true, 10_000);
    // Another user can't end it (NOT_FOUND, as if it didn't exist).
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { revokeSession(id: $id) }`, { id: aId }, { token: t.owner.token }))).toBe('NOT_FOUND');
    expect((await server.gql(`mutation ($id: UUID!) { revokeSession(id: $id) }`, { id: aId }, { token: b.accessToken })).data).toEqual({ revokeSession: true });
    expect(errorCode(await server.gql(REFRESH, { r: a.refreshToken }))).toBe('UNAUTHENTICATED');
    // Its access token dies at once over HTTP too, not at its expiry; the other session's lives.
    expect(errorCode(await server.gql(ME, {}, { token: a.accessToken }))).toBe('UNAUTHENTICATED');
    expect((await server.gql(ME, {}, { token: b.accessToken })).data).toEqual({ me: { id: u.user.id } });
    expect((await server.gql(REFRESH, { r: b.refreshToken })).errors).toBeUndefined();
    await waitFor(() => closed, { timeoutMs: 5000, message: 'the socket to close' });
    expect(closed).toBe(4403);
    await client.dispose();
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { revokeSession(id: $id) }`, { id: aId }, { token: b.accessToken }))).toBe('NOT_FOUND');
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { revokeSession(id: $id) }`, { id: 'not-a-uuid' }, { token: b.accessToken }))).toBe('BAD_USER_INPUT');
  });

  it('logout ends the session’s access token at once (HTTP and a new socket), not the user’s other sessions; a refresh keeps the session alive', async () => {
    const u = await t.user('MEMBER');
    const a = await login(u.user.email);
    const b = await login(u.user.email);
    const refreshed = (await server.gql(REFRESH, { r: a.refreshToken })).data.refreshSession;
    // Rotation keeps the session: both the old and the new access token of session a still work.
    for (const token of [a.accessToken, refreshed.accessToken]) expect((await server.gql(ME, {}, { token })).data).toEqual({ me: { id: u.user.id } });
    expect((await server.gql(`mutation ($r: String!) { logout(refreshToken: $r) }`, { r: refreshed.refreshToken })).data).toEqual({ logout: true });
    for (const token of [a.accessToken, refreshed.accessToken]) expect(errorCode(await server.gql(ME, {}, { token }))).toBe('UNAUTHENTICATED');
    let closed: number | undefined;
    const client = connectWs(server.url, refreshed.accessToken, { onClosed: (code) => (closed = code) });
    subscribe(client, 'subscription { heartbeat(intervalSeconds: 1) }'); // connects (graphql-ws connects lazily)
    await waitFor(() => closed, { timeoutMs: 5000, message: 'the socket to be refused' });
    expect(closed).toBe(4403);
    await client.dispose();
    expect((await server.gql(ME, {}, { token: b.accessToken })).data).toEqual({ me: { id: u.user.id } });
  });

  it('revokeOtherSessions keeps only the current one', async () => {
    const u = await t.user('MEMBER');
    const sessions = [await login(u.user.email), await login(u.user.email), await login(u.user.email)];
    const current = sessions[2]!;
    expect((await server.gql('mutation { revokeOtherSessions }', {}, { token: current.accessToken })).data).toEqual({ revokeOtherSessions: 2 });
    for (const s of sessions.slice(0, 2)) {
      expect(errorCode(await server.gql(REFRESH, { r: s.refreshToken }))).toBe('UNAUTHENTICATED');
      expect(errorCode(await server.gql(ME, {}, { token: s.accessToken }))).toBe('UNAUTHENTICATED');
    }
    expect((await server.gql(SESSIONS, {}, { token: current.accessToken })).data.mySessions).toHaveLength(1);
    expect((await server.gql(REFRESH, { r: current.refreshToken })).errors).toBeUndefined();
    // A token made outside a session can't say which to keep.
    expect(errorCode(await server.gql('mutation { revokeOtherSessions }', {}, { token: u.token }))).toBe('BAD_REQUEST');
  });

  it('an ADMIN ends every session of a user of their tenant; not of an OWNER, not as a MEMBER, not across tenants', async () => {
    const admin = await t.user('ADMIN');
    const member = await t.user('MEMBER');
    const s1 = await login(member.user.email);
    const s2 = await login(member.user.email);
    const END = `mutation ($id: UUID!) { revokeUserSessions(userId: $id) }`;
    expect(errorCode(await server.gql(END, { id: admin.user.id }, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(END, { id: t.owner.user.id }, { token: admin.token }))).toBe('FORBIDDEN');
    const other = await server.seed.tenant();
    expect(errorCode(await server.gql(END, { id: other.owner.user.id }, { token: admin.token }))).toBe('NOT_FOUND');
    expect(errorCode(await server.gql(END, { id: crypto.randomUUID() }, { token: admin.token }))).toBe('NOT_FOUND');
    expect((await server.gql(END, { id: member.user.id }, { token: admin.token })).data).toEqual({ revokeUserSessions: 2 });
    for (const s of [s1, s2]) {
      expect(errorCode(await server.gql(REFRESH, { r: s.refreshToken }))).toBe('UNAUTHENTICATED');
      expect(errorCode(await server.gql(ME, {}, { token: s.accessToken }))).toBe('UNAUTHENTICATED');
    }
    const audit = await server.gql(`{ auditLogs(first: 10, filter: { action: "SESSION_REVOKED" }) { edges { node { actorType actorId entityId } } } }`, {}, { token: t.owner.token });
    expect(audit.data.auditLogs.edges.map((e: any) => e.node)).toContainEqual({ actorType: 'USER', actorId: admin.user.id, entityId: member.user.id });
  });
});
