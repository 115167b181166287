import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { Tx } from '../src/db/client.js';
import { billingStatus, invoices, notificationDeliveries, refreshTokens, subscriptions, users } from '../src/db/schema.js';
import { actors, inTenant } from '../src/db/tenant-transaction.js';
import {
  applyInvoice,
  applyMessage,
  applySubscription,
  applyUser,
  isNewer,
  type ApplyTarget,
  type ProviderInvoice,
  type ProviderMessage,
  type ProviderSubscription,
  type ProviderUser,
} from '../src/integrations/apply/index.js';
import { applyEvent, applyEvents } from '../src/integrations/events.js';
import { QUEUES } from '../src/jobs/queues.js';
import { createTestIntegration } from './helpers/integrations.js';
import { event, postWebhook } from './helpers/webhooks.js';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let a: SeededTenant;
let b: SeededTenant;
let userSvcA: ApplyTarget;
let paySvcA: ApplyTarget;
let commsA: ApplyTarget;
let userSvcB: ApplyTarget;
const mockUrl = { url: 'http://127.0.0.1:9' };

/** Job policy settings unlike the defaults (8 retries, 5 s delay, 60 s expiry): the job-queue test checks them. */
const JOB_POLICY_ENV_VALUES = { WEBHOOK_RETRY_LIMIT: 5, WEBHOOK_RETRY_DELAY_SECONDS: 7, WEBHOOK_JOB_EXPIRE_SECONDS: 45 };

beforeAll(async () => {
  server = await startTestServer({ env: Object.fromEntries(Object.entries(JOB_POLICY_ENV_VALUES).map(([k, v]) => [k, String(v)])) });
  a = await server.seed.tenant();
  b = await server.seed.tenant();
  userSvcA = (await createTestIntegration(server.app, mockUrl, a.tenant.id, 'USER_SERVICE')).target;
  paySvcA = (await createTestIntegration(server.app, mockUrl, a.tenant.id, 'PAYMENT_SERVICE')).target;
  commsA = (await createTestIntegration(server.app, mockUrl, a.tenant.id, 'COMMUNICATION_SERVICE')).target;
  userSvcB = (await createTestIntegration(server.app, mockUrl, b.tenant.id, 'USER_SERVICE')).target;
});
afterAll(async () => {
  await server?.close();
});

/** Runs `fn` as the integration's actor, as the webhook job and sync do. */
const asIntegration = <T>(target: ApplyTarget, fn: (tx: Tx) => Promise<T>) =>
  inTenant(server.app.db, actors.integration(target.id, target.tenantId), fn);

let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
/** The same instant as a provider sends it (event data, parsed by the schema). */
const iso = (minute: number) => at(minute).toISOString();
const pUser = (over: Partial<ProviderUser> = {}): ProviderUser => {
  seq++;
  return { id: `usr_${seq}`, email: `p${seq}-${Date.now()}@example.com`, name: `Provider ${seq}`, status: 'active', version: 1, updated_at: at(1), ...over };
};
const findUser = (target: ApplyTarget, externalId: string) =>
  asIntegration(target, async (tx) => (await tx.select().from(users).where(eq(users.externalId, externalId)))[0]);

describe('many events at once (the webhook job applies a fetched group with applyEvents)', () => {
  it('ends in the same state, with the same outcome per event, as applying them one by one in order', async () => {
    // The same provider history twice: one by one in tenant A, as one group in tenant B.
    const paySvcB = (await createTestIntegration(server.app, mockUrl, b.tenant.id, 'PAYMENT_SERVICE')).target;
    const u = (id: string, version: number, over: Partial<ProviderUser> = {}) => ({ id, email: `${id}@group.test`, name: `${id} v${version}`, status: 'active', version, updated_at: iso(version), ...over });
    const sub = (id: string, version: number, plan: string) => ({ id, customer_id: 'usr_x', plan, status: 'active', current_period_end: iso(50), version, updated_at: iso(version) });
    const userEvents = [
      ['user.updated', u('g1', 2)], ['user.created', u('g1', 1)], // update before its create
      ['user.created', u('g2', 1)], ['user.updated', u('g2', 3)], ['user.updated', u('g2', 2)], // a stale update last
      ['user.created', u('g3', 1)], ['user.deleted', u('g3', 2)], ['user.updated', u('g3', 1)], // deleted, then a stale revival
      ['user.created', u('g4', 1)],
    ] as const;
    const subEvents = [
      ['subscription.created', sub('gs1', 1, 'PRO')], ['subscription.updated', sub('gs1', 2, 'ENTERPRISE')], ['subscription.canceled', sub('gs1', 3, 'ENTERPRISE')],
      ['subscription.updated', sub('gs2', 2, 'ENTERPRISE')], ['subscription.created', sub('gs2', 1, 'PRO')],
    ] as const;
    const oneByOne = async (target: ApplyTarget, events: readonly (readonly [string, object])[]) => {
      const out = [];
      for (const [type, data] of events) out.push(await asIntegration(target, (tx) => applyEvent(tx, target, type, data)));
      return out;
    };
    const grouped = (target: ApplyTarget, events: readonly (readonly [string, object])[]) =>
      asIntegration(target, (tx) => applyEvents(tx, target, events.map(([type, data]) => ({ type, data }))));
    expect(await grouped(userSvcB, userEvents)).toEqual(await oneByOne(userSvcA, userEvents));
    expect(await grouped(paySvcB, subEvents)).toEqual(await oneByOne(paySvcA, subEvents));
    const state = async (target: ApplyTarget) => {
      const us = await asIntegration(target, (tx) => tx.select({ id: users.externalId, name: users.name, status: users.status, v: users.externalVersion }).from(users).where(eq(users.externalSource, target.id)));
      return us.filter((x) => x.id!.startsWith('g')).sort((x, y) => x.id!.localeCompare(y.id!));
    };
    const subState = async (target: ApplyTarget) =>
      (await asIntegration(target, (tx) => tx.select({ id: subscriptions.externalId, plan: subscriptions.plan, status: subscriptions.status, v: subscriptions.externalVersion }).from(subscriptions).where(eq(subscriptions.integrationId, target.id))))
        .filter((x) => x.id.startsWith('gs'))
        .sort((x, y) => x.id.localeCompare(y.id));
    expect(await state(userSvcB)).toEqual(await state(userSvcA));
    expect(await state(userSvcA)).toHaveLength(4);
    expect(await subState(paySvcB)).toEqual(await subState(paySvcA));
    expect(await subState(paySvcA)).toEqual([
      { id: 'gs1', plan: 'ENTERPRISE', status: 'CANCELED', v: 3 },
      { id: 'gs2', plan: 'ENTERPRISE', status: 'ACTIVE', v: 2 },
    ]);
  });
});

describe('the conflict rule', () => {
  it('version decides; updated_at breaks ties; nothing stored means newer', () => {
    const t = at;
    expect(isNewer({ version: 2, updatedAt: t(1) }, { version: 1, updatedAt: t(5) })).toBe(true);
    expect(isNewer({ version: 1, updatedAt: t(9) }, { version: 2, updatedAt: t(1) })).toBe(false);
    expect(isNewer({ version: 2, updatedAt: t(2) }, { version: 2, updatedAt: t(1) })).toBe(true);
    expect(isNewer({ version: 2, updatedAt: t(1) }, { version: 2, updatedAt: t(1) })).toBe(false);
    expect(isNewer({ version: 1, updatedAt: t(1) }, null)).toBe(true);
  });
});

describe('applyUser', () => {
  it('creates, then applying the same record again is a no-op', async () => {
    const r = pUser();
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, r))).toBe('created');
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, r))).toBe('unchanged');
    const row = await findUser(userSvcA, r.id);
    expect(row).toMatchObject({ email: r.email, name: r.name, status: 'INVITED', role: 'MEMBER', externalSource: userSvcA.id, externalVersion: 1 });
  });

  it('an update before its create creates; the late create is stale', async () => {
    const v1 = pUser();
    const v2 = { ...v1, name: 'Renamed', version: 2, updated_at: at(2) };
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v2))).toBe('created');
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v1))).toBe('unchanged');
    expect((await findUser(userSvcA, v1.id))!.name).toBe('Renamed');
  });

  it('an old update after a newer one never regresses', async () => {
    const v1 = pUser();
    await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v1));
    const v3 = { ...v1, name: 'Third', version: 3, updated_at: at(3) };
    const v2 = { ...v1, name: 'Second', version: 2, updated_at: at(2) };
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v3))).toBe('updated');
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v2))).toBe('unchanged');
    expect(await findUser(userSvcA, v1.id)).toMatchObject({ name: 'Third', externalVersion: 3 });
  });

  it('user.deleted deactivates (tombstone) and ends sessions; a newer active version reactivates', async () => {
    const local = await a.user('MEMBER');
    // Link the existing local user by email, then delete it at the provider.
    const v1 = pUser({ email: local.user.email });
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v1))).toBe('updated');
    const login = await server.gql(`mutation ($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { refreshToken } }`, {
      s: a.tenant.slug,
      e: local.user.email,
      p: PASSWORD,
    });
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.refreshToken).toBeTruthy();
    const deleted = { ...v1, status: 'deleted' as const, version: 2, updated_at: at(2) };
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, deleted))).toBe('deleted');
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, deleted))).toBe('unchanged');
    const row = await findUser(userSvcA, v1.id);
    expect(row).toMatchObject({ id: local.user.id, status: 'DEACTIVATED' });
    const tokens = await asIntegration(userSvcA, (tx) => tx.select().from(refreshTokens).where(eq(refreshTokens.userId, local.user.id)));
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((t) => t.revokedAt !== null)).toBe(true);
    const back = { ...v1, version: 3, updated_at: at(3) };
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, back))).toBe('updated');
    expect((await findUser(userSvcA, v1.id))!.status).toBe('ACTIVE'); // has a password here
  });

  it('a deletion that arrives first leaves a tombstone the late create cannot revive', async () => {
    const v1 = pUser();
    const gone = { ...v1, status: 'deleted' as const, version: 2, updated_at: at(2) };
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, gone))).toBe('deleted');
    expect(await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v1))).toBe('unchanged');
    expect((await findUser(userSvcA, v1.id))!.status).toBe('DEACTIVATED');
  });

  it('never deactivates an OWNER', async () => {
    const v1 = pUser({ email: a.owner.user.email });
    await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, v1));
    await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, { ...v1, status: 'deleted', version: 2, updated_at: at(2) }));
    expect((await findUser(userSvcA, v1.id))!.status).toBe('ACTIVE');
  });

  it('the same provider id in another tenant is another user; neither apply sees the other', async () => {
    const r = pUser();
    await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, r));
    expect(await asIntegration(userSvcB, (tx) => applyUser(tx, userSvcB, { ...r, name: 'B copy', version: 9 }))).toBe('created');
    expect((await findUser(userSvcA, r.id))!.name).toBe(r.name);
    expect((await findUser(userSvcB, r.id))!.name).toBe('B copy');
  });

  it('concurrent applies of versions 1..5 end in version 5', async () => {
    const v = pUser();
    const versions = [5, 1, 3, 2, 4].map((n) => ({ ...v, name: `v${n}`, version: n, updated_at: at(n) }));
    await Promise.allSettled(versions.map((r) => asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, r))));
    // A lost insert race fails that apply (its job retries); re-applying everything converges.
    for (const r of versions) await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, r));
    expect(await findUser(userSvcA, v.id)).toMatchObject({ name: 'v5', externalVersion: 5 });
  });
});

describe('billing', () => {
  const sub = (over: Partial<ProviderSubscription> = {}): ProviderSubscription => ({
    id: `sub_${++seq}`,
    customer_id: 'usr_x',
    plan: 'PRO',
    status: 'active',
    current_period_end: at(50),
    version: 1,
    updated_at: at(1),
    ...over,
  });
  const inv = (over: Partial<ProviderInvoice> = {}): ProviderInvoice => ({
    id: `in_${++seq}`,
    subscription_id: 'sub_x',
    amount_cents: 1200,
    currency: 'usd',
    status: 'open',
    version: 1,
    updated_at: at(1),
    ...over,
  });
  const billing = () => asIntegration(paySvcA, async (tx) => (await tx.select().from(billingStatus))[0]);

  it('subscriptions: created, updated by a newer version, stale cancel ignored, newer cancel applied', async () => {
    const s = sub();
    expect(await asIntegration(paySvcA, (tx) => applySubscription(tx, paySvcA, s))).toBe('created');
    expect(await asIntegration(paySvcA, (tx) => applySubscription(tx, paySvcA, { ...s, plan: 'ENTERPRISE', version: 3, updated_at: at(3) }))).toBe('updated');
    expect(await asIntegration(paySvcA, (tx) => applySubscription(tx, paySvcA, { ...s, status: 'canceled', version: 2, updated_at: at(2) }))).toBe('unchanged');
    let [row] = await asIntegration(paySvcA, (tx) => tx.select().from(subscriptions).where(eq(subscriptions.externalId, s.id)));
    expect(row).toMatchObject({ plan: 'ENTERPRISE', status: 'ACTIVE', externalVersion: 3 });
    expect(await asIntegration(paySvcA, (tx) => applySubscription(tx, paySvcA, { ...s, plan: 'ENTERPRISE', status: 'canceled', version: 4, updated_at: at(4) }))).toBe('deleted');
    [row] = await asIntegration(paySvcA, (tx) => tx.select().from(subscriptions).where(eq(subscriptions.externalId, s.id)));
    expect(row).toMatchObject({ status: 'CANCELED', plan: 'ENTERPRISE' });
  });

  it('a failed payment sets the tenant flag; the same invoice paid later clears it; a stale failure does not set it again', async () => {
    const i = inv();
    await asIntegration(paySvcA, (tx) => applyInvoice(tx, paySvcA, { ...i, status: 'failed', version: 2, updated_at: at(2) }));
    expect(await billing()).toMatchObject({ failedInvoiceCount: 1 });
    expect((await billing())!.paymentFailedAt).not.toBeNull();
    await asIntegration(paySvcA, (tx) => applyInvoice(tx, paySvcA, { ...i, status: 'paid', version: 3, updated_at: at(3) }));
    expect(await billing()).toMatchObject({ failedInvoiceCount: 0, paymentFailedAt: null });
    expect(await asIntegration(paySvcA, (tx) => applyInvoice(tx, paySvcA, { ...i, status: 'failed', version: 2, updated_at: at(2) }))).toBe('unchanged');
    expect(await billing()).toMatchObject({ failedInvoiceCount: 0, paymentFailedAt: null });
    const [row] = await asIntegration(paySvcA, (tx) => tx.select().from(invoices).where(eq(invoices.externalId, i.id)));
    expect(row).toMatchObject({ status: 'PAID', currency: 'USD', amountCents: 1200 });
  });
});

describe('applyMessage', () => {
  const msg = (over: Partial<ProviderMessage> = {}): ProviderMessage => ({
    id: `msg_${++seq}`,
    to_email: 'nobody@example.com',
    channel: 'email',
    status: 'sent',
    version: 1,
    updated_at: at(1),
    ...over,
  });

  it('links to the mirrored user by provider id; delivered before sent stays delivered', async () => {
    const u = pUser();
    await asIntegration(userSvcA, (tx) => applyUser(tx, userSvcA, u));
    const m = msg({ to_email: u.email, user_external_id: u.id });
    expect(await asIntegration(commsA, (tx) => applyMessage(tx, commsA, { ...m, status: 'delivered', version: 2, updated_at: at(2) }))).toBe('created');
    expect(await asIntegration(commsA, (tx) => applyMessage(tx, commsA, m))).toBe('unchanged');
    const [row] = await asIntegration(commsA, (tx) => tx.select().from(notificationDeliveries).where(eq(notificationDeliveries.externalId, m.id)));
    const user = await findUser(userSvcA, u.id);
    expect(row).toMatchObject({ status: 'DELIVERED', userId: user!.id, externalVersion: 2 });
  });

  it('links by email when the provider gives no user id, and stays unlinked for unknown addresses', async () => {
    const m1 = msg({ to_email: a.owner.user.email.toUpperCase() });
    const m2 = msg();
    await asIntegration(commsA, (tx) => applyMessage(tx, commsA, m1));
    await asIntegration(commsA, (tx) => applyMessage(tx, commsA, m2));
    const rows = await asIntegration(commsA, (tx) => tx.select().from(notificationDeliveries));
    expect(rows.find((r) => r.externalId === m1.id)!.userId).toBe(a.owner.user.id);
    expect(rows.find((r) => r.externalId === m2.id)!.userId).toBeNull();
  });
});

describe('job queues', () => {
  it('every provider queue, and every job the accept path and a transactional enqueue make, carries the configured retry and expiry', async () => {
    // This file's server runs with values unlike the defaults (see beforeAll), so a hard-coded or
    // default policy can't pass for the configured one.
    const c = server.app.config;
    expect(c).toMatchObject(JOB_POLICY_ENV_VALUES);
    const expected = { retry_limit: c.WEBHOOK_RETRY_LIMIT, retry_delay: c.WEBHOOK_RETRY_DELAY_SECONDS, retry_backoff: true, expire_seconds: c.WEBHOOK_JOB_EXPIRE_SECONDS };
    const queues = await server.ownerSql<{ name: string; retry_limit: number; retry_delay: number; retry_backoff: boolean; expire_seconds: number; dead_letter: string | null }[]>`
      select name, retry_limit, retry_delay, retry_backoff, expire_seconds, dead_letter from pgboss.queue`;
    for (const p of ['USER_SERVICE', 'PAYMENT_SERVICE', 'COMMUNICATION_SERVICE'] as const) {
      expect(queues.find((r) => r.name === QUEUES.webhooks(p)), p).toEqual({ name: QUEUES.webhooks(p), ...expected, dead_letter: QUEUES.webhooksDead(p) });
      expect(queues.find((r) => r.name === QUEUES.webhooksDead(p)), `${p} dead letters`).toBeTruthy();
    }

    // A job as the webhook route stores it (pipelined insert in the accept transaction)...
    const { row, secret } = await createTestIntegration(server.app, mockUrl, a.tenant.id, 'USER_SERVICE');
    const e = event('user.created');
    const accepted = await postWebhook(`${server.url}/webhooks/${row.id}`, secret, JSON.stringify(e), { msgId: e.id });
    expect(accepted.status).toBe(202);
    // ...and one enqueued inside a tenant transaction (what a replay does).
    const [enqueued] = await asIntegration(userSvcA, (tx) => server.app.jobs.enqueue(tx, QUEUES.webhooks('USER_SERVICE'), [{ tenantId: a.tenant.id, integrationId: userSvcA.id, eventId: crypto.randomUUID() }]));
    const jobs = await server.ownerSql<{ id: string; retry_limit: number; retry_delay: number; retry_backoff: boolean; expire_seconds: number; dead_letter: string | null }[]>`
      select id, retry_limit, retry_delay, retry_backoff, extract(epoch from expire_in)::int as expire_seconds, dead_letter
      from pgboss.job where id in ${server.ownerSql([accepted.body.id, enqueued!])} order by id = ${enqueued!}`;
    expect(jobs).toEqual([
      { id: accepted.body.id, ...expected, dead_letter: QUEUES.webhooksDead('USER_SERVICE') },
      { id: enqueued, ...expected, dead_letter: QUEUES.webhooksDead('USER_SERVICE') },
    ]);
  });

  it('a job enqueued in a transaction that rolls back does not exist; a committed one does', async () => {
    const queue = QUEUES.webhooks('USER_SERVICE');
    const marker = `rollback-${Date.now()}`;
    await expect(
      asIntegration(userSvcA, async (tx) => {
        await server.app.jobs.enqueue(tx, queue, [{ tenantId: userSvcA.tenantId, marker }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const none = await server.ownerSql`select id from pgboss.job where data->>'marker' = ${marker}`;
    expect(none).toHaveLength(0);
    const committed = `commit-${Date.now()}`;
    // Due in an hour, so the job stays put for inspection.
    const data = { tenantId: userSvcA.tenantId, integrationId: userSvcA.id, runId: crypto.randomUUID(), marker: committed };
    const [id] = await asIntegration(userSvcA, (tx) => server.app.jobs.enqueue(tx, QUEUES.sync, [data], { startAfterSeconds: 3600 }));
    const rows = await server.ownerSql`select id, state from pgboss.job where data->>'marker' = ${committed}`;
    expect(rows).toEqual([{ id, state: 'created' }]);
  });

  it('the app role may enqueue but not read, change or delete jobs', async () => {
    await expect(server.appSql`select data from pgboss.job limit 1`).rejects.toMatchObject({ code: '42501' });
    await expect(server.appSql`delete from pgboss.job`).rejects.toMatchObject({ code: '42501' });
    await expect(server.appSql`update pgboss.job set state = 'completed'`).rejects.toMatchObject({ code: '42501' });
  });
});
