import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { CircuitOpenError } from '../src/integrations/errors.js';
import { checkIntegrationHealth, reevaluateHealth } from '../src/integrations/health-monitor.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { FAST_OUTBOUND_ENV, makeTarget, mockControl } from './helpers/integrations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import type { SeededTenant } from './helpers/seed.js';
import { connectWs, subscribe, waitUntil } from './helpers/ws.js';

const HEALTH_CHANGED = `subscription ($id: UUID) { integrationHealthChanged(integrationId: $id) { integrationId status previousStatus } }`;

// Two API processes on one database, as behind a load balancer. A long half-open window keeps the
// circuit open for the whole test unless a test shortens it.
const env = { ...FAST_OUTBOUND_ENV, OUTBOUND_HALF_OPEN_AFTER_MS: '1500' };
let one: TestServer;
let two: TestServer;
let mock: MockServices;
let control: ReturnType<typeof mockControl>;
let t: SeededTenant;
let tokenOnTwo: string;
const clients: Client[] = [];

beforeAll(async () => {
  [one, mock] = await Promise.all([startTestServer({ env }), startMockServices({ port: 0, seedUsers: 5 })]);
  two = await startTestServer({ env, database: new URL(one.databaseUrl.owner).pathname.slice(1) });
  control = mockControl(mock);
  t = await one.seed.tenant();
  // Each test server has its own signing key; the user is the same row in the shared database.
  tokenOnTwo = (await two.app.tokens.signUserToken(t.owner.user)).token;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await two?.close();
  await one?.close();
  await mock?.close();
});
beforeEach(async () => {
  await control.clearFaults();
  await control.clearRequests();
});

async function subscribeOn(server: TestServer, token: string, id?: string) {
  const before = server.app.pubsub.listenerCount;
  const client = connectWs(server.url, token);
  clients.push(client);
  const sub = subscribe(client, HEALTH_CHANGED, id ? { id } : {});
  await waitUntil(() => server.app.pubsub.listenerCount > before, 5000, 'subscription registration');
  return sub;
}

describe('two server processes on one database', () => {
  it('a health change made via one reaches a subscriber connected to the other', async () => {
    const target = await makeTarget(one.app, mock, t.tenant.id);
    const sub = await subscribeOn(two, tokenOnTwo, target.id);
    await reevaluateHealth(one.app, t.tenant.id, target.id, { external: { deadLetterCount: 2 } });
    expect(await sub.waitFor((e) => e.status === 'DEGRADED')).toMatchObject({ integrationId: target.id, previousStatus: 'UNKNOWN' });
  });

  it('a circuit opened on one makes the other skip calls without reaching the provider', async () => {
    const target = await makeTarget(one.app, mock, t.tenant.id);
    const sub = await subscribeOn(two, tokenOnTwo, target.id);
    await control.faults({ service: 'user-service', down: true });
    await checkIntegrationHealth(one.app, target);
    expect(one.app.integrations.circuits.localState(target.id)).toBe('OPEN');
    await sub.waitFor((e) => e.status === 'DOWN'); // the circuit NOTIFY committed before this one

    // Provider is back, but process two trusts the shared OPEN until opened_at + halfOpenAfter.
    await control.clearFaults();
    await control.clearRequests();
    const client = two.app.integrations.clients.client(target);
    await expect(client.get('/users?limit=1')).rejects.toBeInstanceOf(CircuitOpenError);
    expect((await checkIntegrationHealth(two.app, target)).ok).toBe(false);
    expect((await control.requests('user-service')).total).toBe(0);
    expect(two.app.integrations.circuits.localState(target.id)).not.toBe('OPEN'); // its own breaker never saw a failure

    // After the window, exactly one process runs the trial; success closes the circuit everywhere.
    await new Promise((r) => setTimeout(r, 1600));
    expect((await checkIntegrationHealth(two.app, target)).ok).toBe(true);
    await sub.waitFor((e) => e.status === 'HEALTHY');
    await waitUntil(() => one.app.integrations.circuits.localState(target.id) !== 'OPEN', 3000, 'reset of the local breaker on process one');
    expect((await checkIntegrationHealth(one.app, target)).ok).toBe(true);
  });

  it('a failed cross-process trial re-opens the circuit for everyone', async () => {
    const target = await makeTarget(one.app, mock, t.tenant.id);
    await control.faults({ service: 'user-service', down: true });
    await checkIntegrationHealth(one.app, target);
    await new Promise((r) => setTimeout(r, 1600));
    await control.clearRequests();
    await expect(two.app.integrations.clients.client(target).post('/users', { email: 'x@y.test', name: 'X' })).rejects.toMatchObject({ status: 503 });
    expect((await control.requests('user-service')).total).toBe(1); // the trial
    await two.app.integrations.circuits.settled();
    const [row] = await one.ownerSql<{ state: string }[]>`select state from integration_circuits where integration_id = ${target.id}`;
    expect(row!.state).toBe('OPEN');
    // The fresh opened_at holds both processes off again.
    await expect(two.app.integrations.clients.client(target).get('/users')).rejects.toBeInstanceOf(CircuitOpenError);
    await waitUntil(async () => (await one.app.integrations.clients.client(target).get('/users').catch((e: unknown) => e)) instanceof CircuitOpenError, 3000, 'process one to see the re-open');
    expect((await control.requests('user-service')).total).toBe(1);
  });

  it('reset on one process closes the local breaker on the other', async () => {
    const target = await makeTarget(one.app, mock, t.tenant.id);
    await control.faults({ service: 'user-service', down: true });
    await checkIntegrationHealth(two.app, target);
    expect(two.app.integrations.circuits.localState(target.id)).toBe('OPEN');
    await control.clearFaults();
    const res = await one.gql(`mutation ($id: UUID!) { resetIntegrationCircuit(integrationId: $id) { state } }`, { id: target.id }, { token: t.owner.token });
    expect(res.data.resetIntegrationCircuit.state).toBe('CLOSED');
    await waitUntil(() => two.app.integrations.circuits.localState(target.id) !== 'OPEN', 3000, 'local reset via NOTIFY');
    expect((await checkIntegrationHealth(two.app, target)).ok).toBe(true);
  });
});
