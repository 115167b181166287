/**
 * Credentials stay live on open WebSockets (issue 11 §1, ARCHITECTURE invariant 11): real graphql-ws
 * clients over real sockets against a real server; each case measures the close (4403) from the
 * moment the change is committed.
 */
import crypto from 'node:crypto';
import { eq } from 'drizzle-orm';
import { createClient, type Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_ALG } from '../src/auth/keys.js';
import { users } from '../src/db/schema.js';
import { actors, inTenant } from '../src/db/tenant-transaction.js';
import { waitFor } from './helpers/wait.js';
import { publish, type HealthChangedEvent } from '../src/realtime/pubsub.js';
import { PASSWORD, type SeededTenant, type SeededUser } from './helpers/seed.js';
import { errorCode, OPERATOR, startTestServer, type TestServer } from './helpers/server.js';
import { subscribe, type TestSubscription } from './helpers/ws.js';

let server: TestServer;
let operatorToken: string;
const clients: Client[] = [];

const HEALTH_CHANGED = `subscription { integrationHealthChanged { id integrationId status reason } }`;
const HEARTBEAT = `subscription { heartbeat(intervalSeconds: 1) }`;

beforeAll(async () => {
  server = await startTestServer();
  operatorToken = (await server.gql('mutation($e: EmailAddress!, $p: String!) { platformLogin(email: $e, password: $p) { accessToken } }', { e: OPERATOR.email, p: OPERATOR.password })).data.platformLogin
    .accessToken;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
});

interface Socket {
  client: Client;
  closed?: { code: number; reason: string; at: number };
  /** Resolves when the server acknowledged the connection. */
  connected: Promise<void>;
}

/** A graphql-ws client like a browser's, recording how and when the server closed it. */
function open(token: string): Socket {
  let resolveConnected!: () => void;
  const s: Socket = { client: undefined as never, connected: new Promise((r) => (resolveConnected = r)) };
  s.client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    on: {
      connected: () => resolveConnected(),
      closed: (e) => {
        const ev = e as { code: number; reason: string };
        s.closed ??= { code: ev.code, reason: String(ev.reason), at: Date.now() };
      },
    },
  });
  clients.push(s.client);
  return s;
}

/** Waits until the socket's subscriptions are attached (the pubsub's listener count grew by `n`). */
async function attached(before: number, n = 1) {
  await waitFor(() => server.app.pubsub.listenerCount >= before + n, { timeoutMs: 5000, message: 'the subscription to attach' });
}

function healthEvent(tenantId: string, reason: string): HealthChangedEvent {
  const id = crypto.randomUUID();
  return { topic: 'integration_health_changed', tenantId, integrationId: id, id, status: 'DOWN', previousStatus: 'HEALTHY', reason, changedAt: new Date().toISOString() };
}

const emit = (tenantId: string, reason: string) => inTenant(server.app.db, actors.system('test', tenantId), (tx) => publish(tx, healthEvent(tenantId, reason)));

/** An ADMIN with a live integrationHealthChanged subscription that has already received one event. */
async function adminSubscribed(t: SeededTenant, who?: SeededUser) {
  const admin = who ?? (await t.user('ADMIN'));
  const socket = open(admin.token);
  const before = server.app.pubsub.listenerCount;
  const sub = subscribe(socket.client, HEALTH_CHANGED);
  await attached(before);
  await emit(t.tenant.id, 'before');
  await sub.waitFor((e) => e.reason === 'before');
  return { admin, socket, sub };
}

/** The socket was closed with 4403 within a second of `committedAt`. */
async function expectClosedWithin(socket: Socket, committedAt: number, reason: RegExp) {
  await waitFor(() => !!socket.closed, { timeoutMs: 3000, message: 'the socket to close' });
  expect(socket.closed!.code).toBe(4403);
  expect(socket.closed!.reason).toMatch(reason);
  expect(socket.closed!.at - committedAt).toBeLessThan(1000);
  return socket.closed!.at - committedAt;
}

/** Events sent after the change never arrive. */
async function expectNothingAfter(t: SeededTenant, sub: TestSubscription) {
  await emit(t.tenant.id, 'after');
  await new Promise((r) => setTimeout(r, 300));
  expect(sub.events.map((e) => e.reason)).not.toContain('after');
}

describe('an open WebSocket follows the user’s current standing', () => {
  it('deactivation closes the socket (4403) within a second; no event is delivered afterwards', async () => {
    const t = await server.seed.tenant();
    const { admin, socket, sub } = await adminSubscribed(t);
    const res = await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { status } }', { id: admin.user.id }, { token: t.owner.token });
    const committedAt = Date.now();
    expect(res.data.deactivateUser.status).toBe('DEACTIVATED');
    await expectClosedWithin(socket, committedAt, /not active/);
    await expectNothingAfter(t, sub);
    expect(server.app.principals.watcherCount).toBeGreaterThanOrEqual(0);
  });

  it('deleting the user closes the socket too', async () => {
    const t = await server.seed.tenant();
    const { admin, socket } = await adminSubscribed(t);
    const res = await server.gql('mutation($id: UUID!) { deleteUser(id: $id) { id } }', { id: admin.user.id }, { token: t.owner.token });
    const committedAt = Date.now();
    expect(res.errors).toBeUndefined();
    await expectClosedWithin(socket, committedAt, /not active/);
  });

  it('demotion below an open subscription’s role (ADMIN → VIEWER on integrationHealthChanged) closes the socket within a second', async () => {
    const t = await server.seed.tenant();
    const { admin, socket, sub } = await adminSubscribed(t);
    await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: VIEWER) { role } }', { id: admin.user.id }, { token: t.owner.token });
    const committedAt = Date.now();
    await expectClosedWithin(socket, committedAt, /role/);
    await expectNothingAfter(t, sub);
  });

  it('a demotion the subscriptions still allow keeps the socket; a new ADMIN subscription on it is refused (FORBIDDEN)', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const socket = open(admin.token);
    const beat = subscribe(socket.client, HEARTBEAT);
    await beat.waitFor(() => true);
    await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: MEMBER) { role } }', { id: admin.user.id }, { token: t.owner.token });
    await new Promise((r) => setTimeout(r, 500));
    expect(socket.closed).toBeUndefined();
    const n = beat.events.length;
    await beat.waitFor(() => beat.events.length > n, 3000); // heartbeats still flow

    const refused = subscribe(socket.client, HEALTH_CHANGED);
    await waitFor(() => refused.errors.length > 0, { timeoutMs: 3000, message: 'the refusal' });
    expect(JSON.stringify(refused.errors)).toContain('FORBIDDEN');
    expect(socket.closed).toBeUndefined();
    // Promoted back, the same socket may subscribe again: each operation reads the role anew.
    await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: ADMIN) { role } }', { id: admin.user.id }, { token: t.owner.token });
    const before = server.app.pubsub.listenerCount;
    const again = subscribe(socket.client, HEALTH_CHANGED);
    await attached(before);
    await emit(t.tenant.id, 'promoted');
    await again.waitFor((e) => e.reason === 'promoted');
  });

  it('a new operation re-checks the user like an HTTP request: a deactivated user’s query on a socket whose close raced it is refused', async () => {
    // With the principals trigger disabled, nothing tells the socket; the next operation still reads the user anew.
    const t = await server.seed.tenant();
    const member = await t.user('MEMBER');
    const socket = open(member.token);
    const beat = subscribe(socket.client, HEARTBEAT);
    await beat.waitFor(() => true);
    await server.ownerSql`alter table users disable trigger users_principal_changed`;
    try {
      await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { status } }', { id: member.user.id }, { token: t.owner.token });
      const query = await new Promise<unknown>((resolve) => {
        const got: unknown[] = [];
        socket.client.subscribe({ query: '{ me { id } }' }, { next: (v) => got.push(v), error: (e) => resolve(e), complete: () => resolve(got[0]) });
      });
      expect(JSON.stringify(query)).toContain('UNAUTHENTICATED');
      expect(JSON.stringify(query)).not.toContain(member.user.id);
    } finally {
      await server.ownerSql`alter table users enable trigger users_principal_changed`;
    }
  });

  it('tenant suspension closes every socket of the tenant within a second, and no other tenant’s', async () => {
    const t = await server.seed.tenant();
    const other = await server.seed.tenant();
    const { socket, sub } = await adminSubscribed(t);
    const owner = open(t.owner.token);
    const ownerBeat = subscribe(owner.client, HEARTBEAT);
    await ownerBeat.waitFor(() => true);
    const bystander = await adminSubscribed(other);
    const res = await server.gql('mutation($id: UUID!) { suspendTenant(id: $id) { status } }', { id: t.tenant.id }, { token: operatorToken });
    const committedAt = Date.now();
    expect(res.data.suspendTenant.status).toBe('SUSPENDED');
    await expectClosedWithin(socket, committedAt, /suspended/);
    await expectClosedWithin(owner, committedAt, /suspended/);
    await expectNothingAfter(t, sub);
    expect(bystander.socket.closed).toBeUndefined();
    await emit(other.tenant.id, 'still here');
    await bystander.sub.waitFor((e) => e.reason === 'still here');
  });

  it('logout closes the sockets of that session within a second; the same user’s other session stays open', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const LOGIN = 'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken refreshToken } }';
    const login = async () => (await server.gql(LOGIN, { s: t.tenant.slug, e: admin.user.email, p: PASSWORD })).data.login as { accessToken: string; refreshToken: string };
    const first = await login();
    const second = await login();
    const { socket, sub } = await adminSubscribed(t, { user: admin.user, token: first.accessToken });
    const kept = await adminSubscribed(t, { user: admin.user, token: second.accessToken });
    expect((await server.gql('mutation($r: String!) { logout(refreshToken: $r) }', { r: first.refreshToken })).data.logout).toBe(true);
    const committedAt = Date.now();
    await expectClosedWithin(socket, committedAt, /session ended/);
    await expectNothingAfter(t, sub);
    expect(kept.socket.closed).toBeUndefined();
    await kept.sub.waitFor((e) => e.reason === 'after');
  });

  it('refresh-token reuse (the session revoked as stolen) closes that session’s sockets', async () => {
    const t = await server.seed.tenant();
    const LOGIN = 'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken refreshToken } }';
    const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }';
    const session = (await server.gql(LOGIN, { s: t.tenant.slug, e: t.owner.user.email, p: PASSWORD })).data.login;
    const rotated = (await server.gql(REFRESH, { r: session.refreshToken })).data.refreshSession;
    const socket = open(rotated.accessToken);
    const beat = subscribe(socket.client, HEARTBEAT);
    await beat.waitFor(() => true);
    expect(errorCode(await server.gql(REFRESH, { r: session.refreshToken }))).toBe('UNAUTHENTICATED'); // replayed: family revoked
    const committedAt = Date.now();
    await expectClosedWithin(socket, committedAt, /session ended/);
  });

  it('the access token’s expiry closes the socket (4403, so graphql-ws clients reconnect with a fresh token) within a second of exp', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const exp = Math.floor(Date.now() / 1000) + 3;
    const keys = server.app.keys;
    const token = await new SignJWT({ tid: t.tenant.id, role: 'ADMIN' })
      .setProtectedHeader({ alg: JWT_ALG, typ: 'at+jwt', kid: keys.kid })
      .setSubject(admin.user.id)
      .setIssuer(server.app.config.JWT_ISSUER)
      .setAudience(server.app.config.JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(keys.privateKey);
    const { socket, sub } = await adminSubscribed(t, { user: admin.user, token });
    expect(socket.closed).toBeUndefined();
    await waitFor(() => !!socket.closed, { timeoutMs: 6000, message: 'the socket to close at exp' });
    expect(socket.closed!.code).toBe(4403);
    expect(socket.closed!.reason).toMatch(/expired/);
    expect(socket.closed!.at - exp * 1000).toBeGreaterThanOrEqual(-50);
    expect(socket.closed!.at - exp * 1000).toBeLessThan(1000);
    await expectNothingAfter(t, sub);
  });

  it('every event is checked against the current standing: an event committed right after a deactivation is never delivered', async () => {
    const t = await server.seed.tenant();
    const { admin, socket, sub } = await adminSubscribed(t);
    // One transaction: the deactivation's notification is queued before the event's, so the event
    // reaches the socket while the user's standing is being read again, and must wait for it.
    await inTenant(server.app.db, actors.system('test', t.tenant.id), async (tx) => {
      await tx.update(users).set({ status: 'DEACTIVATED' }).where(eq(users.id, admin.user.id));
      await publish(tx, healthEvent(t.tenant.id, 'racing'));
    });
    const committedAt = Date.now();
    await expectClosedWithin(socket, committedAt, /not active/);
    await new Promise((r) => setTimeout(r, 200));
    expect(sub.events.map((e) => e.reason)).toEqual(['before']);
  });

  it('a forged notification on the principals channel changes nothing (it only makes the tables be read again)', async () => {
    const t = await server.seed.tenant();
    const { admin, socket, sub } = await adminSubscribed(t);
    const forged = [
      { kind: 'user', tenantId: t.tenant.id, userId: admin.user.id },
      { kind: 'tenant', tenantId: t.tenant.id },
      { kind: 'session', tenantId: t.tenant.id, sessionId: crypto.randomUUID() },
      { kind: 'user', tenantId: 'not-a-uuid', userId: "'; drop table users; --" },
    ];
    for (const f of forged) await server.appSql`select pg_notify('tessera_principals', ${JSON.stringify(f)})`;
    await server.appSql`select pg_notify('tessera_principals', 'not json')`;
    await new Promise((r) => setTimeout(r, 300));
    expect(socket.closed).toBeUndefined();
    await emit(t.tenant.id, 'still delivered');
    await sub.waitFor((e) => e.reason === 'still delivered');
  });

  it('a closed socket stops being watched (no growth per connection)', async () => {
    const t = await server.seed.tenant();
    const before = server.app.principals.watcherCount;
    const socket = open(t.owner.token);
    const beat = subscribe(socket.client, HEARTBEAT);
    await beat.waitFor(() => true);
    expect(server.app.principals.watcherCount).toBe(before + 1);
    await socket.client.dispose();
    await waitFor(() => server.app.principals.watcherCount === before, { timeoutMs: 3000, message: 'the watcher to go' });
  });

  it('operations on a socket meet the same limits as over HTTP (a depth bomb is refused before execution)', async () => {
    const t = await server.seed.tenant();
    const socket = open(t.owner.token);
    let q = 'id';
    for (let i = 0; i < 8; i++) q = `organizations { members { user { ${q} } } }`;
    const result = await new Promise<unknown>((resolve) => {
      socket.client.subscribe({ query: `{ me { ${q} } }` }, { next: resolve, error: resolve, complete: () => undefined });
    });
    expect(JSON.stringify(result)).toMatch(/depth/i);
    expect(JSON.stringify(result)).not.toContain(t.owner.user.id);
  });

  it('a user who is not in good standing cannot connect (4403)', async () => {
    const t = await server.seed.tenant();
    const m = await t.user('MEMBER');
    await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { status } }', { id: m.user.id }, { token: t.owner.token });
    const socket = open(m.token);
    const sub = subscribe(socket.client, HEARTBEAT);
    await waitFor(() => !!socket.closed, { timeoutMs: 3000, message: 'the refusal' });
    expect(socket.closed!.code).toBe(4403);
    expect(sub.events).toEqual([]);
  });
});
