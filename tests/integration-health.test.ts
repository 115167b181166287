import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { actors, inTenant } from '../src/db/tenant-transaction.js';
import { checkIntegrationHealth, reevaluateHealth } from '../src/integrations/health-monitor.js';
import { publish } from '../src/realtime/pubsub.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { FAST_OUTBOUND_ENV, makeTarget, mockControl } from './helpers/integrations.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import type { SeededTenant } from './helpers/seed.js';
import { connectWs, subscribe } from './helpers/ws.js';
import { waitFor } from './helpers/wait.js';

const HEALTH_CHANGED = `subscription ($id: UUID) { integrationHealthChanged(integrationId: $id) { id integrationId status previousStatus reason changedAt } }`;
const HEALTH = `query ($id: UUID!) { integrationHealth(integrationId: $id) { integrationId status reason since signals { breakerState failureRatio callCount lastCheckOk lastCheckAt } } }`;
const CIRCUIT = `query ($id: UUID!) { integrationCircuit(integrationId: $id) { state manual reason openedAt } }`;

let server: TestServer;
let mock: MockServices;
let control: ReturnType<typeof mockControl>;
// Long enough that the "still open" check below runs before half-open even on a loaded machine
// (at 1 s a slow run let the breaker go half-open and the check made a legitimate trial call).
const HALF_OPEN_AFTER_MS = 4000;

let a: SeededTenant;
let b: SeededTenant;
const clients: Client[] = [];

beforeAll(async () => {
  [server, mock] = await Promise.all([startTestServer({ env: { ...FAST_OUTBOUND_ENV, OUTBOUND_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS) } }), startMockServices({ port: 0, seedUsers: 5 })]);
  control = mockControl(mock);
  [a, b] = await Promise.all([server.seed.tenant(), server.seed.tenant()]);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
  await mock?.close();
});
beforeEach(async () => {
  await control.clearFaults();
  await control.clearRequests();
});

function ws(token?: string, onClosed?: (code: number) => void) {
  const c = connectWs(server.url, token, { onClosed });
  clients.push(c);
  return c;
}

/** Subscriptions are registered asynchronously; wait until the server's pub/sub holds `n` more. */
async function subscribed(before: number, n = 1) {
  await waitFor(() => server.app.pubsub.listenerCount >= before + n, { timeoutMs: 5000, message: 'subscription registration' });
}

describe('integration health over GraphQL and WebSockets', () => {
  it('provider down → breaker opens → DOWN reaches a subscriber; provider back → half-open trial → HEALTHY', async () => {
    const target = await makeTarget(server.app, mock, a.tenant.id);
    expect((await checkIntegrationHealth(server.app, target)).health.status).toBe('HEALTHY');

    const n = server.app.pubsub.listenerCount;
    const sub = subscribe(ws(a.owner.token), HEALTH_CHANGED, { id: target.id });
    await subscribed(n);

    await control.faults({ service: 'user-service', down: true });
    const wentDown = Date.now();
    const check = await checkIntegrationHealth(server.app, target);
    expect(check.ok).toBe(false);
    expect(server.app.integrations.circuits.localState(target.id)).toBe('OPEN');
    const down = await sub.waitFor((e) => e.status === 'DOWN', 5000);
    expect(Date.now() - wentDown).toBeLessThan(5000);
    expect(down).toMatchObject({ integrationId: target.id, previousStatus: 'HEALTHY', reason: expect.stringMatching(/open/i) });

    const health = await server.gql(HEALTH, { id: target.id }, { token: a.owner.token });
    expect(health.data.integrationHealth).toMatchObject({ status: 'DOWN', signals: { breakerState: 'OPEN', lastCheckOk: false } });
    expect((await server.gql(CIRCUIT, { id: target.id }, { token: a.owner.token })).data.integrationCircuit).toMatchObject({ state: 'OPEN', manual: false });

    // Still open: the check fails fast without reaching the provider.
    const calls = (await control.requests('user-service')).total;
    expect((await checkIntegrationHealth(server.app, target)).ok).toBe(false);
    expect((await control.requests('user-service')).total).toBe(calls);

    await control.clearFaults();
    await new Promise((r) => setTimeout(r, HALF_OPEN_AFTER_MS + 100));
    const recovered = await checkIntegrationHealth(server.app, target);
    expect(recovered.ok).toBe(true);
    expect(recovered.health.status).toBe('HEALTHY');
    await sub.waitFor((e) => e.status === 'HEALTHY', 5000);
    // No DEGRADED in between: during the trial the last failed check still says DOWN.
    expect(sub.events.map((e) => e.status)).toEqual(['DOWN', 'HEALTHY']);

    const history = await server.gql(`query ($id: UUID!) { integrationHealthHistory(integrationId: $id, first: 10) { status previousStatus signals { breakerState } } }`, { id: target.id }, { token: a.owner.token });
    expect(history.data.integrationHealthHistory.map((h: { status: string }) => h.status)).toEqual(['HEALTHY', 'DOWN', 'HEALTHY']);
    expect(history.data.integrationHealthHistory[1].signals.breakerState).toBe('OPEN');
  });

  it('a subscriber of tenant A never hears of tenant B', async () => {
    const targetA = await makeTarget(server.app, mock, a.tenant.id);
    const targetB = await makeTarget(server.app, mock, b.tenant.id);
    const n = server.app.pubsub.listenerCount;
    const subA = subscribe(ws(a.owner.token), HEALTH_CHANGED, {}); // all of A's integrations
    // B's admin subscribing to A's integration id by guessing it still only hears B's events.
    const subBGuessing = subscribe(ws(b.owner.token), HEALTH_CHANGED, { id: targetA.id });
    await subscribed(n, 2);

    await reevaluateHealth(server.app, b.tenant.id, targetB.id, { external: { deadLetterCount: 3 } }); // B: UNKNOWN → DEGRADED
    await reevaluateHealth(server.app, a.tenant.id, targetA.id, { external: { deadLetterCount: 1 } }); // A: sentinel, committed after B's
    await subA.waitFor((e) => e.integrationId === targetA.id);
    // NOTIFYs arrive in commit order, so B's event would have arrived before A's sentinel.
    expect(subA.events.every((e) => e.integrationId !== targetB.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(subBGuessing.events).toEqual([]);
  });

  it('detaches the subscription when the client goes away', async () => {
    const n = server.app.pubsub.listenerCount;
    const client = ws(a.owner.token);
    subscribe(client, HEALTH_CHANGED, {});
    await subscribed(n);
    await client.dispose();
    await waitFor(() => server.app.pubsub.listenerCount === n, { timeoutMs: 5000, message: 'the iterator to be returned' });
  });

  it('a rolled-back change notifies nobody', async () => {
    const target = await makeTarget(server.app, mock, a.tenant.id);
    const n = server.app.pubsub.listenerCount;
    const sub = subscribe(ws(a.owner.token), HEALTH_CHANGED, { id: target.id });
    await subscribed(n);
    const event = { topic: 'integration_health_changed' as const, tenantId: a.tenant.id, integrationId: target.id, id: target.id, status: 'DOWN' as const, previousStatus: null, reason: 'rolled back', changedAt: new Date().toISOString() };
    await expect(
      inTenant(server.app.db, actors.system('test', a.tenant.id), async (tx) => {
        await publish(tx, event);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await inTenant(server.app.db, actors.system('test', a.tenant.id), (tx) => publish(tx, { ...event, reason: 'committed' }));
    await sub.waitFor((e) => e.reason === 'committed');
    expect(sub.events.map((e) => e.reason)).toEqual(['committed']);
  });

  it('rejects an unauthenticated or badly authenticated WebSocket at connection (4403)', async () => {
    for (const token of [undefined, 'not-a-jwt']) {
      let closedWith: number | undefined;
      const sub = subscribe(ws(token, (code) => (closedWith = code)), HEALTH_CHANGED, {});
      await waitFor(() => sub.errors.length > 0, { timeoutMs: 5000, message: 'connection rejection' });
      expect(closedWith).toBe(4403);
      expect(sub.events).toEqual([]);
    }
  });

  it('refuses health to non-admins, over HTTP and WebSocket', async () => {
    const member = await a.user('MEMBER');
    const target = await makeTarget(server.app, mock, a.tenant.id);
    expect(errorCode(await server.gql(HEALTH, { id: target.id }, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(HEALTH, { id: target.id }))).toBe('UNAUTHENTICATED');
    const sub = subscribe(ws(member.token), HEALTH_CHANGED, {});
    await waitFor(() => sub.errors.length > 0, { timeoutMs: 5000, message: 'subscription refusal' });
    expect(JSON.stringify(sub.errors)).toMatch(/FORBIDDEN/);
  });

  it('isolate holds the circuit open (no provider calls, DOWN); reset closes it', async () => {
    const target = await makeTarget(server.app, mock, a.tenant.id);
    const isolate = await server.gql(
      `mutation ($id: UUID!) { isolateIntegrationCircuit(integrationId: $id, reason: "provider maintenance") { state manual reason } }`,
      { id: target.id },
      { token: a.owner.token },
    );
    expect(isolate.data.isolateIntegrationCircuit).toEqual({ state: 'ISOLATED', manual: true, reason: 'provider maintenance' });
    await waitFor(async () => (await checkIntegrationHealth(server.app, target)).ok === false, { timeoutMs: 3000, message: 'isolation to apply' });
    expect((await control.requests('user-service')).total).toBe(0);
    expect((await server.gql(HEALTH, { id: target.id }, { token: a.owner.token })).data.integrationHealth).toMatchObject({ status: 'DOWN', reason: expect.stringMatching(/isolated/i) });

    const reset = await server.gql(`mutation ($id: UUID!) { resetIntegrationCircuit(integrationId: $id) { state manual } }`, { id: target.id }, { token: a.owner.token });
    expect(reset.data.resetIntegrationCircuit).toEqual({ state: 'CLOSED', manual: false });
    await waitFor(async () => (await checkIntegrationHealth(server.app, target)).ok, { timeoutMs: 3000, message: 'reset to apply' });
    expect((await control.requests('user-service')).total).toBeGreaterThan(0);
    expect((await server.gql(`{ tenantHealthSummary { healthy degraded down unknown } }`, {}, { token: a.owner.token })).data.tenantHealthSummary.healthy).toBeGreaterThan(0);
  });

  it('validates input', async () => {
    const res = await server.gql(`query { integrationHealthHistory(integrationId: "00000000-0000-4000-8000-000000000000", first: 1000) { id } }`, {}, { token: a.owner.token });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });

  it('exposes Prometheus metrics from the app registry', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/tessera_outbound_calls_total\{provider="USER_SERVICE",outcome="http_5xx"\} \d+/);
    expect(text).toMatch(/tessera_outbound_call_duration_seconds_bucket\{le="0.1",provider="USER_SERVICE"\}/);
    expect(text).toMatch(/tessera_integration_health\{integration_id="[0-9a-f-]+"\} [0-3]/);
    expect(text).toMatch(/tessera_integration_circuit_state\{integration_id="[0-9a-f-]+"\} [0-3]/);
    expect(text).toMatch(/tessera_graphql_requests_total\{operation="query",outcome="success"\} \d+/);
  });

  it('keeps the new tables under forced RLS with tenant_isolation USING and WITH CHECK', async () => {
    const rows = await server.ownerSql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; qual: string | null; with_check: string | null }[]>`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity, p.qual, p.with_check
      from pg_class c left join pg_policies p on p.tablename = c.relname and p.policyname = 'tenant_isolation'
      where c.relname in ('integration_circuits', 'integration_call_stats', 'integration_health', 'integration_health_changes')`;
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
      expect(r.qual).toMatch(/app\.tenant_id/);
      expect(r.with_check).toMatch(/app\.tenant_id/);
    }
    // The app role can't rewrite history.
    const [privilege] = await server.ownerSql<{ can: boolean }[]>`select has_table_privilege('tessera_app', 'integration_health_changes', 'UPDATE') as can`;
    expect(privilege!.can).toBe(false);
  });
});
