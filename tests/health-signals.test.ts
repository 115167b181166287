/**
 * The signals other parts of the engine record reach the health model: webhook processing failures,
 * dead letters and the last successful sync; and the tenant summary covers integrations that were
 * never evaluated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markWebhookEventDead } from '../src/integrations/webhooks/process.js';
import { reevaluateHealth } from '../src/integrations/health-monitor.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { createTestIntegration, FAST_OUTBOUND_ENV } from './helpers/integrations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { FAST_JOBS_ENV, mockApi, sendUserWebhook, syncNow, waitForEvent } from './helpers/sync.js';
import { waitUntil } from './helpers/ws.js';

const HEALTH = `query ($id: UUID!) { integrationHealth(integrationId: $id) { status reason signals { webhookFailureRatio deadLetterCount lastSuccessfulSyncAgeSeconds } } }`;
const SUMMARY = `{ tenantHealthSummary { healthy degraded down unknown } }`;

let server: TestServer;
let mock: MockServices;

beforeAll(async () => {
  // No webhook retries: a failing event goes DEAD on its first attempt.
  [server, mock] = await Promise.all([startTestServer({ env: { ...FAST_OUTBOUND_ENV, ...FAST_JOBS_ENV, WEBHOOK_RETRY_LIMIT: '0' } }), startMockServices({ port: 0, seedUsers: 5 })]);
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});

describe('recorded signals feed the health model', () => {
  it('webhook failures and dead letters make an integration DEGRADED; a successful sync is remembered', async () => {
    const t = await server.seed.tenant();
    const { target, secret } = await createTestIntegration(server.app, mock, t.tenant.id, 'USER_SERVICE');
    await syncNow(server, t.owner.token, target.id);
    // The run's health re-evaluation follows its final commit.
    let health: any;
    await waitUntil(async () => {
      health = (await server.gql(HEALTH, { id: target.id }, { token: t.owner.token })).data.integrationHealth;
      return health.status !== 'UNKNOWN';
    }, 5000, 'health after sync');
    expect(health).toMatchObject({ status: 'HEALTHY', signals: { webhookFailureRatio: null, deadLetterCount: 0 } });
    expect(health.signals.lastSuccessfulSyncAgeSeconds).toBeGreaterThanOrEqual(0);

    // One event applies; another can't (its email belongs to another mirrored user) and dies.
    const [u1, u2] = await mockApi(mock).users();
    const ok = await sendUserWebhook(server, target.id, secret, 'user.updated', { ...u1, name: 'Fine', version: u1.version + 1 });
    const bad = await sendUserWebhook(server, target.id, secret, 'user.created', { ...u2, id: 'usr_collision', email: u1.email, version: 1 });
    expect(await waitForEvent(server, (ok.body as any).id)).toMatchObject({ status: 'PROCESSED' });
    expect(await waitForEvent(server, (bad.body as any).id)).toMatchObject({ status: 'DEAD' });

    await reevaluateHealth(server.app, t.tenant.id, target.id);
    health = (await server.gql(HEALTH, { id: target.id }, { token: t.owner.token })).data.integrationHealth;
    expect(health).toMatchObject({ status: 'DEGRADED', signals: { webhookFailureRatio: 0.5, deadLetterCount: 1 } });
    expect(health.reason).toMatch(/50% of webhooks failed processing/);
    expect(health.reason).toMatch(/1 dead-lettered job/);
  });

  it('a job that expired with its worker (the dead-letter queue\'s path) counts as a dead letter in the same commit', async () => {
    const t = await server.seed.tenant();
    const { target } = await createTestIntegration(server.app, mock, t.tenant.id, 'USER_SERVICE');
    // An event left PROCESSING by a worker that died; its job reached the dead-letter queue.
    const [event] = await server.ownerSql`
      insert into webhook_events (tenant_id, integration_id, provider_event_id, type, payload, delivery_id, delivery_timestamp, status, attempts)
      values (${t.tenant.id}, ${target.id}, 'evt_expired', 'user.created', '{}'::jsonb, 'evt_expired', now(), 'PROCESSING', 1) returning id`;
    const job = { id: 'dead-letter-job', data: { tenantId: t.tenant.id, integrationId: target.id, eventId: event!.id } } as Parameters<typeof markWebhookEventDead>[1];
    await markWebhookEventDead(server.app, job);
    const [stored] = await server.ownerSql`select status from webhook_events where id = ${event!.id}`;
    expect(stored!.status).toBe('DEAD');
    const health = (await server.gql(HEALTH, { id: target.id }, { token: t.owner.token })).data.integrationHealth;
    expect(health.signals.deadLetterCount).toBe(1);
  });

  it('the tenant summary counts integrations never evaluated as UNKNOWN', async () => {
    const t = await server.seed.tenant();
    const { target } = await createTestIntegration(server.app, mock, t.tenant.id, 'USER_SERVICE');
    await createTestIntegration(server.app, mock, t.tenant.id, 'PAYMENT_SERVICE');
    await createTestIntegration(server.app, mock, t.tenant.id, 'COMMUNICATION_SERVICE');
    expect((await server.gql(SUMMARY, {}, { token: t.owner.token })).data.tenantHealthSummary).toEqual({ healthy: 0, degraded: 0, down: 0, unknown: 3 });
    await syncNow(server, t.owner.token, target.id);
    let summary: any;
    await waitUntil(async () => {
      summary = (await server.gql(SUMMARY, {}, { token: t.owner.token })).data.tenantHealthSummary;
      return summary.healthy === 1;
    }, 5000, 'summary after sync');
    expect(summary).toEqual({ healthy: 1, degraded: 0, down: 0, unknown: 2 });
  });
});
