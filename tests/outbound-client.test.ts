import crypto from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, ProviderHttpError, ProviderUnavailableError } from '../src/integrations/errors.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { FAST_OUTBOUND_ENV, makeTarget, mockControl } from './helpers/integrations.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let mock: MockServices;
let control: ReturnType<typeof mockControl>;
let tenantId: string;

beforeAll(async () => {
  [server, mock] = await Promise.all([startTestServer({ env: { ...FAST_OUTBOUND_ENV, OUTBOUND_BULKHEAD_LIMIT: '2', OUTBOUND_BULKHEAD_QUEUE: '0' } }), startMockServices({ port: 0, seedUsers: 5 })]);
  control = mockControl(mock);
  tenantId = (await server.seed.tenant()).tenant.id;
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});
beforeEach(async () => {
  await control.clearFaults();
  await control.clearRequests();
});

const client = async () => server.app.integrations.clients.client(await makeTarget(server.app, mock, tenantId));

describe('outbound client', () => {
  it('sends the API key and parses JSON', async () => {
    const res = await (await client()).get<{ data: unknown[] }>('/users?limit=2');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
  });

  it('retries a GET on 503 (1 + OUTBOUND_MAX_RETRIES attempts), then surfaces ProviderHttpError', async () => {
    await control.faults({ service: 'user-service', down: true });
    const err = await (await client()).get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderHttpError);
    expect((err as ProviderHttpError).status).toBe(503);
    expect((await control.requests('user-service')).total).toBe(3);
  });

  it('does not retry a non-idempotent POST, but retries one carrying an Idempotency-Key', async () => {
    await control.faults({ service: 'user-service', down: true });
    await expect((await client()).post('/users', { email: 'a@b.test', name: 'A' })).rejects.toBeInstanceOf(ProviderHttpError);
    expect((await control.requests('user-service')).total).toBe(1);

    await control.clearRequests();
    await expect((await client()).post('/users', { email: 'a@b.test', name: 'A' }, { idempotencyKey: crypto.randomUUID() })).rejects.toBeInstanceOf(ProviderHttpError);
    expect((await control.requests('user-service')).total).toBe(3);
  });

  it('honours Retry-After on 429: the retry waits at least the given second', async () => {
    await control.faults({ service: 'user-service', rateLimit: { retryAfterSeconds: 1 } });
    const c = await client(); // before the clock: creating it takes a while on a busy machine
    const started = Date.now();
    setTimeout(() => void control.clearFaults(), 300);
    const res = await c.get('/users?limit=1');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(await control.requests('user-service')).toEqual({ total: 2, byStatus: { 429: 1, 200: 1 } });
  });

  it('does not retry a 429 for a non-idempotent POST', async () => {
    await control.faults({ service: 'user-service', rateLimit: { retryAfterSeconds: 1 } });
    const err = await (await client()).post('/users', { email: 'c@d.test', name: 'C' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, retryAfterMs: 1000 });
    expect((await control.requests('user-service')).total).toBe(1);
  });

  it('times out (aborting the fetch) and reports ProviderUnavailableError', async () => {
    await control.faults({ service: 'user-service', latencyMs: 1500 });
    const c = await client();
    const started = Date.now();
    const err = await c.post('/users', { email: 'e@f.test', name: 'E' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).reason).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('opens the breaker after consecutive failures and then fails fast without calling', async () => {
    const c = await client();
    await control.faults({ service: 'user-service', down: true });
    await expect(c.get('/users')).rejects.toBeInstanceOf(ProviderHttpError); // 3 attempts = threshold
    expect(server.app.integrations.circuits.localState(c.target.id)).toBe('OPEN');
    const before = (await control.requests('user-service')).total;
    await expect(c.get('/users')).rejects.toBeInstanceOf(CircuitOpenError);
    expect((await control.requests('user-service')).total).toBe(before);
    // Other integrations of the same provider have their own breaker.
    await control.clearFaults();
    await expect((await client()).get('/users?limit=1')).resolves.toMatchObject({ status: 200 });
  });

  it('caps concurrent calls per provider with a bulkhead; a rejection is not a provider failure', async () => {
    await control.faults({ service: 'user-service', latencyMs: 300 });
    const clients = [await client(), await client(), await client()];
    const results = await Promise.allSettled(clients.map((c) => c.post('/users', { email: `${crypto.randomUUID()}@b.test`, name: 'B' })));
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toBeInstanceOf(ProviderUnavailableError);
    expect(rejected[0].reason).toBe('BULKHEAD_FULL');
    expect((await control.requests('user-service')).total).toBe(2);
    // Another provider has its own bulkhead.
    await expect(server.app.integrations.clients.client(await makeTarget(server.app, mock, tenantId, 'PAYMENT_SERVICE')).get('/subscriptions?limit=1')).resolves.toMatchObject({ status: 200 });
  });

  it('does not count 4xx answers as provider failures', async () => {
    const c = await client();
    for (let i = 0; i < 5; i++) await expect(c.get(`/users/${crypto.randomUUID()}`)).rejects.toMatchObject({ status: 404 });
    expect(server.app.integrations.circuits.localState(c.target.id)).toBe('CLOSED');
  });
});
