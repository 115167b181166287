import net from 'node:net';
import { DB_ROLES, withRole } from '../src/db/roles.js';
import { ROLE_PASSWORDS_ENV } from './helpers/global-setup.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdFor } from '../src/integrations/webhooks/store.js';
import { createTestIntegration } from './helpers/integrations.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { Webhook } from 'standardwebhooks';
import { countEvents, countJobs, event, postHeaderLines, postWebhook, storedEvent, waitForStatus } from './helpers/webhooks.js';
import { waitFor } from './helpers/wait.js';

let server: TestServer;
let a: SeededTenant;
let b: SeededTenant;
const mockUrl = { url: 'http://127.0.0.1:9' };

beforeAll(async () => {
  server = await startTestServer({ env: { WEBHOOK_RATE_LIMIT_PER_SECOND: '5', WEBHOOK_RATE_LIMIT_BURST: '40', WEBHOOK_MAX_BODY_BYTES: '8192' } });
  a = await server.seed.tenant();
  b = await server.seed.tenant();
});
afterAll(async () => {
  await server?.close();
});

/** A fresh user-service integration of tenant A: its webhook URL and secret. */
async function integration(tenant = a, provider: 'USER_SERVICE' | 'PAYMENT_SERVICE' | 'COMMUNICATION_SERVICE' = 'USER_SERVICE') {
  const { row, secret } = await createTestIntegration(server.app, mockUrl, tenant.tenant.id, provider);
  return { id: row.id, secret, url: `${server.url}/webhooks/${row.id}` };
}

async function expectNothingStored(integrationId: string) {
  expect(await countEvents(server, integrationId)).toBe(0);
  expect(await countJobs(server, integrationId)).toBe(0);
}

describe('signatures (Standard Webhooks)', () => {
  it('accepts a correctly signed event: 202 with our event id, stored and enqueued', async () => {
    const i = await integration();
    const e = event('user.created');
    const res = await postWebhook(i.url, i.secret, JSON.stringify(e), { msgId: e.id });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: expect.any(String), duplicate: false });
    expect(await storedEvent(server, res.body.id)).toMatchObject({ provider_event_id: e.id, type: 'user.created' });
    expect(await countJobs(server, i.id)).toBe(1);
  });

  it.each([['webhook-id'], ['webhook-timestamp'], ['webhook-signature']])('missing %s → 401, nothing stored', async (h) => {
    const i = await integration();
    const res = await postWebhook(i.url, i.secret, JSON.stringify(event('user.created')), { omit: [h] });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    await expectNothingStored(i.id);
  });

  it('a bad signature, or one made with another integration\'s secret → 401', async () => {
    const i = await integration();
    const other = await integration(b);
    const body = JSON.stringify(event('user.created'));
    expect((await postWebhook(i.url, i.secret, body, { signature: 'v1,' + Buffer.alloc(32).toString('base64') })).status).toBe(401);
    expect((await postWebhook(i.url, other.secret, body)).status).toBe(401);
    await expectNothingStored(i.id);
  });

  it('one good signature among several (rotation at the sender) is accepted', async () => {
    const i = await integration();
    const body = JSON.stringify(event('user.created'));
    const msgId = 'msg_multi';
    const ts = new Date();
    const { Webhook } = await import('standardwebhooks');
    const good = new Webhook(i.secret).sign(msgId, ts, body);
    const signature = ['v1,' + Buffer.alloc(32, 1).toString('base64'), 'v2,whatever', good].join(' ');
    const res = await postWebhook(i.url, i.secret, body, { msgId, timestamp: ts, signature });
    expect(res.status).toBe(202);
  });

  it('timestamps more than 5 minutes old or in the future → 401', async () => {
    const i = await integration();
    const body = JSON.stringify(event('user.created'));
    const stale = await postWebhook(i.url, i.secret, body, { timestamp: new Date(Date.now() - 6 * 60_000) });
    const future = await postWebhook(i.url, i.secret, body, { timestamp: new Date(Date.now() + 6 * 60_000) });
    expect([stale.status, future.status]).toEqual([401, 401]);
    expect(stale.body.error.message).toMatch(/old/);
    expect(future.body.error.message).toMatch(/new/);
    // Within the tolerance either way is fine.
    expect((await postWebhook(i.url, i.secret, body, { timestamp: new Date(Date.now() - 4 * 60_000) })).status).toBe(202);
    await expectNothingStored((await integration()).id);
  });

  it('signature headers are read strictly before verifying: a repeated header, or a timestamp that is not plain digits → 401, nothing stored', async () => {
    // The signature library reads the timestamp with parseInt: each of these verified, then failed the
    // insert (500) or was stored at the wrong time ("…e3" is 1000× later).
    const i = await integration();
    const body = JSON.stringify(event('user.created'));
    const t = Math.floor(Date.now() / 1000);
    const signed = (msgId: string, timestamp: string | string[] = String(t)) => ({
      'content-type': 'application/json',
      'webhook-id': msgId,
      'webhook-timestamp': timestamp,
      'webhook-signature': new Webhook(i.secret).sign(msgId, new Date(t * 1000), body),
    });
    const refused = [
      signed('dup_ts', [String(t), String(t)]),
      { ...signed('dup_sig'), 'webhook-signature': [signed('dup_sig')['webhook-signature'], signed('dup_sig')['webhook-signature']] },
      { ...signed('dup_id'), 'webhook-id': ['dup_id', 'dup_id'] },
      ...[`${t} 5`, `${t}abc`, `${t}e3`, `${t}.5`, `${t}.0`, `+${t}`, `${t},${t}`, `${t}0000000000000`].map((ts, n) => signed(`bad_ts_${n}`, ts)),
      signed('x'.repeat(201)),
    ];
    for (const headers of refused) {
      const res = await postHeaderLines(i.url, headers, body);
      expect([res.status, res.body.error?.code], JSON.stringify(headers)).toEqual([401, 'UNAUTHENTICATED']);
    }
    await expectNothingStored(i.id);
    // The same delivery with well-formed headers is accepted: only their form was refused.
    expect((await postHeaderLines(i.url, signed('good'), body)).status).toBe(202);
  });

  it('a re-serialized body does not verify: the signature covers the exact bytes', async () => {
    const i = await integration();
    const e = event('user.created');
    const original = JSON.stringify(e);
    const reserialized = JSON.stringify(e, null, 2);
    const res = await postWebhook(i.url, i.secret, reserialized, { signedBody: original });
    expect(res.status).toBe(401);
    await expectNothingStored(i.id);
  });
});

describe('refusals', () => {
  it('unknown, malformed and disabled integrations → 404', async () => {
    const body = JSON.stringify(event('user.created'));
    const i = await integration();
    expect((await postWebhook(`${server.url}/webhooks/${crypto.randomUUID()}`, i.secret, body)).status).toBe(404);
    expect((await postWebhook(`${server.url}/webhooks/not-a-uuid`, i.secret, body)).status).toBe(404);
    await server.ownerSql`update integrations set enabled = false where id = ${i.id}`;
    const res = await postWebhook(i.url, i.secret, body);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    await expectNothingStored(i.id);
  });

  it('an integration disabled, or a tenant suspended, right after a delivery was accepted refuses the next one (404, nothing stored)', async () => {
    // The receiver keeps the integration it looked up; the storing transaction checks it again.
    for (const [disable, enable] of [
      [(id: string) => server.ownerSql`update integrations set enabled = false where id = ${id}`, (id: string) => server.ownerSql`update integrations set enabled = true where id = ${id}`],
      [() => server.ownerSql`update tenants set status = 'SUSPENDED' where id = ${a.tenant.id}`, () => server.ownerSql`update tenants set status = 'ACTIVE' where id = ${a.tenant.id}`],
    ] as const) {
      const i = await integration();
      expect((await postWebhook(i.url, i.secret, JSON.stringify(event('user.created')))).status).toBe(202);
      await disable(i.id);
      try {
        const e = event('user.created');
        const res = await postWebhook(i.url, i.secret, JSON.stringify(e), { msgId: e.id });
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('NOT_FOUND');
        expect(await server.ownerSql`select id from webhook_events where provider_event_id = ${e.id}`).toHaveLength(0);
      } finally {
        await enable(i.id);
      }
    }
  });

  it('body too large → 413', async () => {
    const i = await integration();
    const e = event('user.created', { name: 'x'.repeat(9000) });
    const res = await postWebhook(i.url, i.secret, JSON.stringify(e));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    await expectNothingStored(i.id);
  });

  it('not JSON or not an object → 400; not application/json → 415', async () => {
    const i = await integration();
    for (const body of ['{not json', '42', '"text"', '[1, 2]', '[]', 'null']) {
      const res = await postWebhook(i.url, i.secret, body);
      expect(res.status, body).toBe(400);
      expect(res.body.error.code).toBe('BAD_USER_INPUT');
    }
    const res = await postWebhook(i.url, i.secret, JSON.stringify(event('user.created')), { contentType: 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectNothingStored(i.id);
  });

  it('an event that fails its type\'s schema, or a type this provider does not send → 422 with field details', async () => {
    const i = await integration();
    const bad = { ...event('user.created'), data: { id: 'usr_1', email: 'not-an-email', name: '', status: 'active', version: 1, updated_at: 'yesterday' } };
    const res = await postWebhook(i.url, i.secret, JSON.stringify(bad));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('UNPROCESSABLE_ENTITY');
    expect(res.body.error.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['data.email', 'data.updated_at']));
    const wrongProvider = await postWebhook(i.url, i.secret, JSON.stringify(event('invoice.paid')));
    expect(wrongProvider.status).toBe(422);
    await expectNothingStored(i.id);
  });

  it('every provider: dates Postgres can\'t store (year 0 or 10000 in UTC) and integers beyond bigint → 422 at receipt, nothing stored', async () => {
    // Such events passed a bare ISO check, were accepted (202), then failed every attempt until DEAD.
    const cases = [
      ['USER_SERVICE', event('user.updated', { updated_at: '0000-01-01T00:00:00Z' }), 'data.updated_at'],
      ['USER_SERVICE', { ...event('user.created'), occurred_at: '0000-06-01T00:00:00Z' }, 'occurred_at'],
      ['USER_SERVICE', event('user.created', { version: 2 ** 63 }), 'data.version'],
      ['PAYMENT_SERVICE', event('subscription.updated', { current_period_end: '0001-01-01T00:30:00+01:00' }), 'data.current_period_end'],
      ['PAYMENT_SERVICE', event('subscription.created', { updated_at: '0000-03-01T00:00:00Z' }), 'data.updated_at'],
      ['PAYMENT_SERVICE', event('invoice.paid', { updated_at: '9999-12-31T23:00:00-01:30' }), 'data.updated_at'],
      ['PAYMENT_SERVICE', event('invoice.paid', { amount_cents: 1e20 }), 'data.amount_cents'],
      ['COMMUNICATION_SERVICE', event('message.delivered', { updated_at: '0000-12-31T23:59:59Z' }), 'data.updated_at'],
      ['COMMUNICATION_SERVICE', event('message.bounced', { updated_at: '9999-12-31T23:59:59.999-00:01' }), 'data.updated_at'],
    ] as const;
    for (const [provider, e, field] of cases) {
      const i = await integration(a, provider);
      for (const body of [e, [event(provider === 'USER_SERVICE' ? 'user.created' : provider === 'PAYMENT_SERVICE' ? 'invoice.paid' : 'message.sent'), e]]) {
        const res = await postWebhook(i.url, i.secret, JSON.stringify(body));
        expect([res.status, res.body.error?.code], `${e.type} ${field}`).toEqual([422, 'UNPROCESSABLE_ENTITY']);
        expect(res.body.error.fields.map((f: { field: string }) => f.field)).toEqual([Array.isArray(body) ? `[1].${field}` : field]);
      }
      await expectNothingStored(i.id);
    }
    // The edges of the storable years are accepted.
    const i = await integration(a, 'PAYMENT_SERVICE');
    const edges = event('subscription.updated', { updated_at: '0001-01-01T00:00:00Z', current_period_end: '9999-12-31T23:59:59.999Z' });
    const res = await postWebhook(i.url, i.secret, JSON.stringify(edges));
    expect(res.status).toBe(202);
    expect(await waitForStatus(server, res.body.id, 'PROCESSED')).toMatchObject({ outcome: 'created' });
  });

  it('per-integration rate limit → 429 with Retry-After; other integrations unaffected', async () => {
    const i = await integration();
    const other = await integration();
    const results = await Promise.all(Array.from({ length: 60 }, () => postWebhook(i.url, i.secret, '{bad json')));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited[0]!.body.error.code).toBe('RATE_LIMITED');
    expect((await postWebhook(other.url, other.secret, JSON.stringify(event('user.created')))).status).toBe(202);
  });
});

describe('duplicates and batches', () => {
  it('the same webhook-id again → 200 duplicate with the same event id, no second job, one effect', async () => {
    const i = await integration();
    const e = event('user.created');
    const body = JSON.stringify(e);
    const first = await postWebhook(i.url, i.secret, body, { msgId: e.id });
    const second = await postWebhook(i.url, i.secret, body, { msgId: e.id });
    expect(first.status).toBe(202);
    expect(second).toMatchObject({ status: 200, body: { id: first.body.id, duplicate: true } });
    // The URL's id in upper case is the same integration: the same event, not another id.
    const upper = await postWebhook(i.url.replace(i.id, i.id.toUpperCase()), i.secret, body, { msgId: e.id });
    expect(upper).toMatchObject({ status: 200, body: { id: first.body.id, duplicate: true } });
    expect(await countEvents(server, i.id)).toBe(1);
    expect(await countJobs(server, i.id)).toBe(1);
    await waitForStatus(server, first.body.id, 'PROCESSED');
    const users = await server.ownerSql`select id from users where external_id = ${e.data.id}`;
    expect(users).toHaveLength(1);
  });

  it('20 copies at the same moment → one 202, nineteen duplicates, one event, one job, one effect', async () => {
    const i = await integration();
    const e = event('user.created');
    const body = JSON.stringify(e);
    const results = await Promise.all(Array.from({ length: 20 }, () => postWebhook(i.url, i.secret, body, { msgId: e.id })));
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200 && r.body.duplicate === true)).toHaveLength(19);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await countEvents(server, i.id)).toBe(1);
    expect(await countJobs(server, i.id)).toBe(1);
    const processed = await waitForStatus(server, results[0]!.body.id, 'PROCESSED');
    expect(processed.attempts).toBe(1);
    expect(await server.ownerSql`select id from users where external_id = ${e.data.id}`).toHaveLength(1);
  });

  it('copies that share one gathered transaction (deliveries arriving while the previous one commits) still give one 202', async () => {
    const i = await integration();
    // 3 rounds of 10 deliveries: within the per-integration burst this file configures (40).
    for (let round = 0; round < 3; round++) {
      // Other deliveries go first and hold the integration's transaction; the copies gather behind them.
      const others = Array.from({ length: 4 }, () => event('user.created'));
      const e = event('user.created');
      const body = JSON.stringify(e);
      const sent = others.map((o) => postWebhook(i.url, i.secret, JSON.stringify(o), { msgId: o.id }));
      const copies = await Promise.all(Array.from({ length: 6 }, () => postWebhook(i.url, i.secret, body, { msgId: e.id })));
      expect((await Promise.all(sent)).map((r) => r.status)).toEqual([202, 202, 202, 202]);
      expect(copies.filter((r) => r.status === 202)).toHaveLength(1);
      expect(copies.filter((r) => r.status === 200 && r.body.duplicate === true)).toHaveLength(5);
    }
    expect(await countEvents(server, i.id)).toBe(15);
    expect(await countJobs(server, i.id)).toBe(15);
  });

  it('a delivery stuck in its transaction (a lock wait) does not hold the deliveries behind it', async () => {
    const i = await integration();
    const stuck = event('user.created');
    // Another session holds the row the stuck delivery must insert (uncommitted): its insert waits.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = server.ownerSql.begin(async (tx) => {
      await tx`insert into webhook_events (tenant_id, id, integration_id, provider_event_id, type, payload, delivery_id, delivery_timestamp)
               values (${a.tenant.id}, ${eventIdFor(a.tenant.id, i.id, stuck.id)}, ${i.id}, ${stuck.id}, 'user.created', '{}'::jsonb, ${stuck.id}, now())`;
      locked();
      await released;
      throw new Error('roll back the holder');
    }).catch(() => undefined);
    await isLocked;
    const stuckResponse = postWebhook(i.url, i.secret, JSON.stringify(stuck), { msgId: stuck.id });
    await new Promise((r) => setTimeout(r, 50)); // the stuck delivery is in its transaction
    const started = Date.now();
    const other = event('user.created');
    const res = await postWebhook(i.url, i.secret, JSON.stringify(other), { msgId: other.id });
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(2000); // the stall threshold (50 ms) plus one transaction, with room for a slow machine
    release();
    await holder;
    expect((await stuckResponse).status).toBe(202); // the holder rolled back: stored now
  });

  it('a batch: each event stored and enqueued on its own id, in one transaction; a resend is all duplicates', async () => {
    const i = await integration();
    const events = Array.from({ length: 5 }, () => event('user.created'));
    const res = await postWebhook(i.url, i.secret, JSON.stringify(events), { msgId: 'dlv_batch_1' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 5, duplicate: false });
    expect(res.body.events.map((x: { providerEventId: string }) => x.providerEventId)).toEqual(events.map((e) => e.id));
    expect(await countEvents(server, i.id)).toBe(5);
    expect(await countJobs(server, i.id)).toBe(5);
    const again = await postWebhook(i.url, i.secret, JSON.stringify(events), { msgId: 'dlv_batch_2' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ accepted: 0, duplicate: true });
    const mixed = await postWebhook(i.url, i.secret, JSON.stringify([events[0], event('user.created')]), { msgId: 'dlv_batch_3' });
    expect(mixed.status).toBe(202);
    expect(mixed.body.events.map((x: { duplicate: boolean }) => x.duplicate)).toEqual([true, false]);
    expect(await countEvents(server, i.id)).toBe(6);
    for (const x of res.body.events) await waitForStatus(server, x.id, 'PROCESSED');
  });

  it('a batch with one invalid event is refused whole (422), nothing stored', async () => {
    const i = await integration();
    const events = [event('user.created'), { ...event('user.created'), data: { id: 'x' } }];
    const res = await postWebhook(i.url, i.secret, JSON.stringify(events));
    expect(res.status).toBe(422);
    expect(res.body.error.fields[0].field).toMatch(/^\[1\]\.data/);
    await expectNothingStored(i.id);
  });
});

describe('isolation', () => {
  it('a webhook of tenant A\'s integration changes only tenant A, even for a provider id tenant B also mirrors', async () => {
    const ia = await integration(a);
    const ib = await integration(b);
    const shared = event('user.created');
    const resB = await postWebhook(ib.url, ib.secret, JSON.stringify(shared));
    await waitForStatus(server, resB.body.id, 'PROCESSED');
    const update = event('user.updated', { ...shared.data, name: 'Changed via A', version: 5 });
    const resA = await postWebhook(ia.url, ia.secret, JSON.stringify(update));
    await waitForStatus(server, resA.body.id, 'PROCESSED');
    const rows = await server.ownerSql<{ tenant_id: string; name: string }[]>`select tenant_id, name from users where external_id = ${shared.data.id} order by name`;
    expect(rows).toEqual(
      expect.arrayContaining([
        { tenant_id: a.tenant.id, name: 'Changed via A' },
        { tenant_id: b.tenant.id, name: shared.data.name },
      ]),
    );
    // Events are stored under the integration's tenant only.
    const [ev] = await server.ownerSql`select tenant_id from webhook_events where id = ${resA.body.id}`;
    expect(ev!.tenant_id).toBe(a.tenant.id);
  });
});

describe('Postgres unavailable', () => {
  it('→ 503 with Retry-After, and nothing is acknowledged that is not stored', async () => {
    // The app role reaches Postgres through a proxy this test can cut.
    const target = new URL(server.databaseUrl.app);
    const sockets = new Set<net.Socket>();
    let up = true;
    const proxy = net.createServer((client) => {
      if (!up) return client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => (client.destroy(), upstream.destroy());
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxied = new URL(server.databaseUrl.app);
    proxied.port = String((proxy.address() as net.AddressInfo).port);
    // The receiver stores on its own role's pool: through the proxy too.
    const ingest = withRole(proxied.toString(), DB_ROLES.ingest, ROLE_PASSWORDS_ENV.INGEST_DATABASE_PASSWORD);
    const other = await startTestServer({ database: new URL(server.databaseUrl.owner).pathname.slice(1), env: { APP_DATABASE_URL: proxied.toString(), INGEST_DATABASE_URL: ingest, PROCESS_ROLE: 'api' } });
    try {
      const i = await integration();
      const ok = await postWebhook(`${other.url}/webhooks/${i.id}`, i.secret, JSON.stringify(event('user.created')));
      expect(ok.status).toBe(202);
      up = false;
      for (const s of sockets) s.destroy();
      const e = event('user.created');
      const res = await postWebhook(`${other.url}/webhooks/${i.id}`, i.secret, JSON.stringify(e), { msgId: e.id });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect((await fetch(`${other.url}/readyz`)).status).toBe(503);
      expect(await server.ownerSql`select id from webhook_events where provider_event_id = ${e.id}`).toHaveLength(0);
      // Back up: the sender's retry is accepted.
      up = true;
      const retried = await waitFor(async () => {
        const r = await postWebhook(`${other.url}/webhooks/${i.id}`, i.secret, JSON.stringify(e), { msgId: e.id });
        return r.status === 202 ? r : undefined;
      }, { timeoutMs: 15_000, message: 'the database to come back' });
      expect(await storedEvent(server, retried.body.id)).toBeTruthy();
    } finally {
      await other.close();
      proxy.close();
    }
  });
});

describe('queue depth and request latency in /metrics', () => {
  it('reports the jobs waiting per queue, empty queues as 0', async () => {
    const apiOnly = await startTestServer({ env: { PROCESS_ROLE: 'api' } }); // no workers: the jobs stay queued
    try {
      const t = await apiOnly.seed.tenant();
      const { row, secret } = await createTestIntegration(apiOnly.app, mockUrl, t.tenant.id, 'USER_SERVICE');
      for (let n = 0; n < 3; n++) {
        const e = event('user.created');
        expect((await postWebhook(`${apiOnly.url}/webhooks/${row.id}`, secret, JSON.stringify(e), { msgId: e.id })).status).toBe(202);
      }
      const text = await (await fetch(`${apiOnly.url}/metrics`)).text();
      expect(text).toMatch(/^tessera_job_queue_depth\{queue="webhooks-user-service"\} 3$/m);
      expect(text).toMatch(/^tessera_job_queue_depth\{queue="webhooks-payment-service"\} 0$/m);
      // Request latency by route pattern (never the raw URL: integration ids would be unbounded labels).
      expect(text).toMatch(/^tessera_http_request_duration_seconds_count\{method="POST",route="\/webhooks\/:integrationId",status_class="2xx"\} 3$/m);
      await fetch(`${apiOnly.url}/no-such-route/${row.id}`);
      const after = await (await fetch(`${apiOnly.url}/metrics`)).text();
      expect(after).toMatch(/^tessera_http_request_duration_seconds_count\{method="GET",route="unmatched",status_class="4xx"\} 1$/m);
      expect(after.split('\n').filter((l) => l.startsWith('tessera_http_request_duration') && l.includes(row.id))).toEqual([]);
    } finally {
      await apiOnly.close();
    }
  });
});
