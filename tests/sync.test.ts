/**
 * Pull sync against the mock providers over real HTTP: checkpoints, deletions, the conflict rule
 * shared with webhooks, one run at a time, and tenant isolation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-context.js';
import { requestSync } from '../src/modules/sync/service.js';
import { scheduleSyncs } from '../src/modules/sync/jobs.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { createTestIntegration, FAST_OUTBOUND_ENV, mockControl } from './helpers/integrations.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import type { SeededTenant } from './helpers/seed.js';
import { FAST_JOBS_ENV, mockApi, sendUserWebhook, syncNow, triggerSync, waitForEvent, waitForRun, syncRun, SYNC_RUN_FIELDS } from './helpers/sync.js';
import { waitUntil } from './helpers/ws.js';

const SEED_USERS = 30;

let server: TestServer;
let mock: MockServices;
let control: ReturnType<typeof mockControl>;
let api: ReturnType<typeof mockApi>;
let a: SeededTenant;
let b: SeededTenant;

beforeAll(async () => {
  [server, mock] = await Promise.all([startTestServer({ env: { ...FAST_OUTBOUND_ENV, ...FAST_JOBS_ENV, SYNC_PAGE_SIZE: '7' } }), startMockServices({ port: 0, seedUsers: SEED_USERS })]);
  control = mockControl(mock);
  api = mockApi(mock);
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});
// Fresh tenants per test: two integrations of one tenant mirroring the same directory would collide on email.
beforeEach(async () => {
  await control.clearFaults();
  await api.reset(SEED_USERS);
  [a, b] = await Promise.all([server.seed.tenant(), server.seed.tenant()]);
});

/** Our users mirrored from one integration, by provider id. */
async function mirrored(tenantId: string, integrationId: string) {
  const rows = await server.ownerSql`select id, email, name, status, external_id, external_version::int as external_version, updated_at from users where tenant_id = ${tenantId} and external_source = ${integrationId}`;
  return new Map(rows.map((r) => [r.external_id as string, r]));
}

describe('incremental sync', () => {
  it('picks up only what changed since the checkpoint', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const first = await syncNow(server, a.owner.token, target.id);
    expect(first).toMatchObject({ status: 'SUCCEEDED', mode: 'INCREMENTAL', trigger: 'MANUAL', requestedBy: a.owner.user.id, created: SEED_USERS, failed: 0 });
    expect((await mirrored(a.tenant.id, target.id)).size).toBe(SEED_USERS);

    // Nothing changed: only the boundary record (updated_since is inclusive) comes back, unchanged.
    const idle = await syncNow(server, a.owner.token, target.id);
    expect(idle).toMatchObject({ status: 'SUCCEEDED', created: 0, updated: 0, deleted: 0 });
    expect(idle.unchanged).toBeLessThanOrEqual(1);

    const seeded = await api.users();
    await api.touch('users', seeded[3].id);
    await api.patchUser(seeded[5].id, { name: 'Renamed At Provider' });
    await api.deleteUser(seeded[7].id);
    const added = await api.createUser({ email: 'new.person@example.com', name: 'New Person' });

    const third = await syncNow(server, a.owner.token, target.id);
    expect(third).toMatchObject({ status: 'SUCCEEDED', created: 1, updated: 2, deleted: 1, failed: 0 });
    expect(third.unchanged).toBeLessThanOrEqual(1); // only the 4 changed records (and the boundary one) were pulled

    const ours = await mirrored(a.tenant.id, target.id);
    expect(ours.get(seeded[5].id)).toMatchObject({ name: 'Renamed At Provider', external_version: seeded[5].version + 1 });
    expect(ours.get(seeded[7].id)).toMatchObject({ status: 'DEACTIVATED' });
    expect(ours.get(added.id)).toMatchObject({ email: 'new.person@example.com', status: 'INVITED' });
  });

  it('pulls subscriptions and invoices from the payment service', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'PAYMENT_SERVICE');
    const run = await syncNow(server, a.owner.token, target.id);
    const subs = mock.state.store.count('subscriptions');
    const invoices = mock.state.store.count('invoices');
    expect(run).toMatchObject({ status: 'SUCCEEDED', failed: 0 });
    expect(run.created + run.deleted).toBe(subs + invoices); // canceled subscriptions count as deleted
    const [counts] = await server.ownerSql`select
      (select count(*)::int from subscriptions where integration_id = ${target.id}) as subs,
      (select count(*)::int from invoices where integration_id = ${target.id}) as invoices`;
    expect(counts).toEqual({ subs, invoices });
  });
});

describe('records that fail', () => {
  it('a record that fails validation or its apply costs only itself, and the checkpoint waits for it', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const seeded = await api.users();
    // Changed at the provider after the seed, so they sort last: one invalid, one with an email another user has.
    const invalid = mock.state.store.update('users', seeded[2].id, { email: 'not-an-email' })!;
    mock.state.store.update('users', seeded[4].id, { email: seeded[3].email });
    await new Promise((r) => setTimeout(r, 5));
    const newest = mock.state.store.createUser({ email: 'newest@example.com' });
    const first = await syncNow(server, a.owner.token, target.id);
    expect(first).toMatchObject({ status: 'SUCCEEDED', created: SEED_USERS - 1, failed: 2 });
    // The newest record was applied, but the checkpoint stays at the first failure.
    const [checkpoint] = await server.ownerSql`select updated_since from sync_checkpoints where integration_id = ${target.id} and resource = 'users'`;
    expect(checkpoint!.updated_since.toISOString()).toBe(invalid.updated_at);
    expect(Date.parse(newest.updated_at)).toBeGreaterThan(Date.parse(invalid.updated_at));

    // Fixed at the provider: the next incremental run starts at the first failure, so it sees both again.
    mock.state.store.update('users', seeded[2].id, { email: 'fixed.two@example.com' });
    mock.state.store.update('users', seeded[4].id, { email: 'fixed.four@example.com' });
    const second = await syncNow(server, a.owner.token, target.id);
    expect(second).toMatchObject({ status: 'SUCCEEDED', created: 2, failed: 0 });
    expect((await mirrored(a.tenant.id, target.id)).size).toBe(SEED_USERS + 1);
  });
});

describe('full sync', () => {
  it('deactivates users deleted at the provider (hard or soft); incremental cannot see hard deletions', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const initial = await syncNow(server, a.owner.token, target.id, 'FULL');
    expect(initial).toMatchObject({ status: 'SUCCEEDED', created: SEED_USERS });
    expect((await mirrored(a.tenant.id, target.id)).size).toBe(SEED_USERS);

    // Same seed, fewer users: the last 5 are gone without a trace; one more is soft-deleted.
    await api.reset(SEED_USERS - 5);
    const remaining = await api.users();
    await api.deleteUser(remaining[0].id);

    const incremental = await syncNow(server, a.owner.token, target.id);
    expect(incremental.deleted).toBe(1); // the soft deletion carries a new version; the vanished ones don't
    const full = await syncNow(server, a.owner.token, target.id, 'FULL');
    expect(full).toMatchObject({ status: 'SUCCEEDED', mode: 'FULL', deleted: 5, created: 0, failed: 0 });

    const alive = new Set((await api.users()).map((u) => u.id));
    const ours = await mirrored(a.tenant.id, target.id);
    for (const [externalId, row] of ours) expect(row.status === 'DEACTIVATED').toBe(!alive.has(externalId));
    const n = (await server.ownerSql`select count(*)::int as n from sync_seen_records`)[0]!.n;
    expect(n).toBe(0); // the seen-set is emptied when the run ends

    const again = await syncNow(server, a.owner.token, target.id, 'FULL');
    expect(again).toMatchObject({ deleted: 0, created: 0, updated: 0, unchanged: SEED_USERS - 5 });
  });
});

describe('one conflict rule for webhooks and sync', () => {
  it('a stale sync never overwrites a newer webhook, and a stale webhook never overwrites a newer sync', async () => {
    const { target, secret } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    await syncNow(server, a.owner.token, target.id);
    const [u1, u2] = await api.users();

    // Webhook first (newer than the provider's listing will say), then sync: the webhook's state stays.
    const ahead = { ...u1, name: 'From Webhook', version: u1.version + 5, updated_at: new Date().toISOString() };
    const sent = await sendUserWebhook(server, target.id, secret, 'user.updated', ahead);
    expect(sent.status).toBe(202);
    expect(await waitForEvent(server, (sent.body as any).id)).toMatchObject({ status: 'PROCESSED', outcome: 'updated' });
    await api.touch('users', u1.id); // provider version u1.version + 1: older than the webhook's
    await syncNow(server, a.owner.token, target.id, 'FULL');
    expect((await mirrored(a.tenant.id, target.id)).get(u1.id)).toMatchObject({ name: 'From Webhook', external_version: u1.version + 5 });

    // Sync first (newer), then a late webhook carrying the older version: the sync's state stays.
    const renamed = await api.patchUser(u2.id, { name: 'Newer At Provider' });
    await syncNow(server, a.owner.token, target.id);
    const late = await sendUserWebhook(server, target.id, secret, 'user.updated', { ...u2, name: 'Stale Webhook' });
    expect(await waitForEvent(server, (late.body as any).id)).toMatchObject({ status: 'PROCESSED', outcome: 'unchanged' });
    expect((await mirrored(a.tenant.id, target.id)).get(u2.id)).toMatchObject({ name: 'Newer At Provider', external_version: renamed.version });
  });

  it('a webhook and a sync racing on the same records end in the newest state, whichever commits first', async () => {
    const { target, secret } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    await syncNow(server, a.owner.token, target.id);
    const users = (await api.users()).slice(0, 6);
    // For half the records the provider (sync) is newer, for the other half the webhook is.
    const expected = new Map<string, string>();
    const webhooks = [];
    for (const [i, u] of users.entries()) {
      const providerNewer = i % 2 === 0;
      const atProvider = await api.patchUser(u.id, { name: `Provider ${i}` }); // version + 1
      const webhookVersion = providerNewer ? u.version : atProvider.version + 1;
      webhooks.push({ ...atProvider, name: `Webhook ${i}`, version: webhookVersion, updated_at: new Date(Date.parse(atProvider.updated_at) + (providerNewer ? -1 : 1)).toISOString() });
      expected.set(u.id, providerNewer ? `Provider ${i}` : `Webhook ${i}`);
    }
    const [run, ...sent] = await Promise.all([
      syncNow(server, a.owner.token, target.id),
      ...webhooks.map((w) => sendUserWebhook(server, target.id, secret, 'user.updated', w)),
    ]);
    expect(run.status).toBe('SUCCEEDED');
    for (const s of sent) await waitForEvent(server, (s.body as any).id);
    const ours = await mirrored(a.tenant.id, target.id);
    for (const [id, name] of expected) expect(ours.get(id)?.name).toBe(name);
  });
});

describe('one sync per integration at a time', () => {
  it('a second request of the same mode joins the running run; another mode is refused with CONFLICT', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    await control.faults({ service: 'user-service', latencyMs: 300 });
    const [r1, r2] = await Promise.all([triggerSync(server, a.owner.token, target.id), triggerSync(server, a.owner.token, target.id)]);
    const runs = [r1.data.triggerSync, r2.data.triggerSync];
    expect(runs[0].run.id).toBe(runs[1].run.id);
    expect(runs.map((r) => r.joined).sort()).toEqual([false, true]);

    const full = await triggerSync(server, a.owner.token, target.id, 'FULL');
    expect(errorCode(full)).toBe('CONFLICT');
    expect(full.errors![0]!.extensions!.runId).toBe(runs[0].run.id);

    // The scheduler's request joins as well (no second run).
    const scheduled = await withTenant(server.app.db, { tenantId: a.tenant.id, actorType: 'SYSTEM', actorId: 'test' }, (tx) =>
      requestSync(server.app, tx, a.tenant.id, { integrationId: target.id, mode: 'INCREMENTAL', trigger: 'SCHEDULED' }),
    );
    expect(scheduled).toMatchObject({ joined: true, run: { id: runs[0].run.id } });

    await control.clearFaults();
    expect(await waitForRun(server, a.owner.token, runs[0].run.id)).toMatchObject({ status: 'SUCCEEDED', created: SEED_USERS });
    const n = (await server.ownerSql`select count(*)::int as n from sync_runs where integration_id = ${target.id}`)[0]!.n;
    expect(n).toBe(1);
    // Finished: the next request starts a new run.
    const next = await triggerSync(server, a.owner.token, target.id, 'FULL');
    expect(next.data.triggerSync).toMatchObject({ joined: false, run: { mode: 'FULL' } });
    await waitForRun(server, a.owner.token, next.data.triggerSync.run.id);
  });

  it('a provider outage fails the run with a reason, lists it, and keeps the last successful sync as the health signal', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    await syncNow(server, a.owner.token, target.id);
    await control.faults({ service: 'user-service', down: true });
    const failed = await syncNow(server, a.owner.token, target.id);
    expect(failed).toMatchObject({ status: 'FAILED' });
    expect(failed.error).toMatch(/503|unavailable|Circuit/i);

    const list = await server.gql(
      `query ($id: UUID!) { syncRuns(integrationId: $id, first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status } } } }`,
      { id: target.id },
      { token: a.owner.token },
    );
    expect(list.data.syncRuns).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, edges: [{ node: { id: failed.id, status: 'FAILED' } }] });
    const older = await server.gql(`query ($id: UUID!, $after: String) { syncRuns(integrationId: $id, first: 5, after: $after) { edges { node { status } } } }`, { id: target.id, after: list.data.syncRuns.pageInfo.endCursor }, { token: a.owner.token });
    expect(older.data.syncRuns.edges).toEqual([{ node: { status: 'SUCCEEDED' } }]);

    const health = await server.gql(`query ($id: UUID!) { integrationHealth(integrationId: $id) { signals { lastSuccessfulSyncAgeSeconds } } }`, { id: target.id }, { token: a.owner.token });
    expect(health.data.integrationHealth.signals.lastSuccessfulSyncAgeSeconds).toBeGreaterThanOrEqual(0);
  });
});

describe('scheduled and abandoned runs', () => {
  it('the scheduler requests one sync per enabled integration that has something to pull, and joins running ones', async () => {
    const { target: users } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const { target: payments } = await createTestIntegration(server.app, mock, b.tenant.id, 'PAYMENT_SERVICE');
    const { target: comms } = await createTestIntegration(server.app, mock, a.tenant.id, 'COMMUNICATION_SERVICE');
    await control.faults({ latencyMs: 300 }); // keep the runs going while the scheduler ticks again
    await scheduleSyncs(server.app, 'INCREMENTAL');
    await scheduleSyncs(server.app, 'INCREMENTAL');
    const runs = await server.ownerSql`select integration_id, trigger, mode from sync_runs where integration_id in (${users.id}, ${payments.id}, ${comms.id})`;
    expect(runs.map((r) => r.integration_id).sort()).toEqual([users.id, payments.id].sort());
    expect(runs.every((r) => r.trigger === 'SCHEDULED' && r.mode === 'INCREMENTAL')).toBe(true);
    await control.clearFaults();
    const [run] = await server.ownerSql`select id from sync_runs where integration_id = ${users.id}`;
    expect(await waitForRun(server, a.owner.token, run!.id)).toMatchObject({ status: 'SUCCEEDED', requestedBy: null });
  });

  it('a RUNNING run whose worker stopped reporting is failed as abandoned and replaced', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const [stuck] = await server.ownerSql`insert into sync_runs (tenant_id, integration_id, mode, status, trigger, started_at, heartbeat_at)
      values (${a.tenant.id}, ${target.id}, 'INCREMENTAL', 'RUNNING', 'MANUAL', now() - interval '2 hours', now() - interval '1 hour') returning id`;
    const res = await triggerSync(server, a.owner.token, target.id);
    expect(res.data.triggerSync).toMatchObject({ joined: false });
    expect(res.data.triggerSync.run.id).not.toBe(stuck!.id);
    expect(await syncRun(server, a.owner.token, stuck!.id)).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/Abandoned/) });
    expect(await waitForRun(server, a.owner.token, res.data.triggerSync.run.id)).toMatchObject({ status: 'SUCCEEDED' });
  });
});

describe('sync runs on the Integration type', () => {
  it('integrations list their last run and run history (one query for the last runs of all)', async () => {
    const { target: users } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const { target: payments } = await createTestIntegration(server.app, mock, a.tenant.id, 'PAYMENT_SERVICE');
    const first = await syncNow(server, a.owner.token, users.id);
    const second = await syncNow(server, a.owner.token, users.id, 'FULL');
    const res = await server.gql(
      `{ integrations { id lastSyncRun { id mode status } syncRuns(first: 5) { totalCount edges { node { id } } } } }`,
      {},
      { token: a.owner.token },
    );
    const byId = new Map<string, any>(res.data.integrations.map((i: any) => [i.id, i]));
    expect(byId.get(users.id)).toMatchObject({
      lastSyncRun: { id: second.id, mode: 'FULL', status: 'SUCCEEDED' },
      syncRuns: { totalCount: 2, edges: [{ node: { id: second.id } }, { node: { id: first.id } }] },
    });
    expect(byId.get(payments.id)).toMatchObject({ lastSyncRun: null, syncRuns: { totalCount: 0, edges: [] } });
  });
});

describe('tenant isolation', () => {
  it("tenant A's sync never touches tenant B, and B can neither see nor trigger A's runs", async () => {
    const { target: ta } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const { target: tb } = await createTestIntegration(server.app, mock, b.tenant.id, 'USER_SERVICE');
    const before = (await server.ownerSql`select count(*)::int as n from users where tenant_id = ${b.tenant.id}`)[0]!.n;
    const run = await syncNow(server, a.owner.token, ta.id, 'FULL');
    const after = (await server.ownerSql`select count(*)::int as n from users where tenant_id = ${b.tenant.id}`)[0]!.n;
    expect(after).toBe(before);
    const bRuns = (await server.ownerSql`select count(*)::int as n from sync_runs where tenant_id = ${b.tenant.id}`)[0]!.n;
    expect(bRuns).toBe(0);

    expect(errorCode(await triggerSync(server, b.owner.token, ta.id))).toBe('NOT_FOUND');
    expect(await syncRun(server, b.owner.token, run.id)).toBeNull();
    const list = await server.gql(`query ($id: UUID!) { syncRuns(integrationId: $id) { totalCount } }`, { id: ta.id }, { token: b.owner.token });
    expect(list.data.syncRuns.totalCount).toBe(0);

    // B's own sync of the same provider data creates B's own rows, leaving A's as they were.
    const aRows = await mirrored(a.tenant.id, ta.id);
    await syncNow(server, b.owner.token, tb.id);
    expect((await mirrored(b.tenant.id, tb.id)).size).toBe(SEED_USERS);
    expect(await mirrored(a.tenant.id, ta.id)).toEqual(aRows);
  });

  it('only ADMINs may trigger or read syncs; bad ids are BAD_USER_INPUT', async () => {
    const { target } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
    const member = await a.user('MEMBER');
    expect(errorCode(await triggerSync(server, member.token, target.id))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(`{ syncRuns(integrationId: "${target.id}") { totalCount } }`, {}, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(`{ syncRuns(integrationId: "${target.id}", first: 1000) { totalCount } }`, {}, { token: a.owner.token }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(`{ syncRuns(integrationId: "${target.id}", after: "nope") { totalCount } }`, {}, { token: a.owner.token }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await triggerSync(server, a.owner.token, crypto.randomUUID()))).toBe('NOT_FOUND');
    const { target: comms } = await createTestIntegration(server.app, mock, a.tenant.id, 'COMMUNICATION_SERVICE');
    expect(errorCode(await triggerSync(server, a.owner.token, comms.id))).toBe('CONFLICT');
    const disabled = await server.gql(`mutation ($id: UUID!) { updateIntegration(id: $id, input: { enabled: false }) { enabled } }`, { id: target.id }, { token: a.owner.token });
    expect(disabled.data.updateIntegration.enabled).toBe(false);
    expect(errorCode(await triggerSync(server, a.owner.token, target.id))).toBe('CONFLICT');
    void SYNC_RUN_FIELDS;
    void waitUntil;
  });
});
