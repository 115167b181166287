import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildEvent, generateEvent, planDeliveries, sendWebhook, signPayload } from '../src/mock-services/send-webhooks.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import type { Message, User } from '../src/mock-services/types.js';

const SECRET = `whsec_${Buffer.from('tessera-test-secret-0123456789ab').toString('base64')}`;
const AUTH = { authorization: 'Bearer test-key' };

let mock: MockServices;

beforeAll(async () => {
  mock = await startMockServices({ port: 0, seedUsers: 50 });
});
afterAll(() => mock.close());
beforeEach(async () => {
  await control('DELETE', '/faults');
  await control('POST', '/reset', {});
});

async function api(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(mock.url + path, {
    method: init.method ?? 'GET',
    headers: { ...AUTH, ...(init.body !== undefined && { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function control(method: string, path: string, body?: unknown) {
  return api(`/_control${path}`, { method, body, headers: {} });
}

/** Follows next_cursor to the end, returning every row seen (duplicates included). */
async function listAll<T>(path: string, query = ''): Promise<{ rows: T[]; pages: number }> {
  const rows: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams(query);
    if (cursor) params.set('cursor', cursor);
    const { status, body } = await api(`${path}?${params}`);
    expect(status).toBe(200);
    rows.push(...body.data);
    cursor = body.next_cursor;
    pages++;
  } while (cursor);
  return { rows, pages };
}

describe('provider APIs', () => {
  it('requires a bearer API key, except on /health', async () => {
    const unauthenticated = await fetch(`${mock.url}/user-service/users`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    for (const service of ['user-service', 'payment-service', 'communication-service']) {
      const health = await fetch(`${mock.url}/${service}/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
    }
  });

  it('generates the same data from the same seed', async () => {
    const first = await listAll<User>('/user-service/users', 'limit=1000');
    await control('POST', '/reset', {});
    const second = await listAll<User>('/user-service/users', 'limit=1000');
    expect(second.rows).toEqual(first.rows);
    const other = await startMockServices({ port: 0, seedUsers: 50 });
    try {
      const response = await fetch(`${other.url}/user-service/users?limit=1000`, { headers: AUTH });
      expect(((await response.json()) as any).data).toEqual(first.rows);
    } finally {
      await other.close();
    }
  });

  it('paginates every user exactly once, ordered by (updated_at, id)', async () => {
    const { rows, pages } = await listAll<User>('/user-service/users', 'limit=7');
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((u) => u.id)).size).toBe(50);
    expect(pages).toBe(8);
    const keys = rows.map((u) => `${u.updated_at}|${u.id}`);
    expect(keys).toEqual([...keys].sort());
    expect((await api('/user-service/users')).body.data).toHaveLength(50);
  });

  it('misses no unchanged record when records change mid-scan', async () => {
    const firstPage = await api('/user-service/users?limit=10');
    // Touch a user already seen and one not yet seen: both move to the end of the order.
    const seen = firstPage.body.data[0] as User;
    const unseen = (await api('/user-service/users?limit=1000')).body.data[30] as User;
    await control('POST', `/users/${seen.id}/touch`);
    await control('POST', `/users/${unseen.id}/touch`);
    const rest = await listAll<User>('/user-service/users', `limit=10&cursor=${firstPage.body.next_cursor}`);
    const ids = new Set([...firstPage.body.data, ...rest.rows].map((u: User) => u.id));
    expect(ids.size).toBe(50);
    expect(rest.rows.filter((u) => u.id === seen.id)).toHaveLength(1);
    // Both touched users end the scan (in either order: two touches can share a millisecond).
    expect(rest.rows.slice(-2).map((u) => u.id).sort()).toEqual([seen.id, unseen.id].sort());
    expect(rest.rows.find((u) => u.id === unseen.id)).toMatchObject({ version: unseen.version + 1 });
  });

  it('clamps limit to 1000 and pages through 10,000 bulk-created users', async () => {
    expect((await control('POST', '/reset', { seedUsers: 0 })).body.users).toBe(0);
    const bulk = await control('POST', '/users', { count: 10_000 });
    expect(bulk.body).toEqual({ created: 10_000, total: 10_000 });
    const first = await api('/user-service/users?limit=5000');
    expect(first.body.data).toHaveLength(1000);
    const { rows, pages } = await listAll<User>('/user-service/users', 'limit=1000');
    expect(pages).toBe(10);
    expect(new Set(rows.map((u) => u.id)).size).toBe(10_000);
  });

  it('rejects a bad cursor or timestamp with 400', async () => {
    expect((await api('/user-service/users?cursor=nonsense')).body.error.code).toBe('INVALID_CURSOR');
    expect((await api('/user-service/users?updated_since=yesterday')).status).toBe(400);
    expect((await api('/user-service/users?limit=0')).status).toBe(400);
  });

  it('returns only records changed since updated_since', async () => {
    const since = new Date().toISOString();
    expect((await api(`/user-service/users?updated_since=${since}`)).body.data).toEqual([]);
    const all = (await api('/user-service/users')).body.data as User[];
    const [a, b] = [all[3]!, all[17]!];
    await control('POST', `/users/${a.id}/touch`);
    await api(`/user-service/users/${b.id}`, { method: 'PATCH', body: { name: 'Renamed Person' } });
    const changed = (await api(`/user-service/users?updated_since=${since}`)).body.data as User[];
    expect(changed.map((u) => u.id).sort()).toEqual([a.id, b.id].sort());
    expect(changed.find((u) => u.id === b.id)).toMatchObject({ name: 'Renamed Person', version: b.version + 1 });
  });

  it('soft-deletes users and hides them unless include_deleted=true', async () => {
    const user = (await api('/user-service/users?limit=1')).body.data[0] as User;
    const deleted = await api(`/user-service/users/${user.id}`, { method: 'DELETE' });
    expect(deleted.body).toMatchObject({ id: user.id, status: 'deleted', version: user.version + 1 });
    // A retried DELETE does not bump the version again.
    expect((await api(`/user-service/users/${user.id}`, { method: 'DELETE' })).body.version).toBe(user.version + 1);
    expect((await listAll<User>('/user-service/users')).rows.map((u) => u.id)).not.toContain(user.id);
    const withDeleted = (await listAll<User>('/user-service/users', 'include_deleted=true')).rows;
    expect(withDeleted.find((u) => u.id === user.id)?.status).toBe('deleted');
    expect((await api(`/user-service/users/${user.id}`)).body.status).toBe('deleted');
    expect((await api('/user-service/users/usr_missing')).status).toBe(404);
  });

  it('creates a user once per Idempotency-Key', async () => {
    const body = { email: 'new.person@example.com', name: 'New Person' };
    const headers = { 'idempotency-key': 'create-new-person' };
    const first = await api('/user-service/users', { method: 'POST', body, headers });
    const replay = await api('/user-service/users', { method: 'POST', body, headers });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(first.body).toMatchObject({ ...body, status: 'active', version: 1 });
    expect((await listAll<User>('/user-service/users')).rows).toHaveLength(51);

    const reused = await api('/user-service/users', { method: 'POST', body: { ...body, name: 'Other' }, headers });
    expect(reused.status).toBe(422);
    const withoutKey = await api('/user-service/users', { method: 'POST', body });
    expect(withoutKey.body.id).not.toBe(first.body.id);
    expect((await api('/user-service/users', { method: 'POST', body: { name: 'No Email' } })).status).toBe(400);
  });

  it('serves paginated subscriptions, invoices and messages', async () => {
    const subscriptions = (await listAll<any>('/payment-service/subscriptions', 'limit=5')).rows;
    const invoices = (await listAll<any>('/payment-service/invoices', 'limit=5')).rows;
    expect(subscriptions).toHaveLength(17);
    expect(invoices).toHaveLength(34);
    expect(subscriptions[0].id).toMatch(/^sub_/);
    expect(invoices[0]).toHaveProperty('amount_cents');
    expect((await api(`/payment-service/invoices/${invoices[0].id}`)).body).toEqual(invoices[0]);
    expect((await listAll<Message>('/communication-service/messages', 'limit=5')).rows).toHaveLength(25);
  });

  it('sends a message once per Idempotency-Key', async () => {
    const body = { to_email: 'someone@example.com', user_external_id: 'usr_x', subject: 'Hi', body: 'Hello' };
    const headers = { 'idempotency-key': 'welcome-usr_x' };
    const first = await api('/communication-service/messages', { method: 'POST', body, headers });
    const replay = await api('/communication-service/messages', { method: 'POST', body, headers });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ to_email: 'someone@example.com', user_external_id: 'usr_x', channel: 'email', status: 'sent' });
    expect(replay.body.id).toBe(first.body.id);
    expect((await listAll<Message>('/communication-service/messages')).rows).toHaveLength(26);
  });
});

describe('fault injection', () => {
  it('fails every request at errorRate 1 and recovers when cleared', async () => {
    await control('POST', '/faults', { service: 'user-service', errorRate: 1 });
    expect((await api('/user-service/users')).status).toBe(500);
    expect((await api('/payment-service/subscriptions')).status).toBe(200);
    await control('DELETE', '/faults');
    expect((await api('/user-service/users')).status).toBe(200);
  });

  it('fails roughly errorRate of requests', async () => {
    await control('POST', '/faults', { service: 'payment-service', errorRate: 0.5 });
    const statuses = [];
    for (let i = 0; i < 60; i++) statuses.push((await api('/payment-service/invoices?limit=1')).status);
    const failures = statuses.filter((s) => s === 500).length;
    expect(failures).toBeGreaterThan(10);
    expect(failures).toBeLessThan(50);
    expect(statuses.filter((s) => s !== 500 && s !== 200)).toEqual([]);
  });

  it('adds latency', async () => {
    await control('POST', '/faults', { latencyMs: 250 });
    let started = performance.now();
    expect((await api('/communication-service/messages?limit=1')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    await control('POST', '/faults', { latencyMs: 0 });
    started = performance.now();
    await api('/communication-service/messages?limit=1');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('takes a service down (503, health included) while /_control keeps working', async () => {
    await control('POST', '/faults', { service: 'payment-service', down: true });
    expect((await api('/payment-service/subscriptions')).status).toBe(503);
    expect((await fetch(`${mock.url}/payment-service/health`)).status).toBe(503);
    expect((await api('/user-service/health')).status).toBe(200);
    expect((await control('GET', '/faults')).body['payment-service'].down).toBe(true);
    await control('POST', '/faults', { service: 'payment-service', down: false });
    expect((await api('/payment-service/subscriptions')).status).toBe(200);
  });

  it('rate-limits with 429 and Retry-After', async () => {
    await control('POST', '/faults', { service: 'user-service', rateLimit: { retryAfterSeconds: 7 } });
    const limited = await api('/user-service/users');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    await control('POST', '/faults', { service: 'user-service', rateLimit: null });
    expect((await api('/user-service/users')).status).toBe(200);
  });

  it('rejects an invalid fault configuration', async () => {
    expect((await control('POST', '/faults', { errorRate: 2 })).status).toBe(400);
    expect((await control('POST', '/faults', { service: 'nope' })).status).toBe(400);
  });

  it('counts requests per service and status', async () => {
    await api('/user-service/users');
    await control('POST', '/faults', { service: 'user-service', down: true });
    await api('/user-service/users');
    await api('/user-service/users');
    const counts = (await control('GET', '/requests')).body;
    expect(counts['user-service']).toEqual({ total: 3, byStatus: { '200': 1, '503': 2 } });
    expect(counts['payment-service']).toEqual({ total: 0, byStatus: {} });
  });
});

describe('webhooks', () => {
  let receiver: Server;
  let receiverUrl: string;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/int_1`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
  });

  /** Verifies like Tessera will: the raw body bytes against the Standard Webhooks headers. */
  const verify = (body: string, headers: IncomingHttpHeaders | Record<string, string>) =>
    new Webhook(SECRET).verify(body, headers as Record<string, string>);

  it('signs payloads that standardwebhooks verifies, and only byte-identical ones', () => {
    const event = buildEvent('user.created', { id: 'usr_1', email: 'a@example.com' }, { id: 'evt_1' });
    const body = JSON.stringify(event);
    const headers = signPayload(SECRET, event.id, body);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(headers['content-type']).toBe('application/json');
    expect(verify(body, headers)).toEqual(event);
    expect(() => verify(JSON.stringify(event, null, 2), headers)).toThrow();
    expect(() => verify(body, signPayload(`whsec_${Buffer.from('another-secret').toString('base64')}`, event.id, body))).toThrow();
  });

  it('builds events for every provider event type', () => {
    const cancelled = generateEvent('subscription.canceled', { customer_id: 'usr_42' });
    expect(cancelled).toMatchObject({ type: 'subscription.canceled', data: { customer_id: 'usr_42', status: 'canceled', version: 2 } });
    expect(cancelled.id).toMatch(/^evt_/);
    expect(generateEvent('user.deleted').data.status).toBe('deleted');
    expect(generateEvent('invoice.payment_failed').data.status).toBe('failed');
    expect(generateEvent('message.bounced').data.id).toMatch(/^msg_/);
  });

  it('delivers single and batch payloads that verify at the receiver', async () => {
    const event = generateEvent('user.created');
    expect(await sendWebhook(receiverUrl, SECRET, event)).toEqual({ status: 202, body: { accepted: true } });
    const batch = [generateEvent('invoice.paid'), generateEvent('invoice.paid')];
    await sendWebhook(receiverUrl, SECRET, batch);
    const [single, batched] = received;
    expect(single!.headers['webhook-id']).toBe(event.id);
    expect(verify(single!.body, single!.headers)).toEqual(event);
    expect(verify(batched!.body, batched!.headers)).toEqual(batch);
    expect(batch.map((e) => e.id)).not.toContain(batched!.headers['webhook-id']);
  });

  it('plans duplicate and out-of-order deliveries', () => {
    const [first, second] = planDeliveries({ type: 'message.sent', duplicate: true });
    expect(second).toEqual(first);
    const [updated, created] = planDeliveries({ type: 'user.created', outOfOrder: true }).map((d) => d.payload as any);
    expect(updated).toMatchObject({ type: 'user.updated', data: { version: 2 } });
    expect(created).toMatchObject({ type: 'user.created', data: { id: updated.data.id, version: 1 } });
    const [batch] = planDeliveries({ type: 'user.updated', batch: 5 });
    expect(batch!.payload).toHaveLength(5);
  });

  it('sends from the CLI', async () => {
    const run = promisify(execFile);
    const cli = ['tsx', 'src/mock-services/send-webhooks.ts', '--url', receiverUrl, '--secret', SECRET];
    const { stdout } = await run('npx', [...cli, '--out-of-order', '--duplicate']);
    expect(stdout.trim().split('\n')).toHaveLength(4);
    expect(received.map((r) => JSON.parse(r.body).type)).toEqual(['user.updated', 'user.updated', 'user.created', 'user.created']);
    expect(received[0]!.headers['webhook-id']).toBe(received[1]!.headers['webhook-id']);
    for (const r of received) verify(r.body, r.headers);
  }, 30_000);

  it('sends webhooks for real changes via /_control/webhooks/send', async () => {
    const result = await control('POST', '/webhooks/send', { url: receiverUrl, secret: SECRET, type: 'user.created', count: 3 });
    expect(result.body.deliveries).toHaveLength(3);
    expect(result.body.deliveries.every((d: any) => d.status === 202)).toBe(true);
    const events = received.map((r) => verify(r.body, r.headers) as any);
    const created = await api(`/user-service/users/${events[0].data.id}`);
    expect(created.body).toEqual(events[0].data);
    expect((await listAll<User>('/user-service/users')).rows).toHaveLength(53);

    const synthetic = await control('POST', '/webhooks/send', { url: receiverUrl, secret: SECRET, type: 'user.deleted', data: { id: 'usr_demo' } });
    expect(synthetic.body.deliveries[0].status).toBe(202);
    expect(JSON.parse(received.at(-1)!.body).data).toMatchObject({ id: 'usr_demo', status: 'deleted' });
    expect((await control('POST', '/webhooks/send', { url: receiverUrl, secret: 'not-a-secret', type: 'user.created' })).status).toBe(400);
  });
});
