import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleHealthChecks, runHealthCheck } from '../src/integrations/health-checks.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { providerUrl } from './helpers/integrations.js';
import type { SeededTenant, SeededUser } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { event, postWebhook, waitFor, waitForStatus } from './helpers/webhooks.js';

let server: TestServer;
let mock: MockServices;
let a: SeededTenant;
let b: SeededTenant;
let adminA: SeededUser;
let adminB: SeededUser;

/** The webhook URL on the test server (webhookUrl uses PUBLIC_URL, which names the default port). */
const hook = (id: string) => `${server.url}/webhooks/${id}`;
const FIELDS = `id provider name baseUrl enabled webhookUrl previousSecretExpiresAt createdAt`;
const CREATE = `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { webhookSecret previousSecretExpiresAt integration { ${FIELDS} } } }`;
const ROTATE = `mutation ($id: UUID!, $h: Float) { rotateWebhookSecret(id: $id, overlapHours: $h) { webhookSecret previousSecretExpiresAt } }`;
const EVENTS = `query ($first: Int, $after: String, $filter: WebhookEventFilter) {
  webhookEvents(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { id type status attempts providerEventId integration { id name } } } }
}`;

beforeAll(async () => {
  server = await startTestServer({ env: { JOB_POLL_INTERVAL_SECONDS: '0.5', WEBHOOK_RETRY_LIMIT: '0' } });
  mock = await startMockServices();
  a = await server.seed.tenant();
  b = await server.seed.tenant();
  adminA = await a.user('ADMIN');
  adminB = await b.user('ADMIN');
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});

async function create(token: string, input: Record<string, unknown> = {}) {
  const res = await server.gql(CREATE, { input: { provider: 'USER_SERVICE', name: `Users ${Math.random().toString(36).slice(2, 7)}`, baseUrl: providerUrl(mock, 'USER_SERVICE'), apiKey: 'sk_test_secret_key', ...input } }, { token });
  expect(res.errors).toBeUndefined();
  return res.data.createIntegration as { webhookSecret: string; integration: { id: string; webhookUrl: string } };
}

describe('integrations (ADMIN)', () => {
  it('creates an integration: the whsec_ secret is shown once, credentials never, and both are encrypted at rest', async () => {
    const created = await create(adminA.token);
    expect(created.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(created.integration).toMatchObject({ provider: 'USER_SERVICE', enabled: true, previousSecretExpiresAt: null });
    expect(created.integration.webhookUrl).toBe(`${server.app.config.publicUrl}/webhooks/${created.integration.id}`);
    const read = await server.gql(`{ integrations { ${FIELDS} } }`, {}, { token: adminA.token });
    expect(JSON.stringify(read.data)).not.toContain('sk_test_secret_key');
    expect(JSON.stringify(read.data)).not.toContain(created.webhookSecret);
    const [row] = await server.ownerSql`select * from integrations where id = ${created.integration.id}`;
    expect(JSON.stringify(row)).not.toContain('sk_test_secret_key');
    expect(JSON.stringify(row)).not.toContain(created.webhookSecret.slice(6));
    // The outbound client gets the decrypted key from the row.
    const { loadIntegrationTarget } = await import('../src/integrations/targets.js');
    const target = await loadIntegrationTarget(server.app, a.tenant.id, created.integration.id);
    expect(target).toMatchObject({ apiKey: 'sk_test_secret_key', baseUrl: providerUrl(mock, 'USER_SERVICE'), provider: 'USER_SERVICE' });
  });

  it('validates input with field details', async () => {
    const res = await server.gql(CREATE, { input: { provider: 'USER_SERVICE', name: '', baseUrl: 'ftp://x', apiKey: '' } }, { token: adminA.token });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions!.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'baseUrl' }), expect.objectContaining({ field: 'apiKey' })]));
    const dup = await create(adminA.token, { name: 'Same name' });
    expect(dup).toBeTruthy();
    expect(errorCode(await server.gql(CREATE, { input: { provider: 'USER_SERVICE', name: 'same NAME', baseUrl: 'http://x.test', apiKey: 'k' } }, { token: adminA.token }))).toBe('CONFLICT');
  });

  it('updates, disables (webhooks then 404) and re-enables; replaces the API key', async () => {
    const { integration, webhookSecret } = await create(adminA.token);
    const upd = await server.gql(`mutation ($id: UUID!, $input: UpdateIntegrationInput!) { updateIntegration(id: $id, input: $input) { name enabled } }`, { id: integration.id, input: { name: 'Renamed', enabled: false, apiKey: 'sk_new' } }, { token: adminA.token });
    expect(upd.data.updateIntegration).toEqual({ name: 'Renamed', enabled: false });
    const body = JSON.stringify(event('user.created'));
    expect((await postWebhook(hook(integration.id), webhookSecret, body)).status).toBe(404);
    await server.gql(`mutation ($id: UUID!) { updateIntegration(id: $id, input: { enabled: true }) { enabled } }`, { id: integration.id }, { token: adminA.token });
    expect((await postWebhook(hook(integration.id), webhookSecret, body)).status).toBe(202);
    const { loadIntegrationTarget } = await import('../src/integrations/targets.js');
    expect((await loadIntegrationTarget(server.app, a.tenant.id, integration.id))!.apiKey).toBe('sk_new');
  });

  it('rotation: during the overlap both secrets verify; with no overlap the old one stops at once', async () => {
    const { integration, webhookSecret: old } = await create(adminA.token);
    const rotated = await server.gql(ROTATE, { id: integration.id, h: 2 }, { token: adminA.token });
    const fresh = rotated.data.rotateWebhookSecret.webhookSecret as string;
    expect(fresh).not.toBe(old);
    expect(Date.parse(rotated.data.rotateWebhookSecret.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 3600_000);
    expect((await postWebhook(hook(integration.id), old, JSON.stringify(event('user.created')))).status).toBe(202);
    expect((await postWebhook(hook(integration.id), fresh, JSON.stringify(event('user.created')))).status).toBe(202);
    const again = await server.gql(ROTATE, { id: integration.id, h: 0 }, { token: adminA.token });
    const newest = again.data.rotateWebhookSecret.webhookSecret as string;
    expect(again.data.rotateWebhookSecret.previousSecretExpiresAt).toBeNull();
    expect((await postWebhook(hook(integration.id), fresh, JSON.stringify(event('user.created')))).status).toBe(401);
    expect((await postWebhook(hook(integration.id), old, JSON.stringify(event('user.created')))).status).toBe(401);
    expect((await postWebhook(hook(integration.id), newest, JSON.stringify(event('user.created')))).status).toBe(202);
  });

  it('an expired overlap no longer verifies the previous secret', async () => {
    const { integration, webhookSecret: old } = await create(adminA.token);
    await server.gql(ROTATE, { id: integration.id, h: 1 }, { token: adminA.token });
    await server.ownerSql`update integrations set previous_secret_expires_at = now() - interval '1 second' where id = ${integration.id}`;
    expect((await postWebhook(hook(integration.id), old, JSON.stringify(event('user.created')))).status).toBe(401);
  });

  it('delete cascades to its events and health, keeps mirrored users', async () => {
    const { integration, webhookSecret } = await create(adminA.token);
    const e = event('user.created');
    const res = await postWebhook(hook(integration.id), webhookSecret, JSON.stringify(e));
    await waitForStatus(server, res.body.id, 'PROCESSED');
    await server.gql(`query ($id: UUID!) { integration(id: $id) { health { status } } }`, { id: integration.id }, { token: adminA.token });
    const del = await server.gql(`mutation ($id: UUID!) { deleteIntegration(id: $id) { id } }`, { id: integration.id }, { token: adminA.token });
    expect(del.data.deleteIntegration.id).toBe(integration.id);
    expect(await server.ownerSql`select id from webhook_events where integration_id = ${integration.id}`).toHaveLength(0);
    expect(await server.ownerSql`select id from users where external_id = ${e.data.id}`).toHaveLength(1);
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { deleteIntegration(id: $id) { id } }`, { id: integration.id }, { token: adminA.token }))).toBe('NOT_FOUND');
  });

  it('members and viewers are refused; other tenants see nothing', async () => {
    const member = await a.user('MEMBER');
    const { integration } = await create(adminA.token);
    expect(errorCode(await server.gql(`{ integrations { id } }`, {}, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(CREATE, { input: { provider: 'USER_SERVICE', name: 'x', baseUrl: 'http://x.test', apiKey: 'k' } }, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(ROTATE, { id: integration.id }, { token: member.token }))).toBe('FORBIDDEN');
    expect((await server.gql(`query ($id: UUID!) { integration(id: $id) { id } }`, { id: integration.id }, { token: adminB.token })).data.integration).toBeNull();
    expect(errorCode(await server.gql(ROTATE, { id: integration.id }, { token: adminB.token }))).toBe('NOT_FOUND');
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { deleteIntegration(id: $id) { id } }`, { id: integration.id }, { token: adminB.token }))).toBe('NOT_FOUND');
    expect((await server.gql(`{ integrations { id } }`, {}, { token: adminB.token })).data.integrations.map((i: { id: string }) => i.id)).not.toContain(integration.id);
  });

  it('health and circuit on the integration; the scheduled health check calls the provider and records HEALTHY', async () => {
    const { integration } = await create(adminA.token);
    const before = await server.gql(`query ($id: UUID!) { integration(id: $id) { health { status } circuit { state } healthHistory { status } } }`, { id: integration.id }, { token: adminA.token });
    expect(before.data.integration).toEqual({ health: { status: 'UNKNOWN' }, circuit: { state: 'CLOSED' }, healthHistory: [] });
    expect(await scheduleHealthChecks(server.app)).toBeGreaterThan(0);
    await runHealthCheck(server.app, { tenantId: a.tenant.id, integrationId: integration.id });
    const after = await server.gql(`query ($id: UUID!) { integration(id: $id) { health { status signals { lastCheckOk } } healthHistory { status previousStatus } } }`, { id: integration.id }, { token: adminA.token });
    expect(after.data.integration).toEqual({ health: { status: 'HEALTHY', signals: { lastCheckOk: true } }, healthHistory: [{ status: 'HEALTHY', previousStatus: 'UNKNOWN' }] });
  });
});

describe('webhook events (ADMIN)', () => {
  it('lists with filters (integration, status, type, time) and cursor pagination', async () => {
    const one = await create(adminA.token);
    const two = await create(adminA.token);
    const start = new Date();
    const ids: string[] = [];
    for (const type of ['user.created', 'user.created', 'user.updated'] as const) {
      const r = await postWebhook(hook(one.integration.id), one.webhookSecret, JSON.stringify(event(type)));
      ids.push(r.body.id);
    }
    await postWebhook(hook(two.integration.id), two.webhookSecret, JSON.stringify(event('user.created')));
    for (const id of ids) await waitForStatus(server, id, 'PROCESSED');

    const page1 = await server.gql(EVENTS, { first: 2, filter: { integrationId: one.integration.id } }, { token: adminA.token });
    expect(page1.data.webhookEvents.totalCount).toBe(3);
    expect(page1.data.webhookEvents.edges.map((e: any) => e.node.id)).toEqual(ids.slice(0, 2));
    expect(page1.data.webhookEvents.edges[0].node.integration.id).toBe(one.integration.id);
    const page2 = await server.gql(EVENTS, { first: 2, after: page1.data.webhookEvents.pageInfo.endCursor, filter: { integrationId: one.integration.id } }, { token: adminA.token });
    expect(page2.data.webhookEvents.edges.map((e: any) => e.node.id)).toEqual(ids.slice(2));
    expect(page2.data.webhookEvents.pageInfo.hasNextPage).toBe(false);

    const typed = await server.gql(EVENTS, { filter: { integrationId: one.integration.id, type: 'user.updated', status: ['PROCESSED'] } }, { token: adminA.token });
    expect(typed.data.webhookEvents.edges.map((e: any) => e.node.id)).toEqual([ids[2]]);
    const window = await server.gql(EVENTS, { filter: { receivedAfter: start.toISOString(), receivedBefore: new Date(Date.now() + 60_000).toISOString() } }, { token: adminA.token });
    expect(window.data.webhookEvents.totalCount).toBe(4);
    const none = await server.gql(EVENTS, { filter: { receivedBefore: start.toISOString(), integrationId: one.integration.id } }, { token: adminA.token });
    expect(none.data.webhookEvents.totalCount).toBe(0);
    expect(errorCode(await server.gql(EVENTS, { first: 500 }, { token: adminA.token }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(EVENTS, { after: 'garbage' }, { token: adminA.token }))).toBe('BAD_USER_INPUT');
    // Another tenant's admin sees none of them.
    const other = await server.gql(EVENTS, { filter: { integrationId: one.integration.id } }, { token: adminB.token });
    expect(other.data.webhookEvents.totalCount).toBe(0);
    expect((await server.gql(`query ($id: UUID!) { webhookEvent(id: $id) { id } }`, { id: ids[0] }, { token: adminB.token })).data.webhookEvent).toBeNull();
    expect(errorCode(await server.gql(`mutation ($id: UUID!) { replayWebhookEvent(id: $id) { id } }`, { id: ids[0] }, { token: adminB.token }))).toBe('NOT_FOUND');
  });

  it('bulk replay: every DEAD event of an integration is queued again and processed', async () => {
    const { integration, webhookSecret } = await create(adminA.token);
    // With WEBHOOK_RETRY_LIMIT=0 the first failure is final: events whose email another mirrored user holds die at once.
    const holder = event('user.created');
    await waitForStatus(server, (await postWebhook(hook(integration.id), webhookSecret, JSON.stringify(holder))).body.id, 'PROCESSED');
    const clash = [event('user.created', { email: holder.data.email }), event('user.created', { email: holder.data.email })];
    const ids: string[] = [];
    for (const c of clash) ids.push((await postWebhook(hook(integration.id), webhookSecret, JSON.stringify(c))).body.id);
    for (const id of ids) await waitForStatus(server, id, 'DEAD');
    const dead = await server.gql(EVENTS, { filter: { integrationId: integration.id, status: ['DEAD'] } }, { token: adminA.token });
    expect(dead.data.webhookEvents.totalCount).toBe(2);
    // Fix the cause for the first only; replay both: one is processed, the other dies again.
    await server.ownerSql`update users set email = ${'moved-' + holder.data.email} where external_id = ${holder.data.id}`;
    const replay = await server.gql(`mutation ($f: WebhookEventFilter!) { replayWebhookEvents(filter: $f) { count } }`, { f: { integrationId: integration.id } }, { token: adminA.token });
    expect(replay.data.replayWebhookEvents.count).toBe(2);
    await waitFor(async () => {
      const rows = await server.ownerSql<{ status: string }[]>`select status from webhook_events where id in ${server.ownerSql(ids)}`;
      const s = rows.map((r) => r.status).sort();
      return s.join() === 'DEAD,PROCESSED' ? s : undefined;
    }, 10_000, 'one processed and one dead again');
  });
});
