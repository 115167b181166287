import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEvents } from '../src/db/schema.js';
import { actors, inTenant, inTenantOneTrip } from '../src/db/tenant-transaction.js';
import { QUEUES } from '../src/jobs/queues.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { spawnWorker } from './helpers/spawn-worker.js';
import { createTestIntegration } from './helpers/integrations.js';
import type { SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { countJobs, event, postWebhook, storedEvent, waitForStatus } from './helpers/webhooks.js';
import { waitFor } from './helpers/wait.js';

// Fast retries so "retries → DEAD" fits a test: 3 attempts, 1 s base delay (exponential with jitter).
const FAST_JOBS = { WEBHOOK_RETRY_LIMIT: '2', WEBHOOK_RETRY_DELAY_SECONDS: '1', JOB_POLL_INTERVAL_SECONDS: '0.5', JOB_MAINTENANCE_INTERVAL_SECONDS: '1' };

let server: TestServer;
let mock: MockServices;
let a: SeededTenant;

beforeAll(async () => {
  server = await startTestServer({ env: FAST_JOBS });
  mock = await startMockServices();
  a = await server.seed.tenant();
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});

async function userIntegration() {
  const { row, secret } = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
  return { id: row.id, secret, url: `${server.url}/webhooks/${row.id}` };
}

describe('processing', () => {
  it('events sent by the mock provider over HTTP are applied to our tables', async () => {
    const i = await userIntegration();
    const res = await fetch(`${mock.url}/_control/webhooks/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: i.url, secret: i.secret, type: 'user.created', count: 3 }),
    });
    const { deliveries } = (await res.json()) as { deliveries: { status: number; body: { id: string }; event_id: string }[] };
    expect(deliveries.map((d) => d.status)).toEqual([202, 202, 202]);
    for (const d of deliveries) expect(await waitForStatus(server, d.body.id, 'PROCESSED')).toMatchObject({ outcome: 'created', attempts: 1 });
    const mirrored = await server.ownerSql`select email from users where external_source = ${i.id}`;
    expect(mirrored).toHaveLength(3);
    const mockEmails = new Set(mock.state.store.list('users').map((u) => u.email));
    for (const m of mirrored) expect(mockEmails.has(m.email as string)).toBe(true);
  });

  it('out of order: user.updated before user.created ends in the newer state', async () => {
    const i = await userIntegration();
    const created = event('user.created');
    const updated = event('user.updated', { ...created.data, name: 'Newer name', version: 2, updated_at: new Date(Date.parse(created.data.updated_at) + 1000).toISOString() });
    const r1 = await postWebhook(i.url, i.secret, JSON.stringify(updated), { msgId: updated.id });
    await waitForStatus(server, r1.body.id, 'PROCESSED');
    const r2 = await postWebhook(i.url, i.secret, JSON.stringify(created), { msgId: created.id });
    expect(await waitForStatus(server, r2.body.id, 'PROCESSED')).toMatchObject({ outcome: 'unchanged' });
    expect(await storedEvent(server, r1.body.id)).toMatchObject({ outcome: 'created' });
    const [u] = await server.ownerSql`select name, external_version::int as external_version from users where external_id = ${created.data.id}`;
    expect(u).toMatchObject({ name: 'Newer name', external_version: 2 });
  });

  it('a handler that throws is retried with backoff, then DEAD with its attempts and last error; after the fix, replay → PROCESSED', async () => {
    const i = await userIntegration();
    // The cause: another mirrored user already holds the email.
    const holder = event('user.created');
    const r0 = await postWebhook(i.url, i.secret, JSON.stringify(holder));
    await waitForStatus(server, r0.body.id, 'PROCESSED');
    const clash = event('user.created', { email: holder.data.email });
    const r1 = await postWebhook(i.url, i.secret, JSON.stringify(clash));
    expect(r1.status).toBe(202);
    const failed = await waitForStatus(server, r1.body.id, 'FAILED');
    expect(failed.last_error).toMatch(/belongs to another user/);
    const dead = await waitForStatus(server, r1.body.id, 'DEAD', 20_000);
    expect(dead.attempts).toBe(3);
    // pg-boss moved the job to the provider's dead-letter queue.
    await waitFor(async () => (await server.ownerSql`select id from pgboss.job where name = ${QUEUES.webhooksDead('USER_SERVICE')} and data->>'eventId' = ${r1.body.id}`).length === 1, { timeoutMs: 5000, message: 'the dead letter' });

    const admin = await a.user('ADMIN');
    const seen = await server.gql(`query ($id: UUID!) { webhookEvent(id: $id) { status attempts lastError } }`, { id: r1.body.id }, { token: admin.token });
    expect(seen.data.webhookEvent).toMatchObject({ status: 'DEAD', attempts: 3, lastError: expect.stringMatching(/belongs to another user/) });
    // The dead letter is already a health signal (re-evaluated in the commit that marked it DEAD).
    const health = await server.gql(`query ($id: UUID!) { integrationHealth(integrationId: $id) { signals { deadLetterCount } } }`, { id: i.id }, { token: admin.token });
    expect(health.data.integrationHealth.signals.deadLetterCount).toBe(1);

    await server.ownerSql`update users set email = ${'moved-' + holder.data.email} where external_id = ${holder.data.id}`;
    const replay = await server.gql(`mutation ($id: UUID!) { replayWebhookEvent(id: $id) { status } }`, { id: r1.body.id }, { token: admin.token });
    expect(replay.data.replayWebhookEvent.status).toBe('RECEIVED');
    const again = await server.gql(`mutation ($id: UUID!) { replayWebhookEvent(id: $id) { status } }`, { id: r1.body.id }, { token: admin.token });
    // Refused while the first replay is still queued; allowed once it was processed, and then the
    // second run finds the user already there: no second effect either way.
    expect(['CONFLICT', undefined]).toContain(errorCode(again));
    const replayedTwice = errorCode(again) === undefined;
    expect(await waitForStatus(server, r1.body.id, 'PROCESSED', 10_000)).toMatchObject(replayedTwice ? { outcome: 'unchanged', attempts: 5 } : { outcome: 'created', attempts: 4 });
    expect(await server.ownerSql`select id from users where external_id = ${clash.data.id}`).toHaveLength(1);
  });

  it('a database error while processing is stored and shown as its client-safe code, never the statement or its values', async () => {
    const i = await userIntegration();
    const admin = await a.user('ADMIN');
    // The database refuses these users' rows: a bug-like error (masked) and a constraint refusal (mapped by its SQLSTATE).
    await server.ownerSql.unsafe(`
      create function test_refuse_poison() returns trigger language plpgsql as $$ begin
        if new.email like 'poison-internal-%' then raise exception 'poisoned row %', new.email; end if;
        if new.email like 'poison-check-%' then raise exception 'poisoned row %', new.email using errcode = 'check_violation'; end if;
        return new; end $$;
      create trigger test_refuse_poison before insert or update on users for each row execute function test_refuse_poison();`);
    try {
      const cases = [
        ['poison-internal-', 'INTERNAL_SERVER_ERROR: Internal error (see the server log)'],
        ['poison-check-', 'BAD_USER_INPUT: input: Value rejected by a data constraint'],
      ] as const;
      for (const [prefix, expected] of cases) {
        const e = event('user.created', { email: `${prefix}${crypto.randomUUID()}@example.com` });
        const res = await postWebhook(i.url, i.secret, JSON.stringify(e));
        expect(res.status).toBe(202);
        const failed = await waitForStatus(server, res.body.id, 'FAILED');
        const seen = await server.gql(`query ($id: UUID!) { webhookEvent(id: $id) { status lastError } }`, { id: res.body.id }, { token: admin.token });
        for (const shown of [failed.last_error, seen.data.webhookEvent.lastError]) {
          expect(shown).toBe(expected);
          for (const leak of [/insert into|params|poisoned/i, e.data.email, e.data.id]) expect(shown).not.toMatch(leak);
        }
      }
    } finally {
      await server.ownerSql.unsafe('drop trigger test_refuse_poison on users; drop function test_refuse_poison()');
    }
  });

  it('one failing event of a batch fails alone: the others of its group are applied once, on their first attempt', async () => {
    const i = await userIntegration();
    const holder = event('user.created');
    await waitForStatus(server, (await postWebhook(i.url, i.secret, JSON.stringify(holder))).body.id, 'PROCESSED');
    // Jobs of one integration fetched together are applied in one transaction; the clash in the middle
    // must roll back alone (savepoint per event), not take its neighbours with it.
    const batch = [event('user.created'), event('user.created', { email: holder.data.email }), event('user.created')];
    const res = await postWebhook(i.url, i.secret, JSON.stringify(batch));
    expect(res.status).toBe(202);
    const ids = (res.body.events as { id: string }[]).map((e) => e.id);
    expect(await waitForStatus(server, ids[0]!, 'PROCESSED')).toMatchObject({ outcome: 'created', attempts: 1 });
    expect(await waitForStatus(server, ids[2]!, 'PROCESSED')).toMatchObject({ outcome: 'created', attempts: 1 });
    expect((await waitForStatus(server, ids[1]!, 'FAILED')).last_error).toMatch(/belongs to another user/);
    const mirrored = await server.ownerSql`select external_id from users where external_source = ${i.id} and external_id in ${server.ownerSql(batch.map((e) => e.data.id))}`;
    expect(mirrored.map((r) => r.external_id).sort()).toEqual([batch[0]!.data.id, batch[2]!.data.id].sort());
  });

  it('a rolled-back transaction leaves neither the event nor its job', async () => {
    const i = await userIntegration();
    const e = event('user.created');
    await expect(
      inTenant(server.app.db, actors.integration(i.id, a.tenant.id), async (tx) => {
        const [row] = await tx
          .insert(webhookEvents)
          .values({ tenantId: a.tenant.id, integrationId: i.id, providerEventId: e.id, type: e.type, payload: e, deliveryId: e.id, deliveryTimestamp: new Date() })
          .returning();
        await server.app.jobs.enqueue(tx, QUEUES.webhooks('USER_SERVICE'), [{ tenantId: a.tenant.id, integrationId: i.id, eventId: row!.id }]);
        throw new Error('rolled back after both writes');
      }),
    ).rejects.toThrow('rolled back');
    expect(await server.ownerSql`select id from webhook_events where provider_event_id = ${e.id}`).toHaveLength(0);
    expect(await countJobs(server, i.id)).toBe(0);

    // The receiver's one-round-trip transaction (event insert and job insert pipelined): a failing
    // statement after both rolls both back.
    const id = crypto.randomUUID();
    const jobInsert = await server.app.jobs.insertStatement(QUEUES.webhooks('USER_SERVICE'), [{ id, data: { tenantId: a.tenant.id, integrationId: i.id, eventId: id } }]);
    await expect(
      inTenantOneTrip(server.app.db, actors.integration(i.id, a.tenant.id), [
        (raw) => raw`insert into webhook_events (tenant_id, id, integration_id, provider_event_id, type, payload, delivery_id, delivery_timestamp)
                     values (${a.tenant.id}, ${id}, ${i.id}, ${'evt_' + id}, 'user.created', '{}'::jsonb, 'd', now())`,
        (raw) => raw.unsafe(jobInsert.text, jobInsert.values as never[]),
        (raw) => raw`select 1 / 0`,
      ]),
    ).rejects.toMatchObject({ code: '22012' });
    expect(await server.ownerSql`select id from webhook_events where id = ${id}`).toHaveLength(0);
    expect(await server.ownerSql`select id from pgboss.job where id = ${id}`).toHaveLength(0);
  });
});

describe('a worker killed in the middle of a job', () => {
  let api: TestServer;
  let worker: ChildProcess | undefined;
  let rescuer: TestServer | undefined;
  const env = { ...FAST_JOBS, WEBHOOK_JOB_EXPIRE_SECONDS: '3' };

  beforeAll(async () => {
    // Its own database: the API process receives, the worker process is the only one working.
    api = await startTestServer({ env: { ...env, PROCESS_ROLE: 'api' } });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await rescuer?.close();
    await api?.close();
  });

  it('the job comes back after expiry and the effect happens exactly once', async () => {
    const t = await api.seed.tenant();
    const { row, secret } = await createTestIntegration(api.app, mock, t.tenant.id, 'USER_SERVICE');
    worker = await spawnWorker(api, { ...env, STATEMENT_TIMEOUT_MS: '30000' });

    // Hold the users table so the worker's apply blocks mid-job (after it marked the event PROCESSING).
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locking = api.ownerSql.begin(async (tx) => {
      await tx`lock table users in exclusive mode`;
      await held;
    });
    const e = event('user.created');
    const res = await postWebhook(`${api.url}/webhooks/${row.id}`, secret, JSON.stringify(e), { msgId: e.id });
    expect(res.status).toBe(202);
    await waitForStatus(api, res.body.id, 'PROCESSING', 10_000);
    await waitFor(async () => (await api.ownerSql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and application_name = 'tessera'`).length > 0, { timeoutMs: 5000, message: 'the worker to block' });
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    release();
    await locking;
    expect(await api.ownerSql`select id from users where external_id = ${e.data.id}`).toHaveLength(0);

    // Another worker process: maintenance expires the dead worker's job, which is retried here.
    rescuer = await startTestServer({ database: new URL(api.databaseUrl.owner).pathname.slice(1), env });
    const done = await waitForStatus(api, res.body.id, 'PROCESSED', 20_000);
    expect(done).toMatchObject({ outcome: 'created', attempts: 2 });
    expect(await api.ownerSql`select id from users where external_id = ${e.data.id}`).toHaveLength(1);
  }, 60_000);
});
