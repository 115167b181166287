/**
 * Faults seen from outside, on the database side: a backend terminated mid-transaction (as a
 * failover, a pooler or an operator does), and the database unreachable for a while. Each costs
 * only the transactions it touches (answered 503 within a bound), never the process, never a pool
 * slot or a webhook storing slot, and the process recovers by itself when Postgres is back.
 * Vitest fails the file on any uncaught exception or unhandled rejection, so "never the process"
 * is checked by every test here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isDatabaseUnavailable, fromDatabaseError } from '../src/errors.js';
import { actors, inTenant, inTenantOneTrip, type TenantActor } from '../src/db/tenant-transaction.js';
import { createAppDb, type AppDb } from '../src/db/client.js';
import { closeApp, createAppWhenReachable } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { ROLE_PASSWORDS_ENV } from './helpers/global-setup.js';
import { publish } from '../src/realtime/pubsub.js';
import { createTestIntegration } from './helpers/integrations.js';
import { startPgProxy, type PgProxy } from './helpers/pg-proxy.js';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';
import { event, postWebhook, storedEvent, waitForStatus } from './helpers/webhooks.js';

let server: TestServer;
let t: SeededTenant;
let settings: TenantActor;
const mockUrl = { url: 'http://127.0.0.1:9' };

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
  settings = actors.system('db-faults-test', t.tenant.id);
});
afterAll(async () => {
  await server?.close();
});

/** Terminates the app-role backend running a statement that matches `like`, once it shows up. */
async function terminateBackend(like: string, opts: { state?: string } = {}): Promise<number> {
  const pid = await waitFor(async () => {
    const rows = await server.ownerSql<{ pid: number }[]>`
      select pid from pg_stat_activity
      where application_name like 'tessera%' and query like ${like} and pid <> pg_backend_pid() and (${opts.state ?? null}::text is null or state = ${opts.state ?? null})`;
    return rows[0]?.pid;
  }, { timeoutMs: 15_000, message: `a backend running ${like}` });
  await server.ownerSql`select pg_terminate_backend(${pid})`;
  return pid;
}

async function elapsed<T>(p: Promise<T>): Promise<{ ms: number; error?: unknown; value?: T }> {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

/** The pool still serves: many short transactions of both kinds succeed. */
async function expectPoolHealthy() {
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, n) =>
      n % 2
        ? inTenantOneTrip(server.app.db, settings, [(raw) => raw`select ${n}::int as n`]).then(([rows]) => rows![0]!.n)
        : inTenant(server.app.db, settings, async (tx) => ((await tx.execute(sql`select ${n}::int as n`)) as unknown as { n: number }[])[0]!.n),
    ),
  );
  expect(results).toEqual(Array.from({ length: 30 }, (_, n) => n));
}

/** A terminated transaction fails well before its statement (30 s) or lock wait would end: bounds with room for a starved CI machine. */
const TERMINATED_MS = 10_000;

describe('a backend terminated mid-transaction', () => {
  it('fails that one pipelined transaction (one round trip) with a connection failure, at once; the pool stays healthy', async () => {
    for (let round = 0; round < 5; round++) {
      const tag = `slow_pipeline_${round}`;
      const run = elapsed(inTenantOneTrip(server.app.db, settings, [(raw) => raw.unsafe(`select pg_sleep(30) as ${tag}`)]));
      await terminateBackend(`%${tag}%`);
      const { ms, error } = await run;
      expect(error, 'the transaction must fail').toBeTruthy();
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(fromDatabaseError(error)?.code).toBe('SERVICE_UNAVAILABLE');
      expect(ms).toBeLessThan(TERMINATED_MS);
    }
    await expectPoolHealthy();
  }, 120_000);

  it('fails an inTenant transaction terminated while a statement runs, while idle in transaction, and inside a savepoint', async () => {
    const running = elapsed(inTenant(server.app.db, settings, (tx) => tx.execute(sql.raw('select pg_sleep(30) as slow_tx'))));
    await terminateBackend('%slow_tx%');
    expect(isDatabaseUnavailable((await running).error)).toBe(true);

    // Idle in transaction: the next statement must fail, not write to a closed socket.
    const idle = elapsed(
      inTenant(server.app.db, settings, async (tx) => {
        const [row] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as { pid: number }[];
        await server.ownerSql`select pg_terminate_backend(${row!.pid})`;
        await new Promise((r) => setTimeout(r, 200));
        await tx.execute(sql`select 1`);
      }),
    );
    expect(isDatabaseUnavailable((await idle).error)).toBe(true);

    // Idle, and the callback finishes normally: the COMMIT must fail, not crash.
    const commitAfter = elapsed(
      inTenant(server.app.db, settings, async (tx) => {
        const [row] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as { pid: number }[];
        await server.ownerSql`select pg_terminate_backend(${row!.pid})`;
        await new Promise((r) => setTimeout(r, 200));
        return 'done';
      }),
    );
    expect(isDatabaseUnavailable((await commitAfter).error)).toBe(true);

    const inSavepoint = elapsed(inTenant(server.app.db, settings, (tx) => tx.transaction((sp) => sp.execute(sql.raw('select pg_sleep(30) as slow_sp')))));
    await terminateBackend('%slow_sp%');
    const sp = await inSavepoint;
    expect(isDatabaseUnavailable(sp.error)).toBe(true);
    expect(sp.ms).toBeLessThan(TERMINATED_MS);
    await expectPoolHealthy();
  }, 120_000);

  it('over HTTP: a webhook delivery whose storing transaction is terminated gets 503 within a bound, again and again, and the integration keeps accepting', async () => {
    const { row, secret } = await createTestIntegration(server.app, mockUrl, t.tenant.id, 'USER_SERVICE');
    const url = `${server.url}/webhooks/${row.id}`;
    // More rounds than the integration has storing slots (8): a hang would wedge it.
    for (let round = 0; round < 10; round++) {
      const locker = await server.ownerSql.reserve();
      try {
        // Inserts into webhook_events wait behind this lock, so the storing transaction is slow.
        await locker`begin`;
        await locker`lock table webhook_events in share row exclusive mode`;
        const e = event('user.created');
        const delivery = elapsed(postWebhook(url, secret, JSON.stringify(e), { msgId: e.id }));
        await terminateBackend('%insert into webhook_events%', { state: 'active' });
        const { ms, value } = await delivery;
        expect(value!.status).toBe(503);
        expect(value!.body.error.code).toBe('SERVICE_UNAVAILABLE');
        expect(ms).toBeLessThan(TERMINATED_MS);
      } finally {
        await locker`rollback`;
        locker.release();
      }
    }
    const e = event('user.created');
    const ok = await postWebhook(url, secret, JSON.stringify(e), { msgId: e.id });
    expect(ok.status).toBe(202);
    await waitForStatus(server, ok.body.id, 'PROCESSED');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  }, 120_000);
});

/** An access token issued by that server (each test server has its own signing keys). */
async function loginOn(s: TestServer): Promise<string> {
  const res = await s.gql('mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }', {
    s: t.tenant.slug,
    e: t.owner.user.email,
    p: PASSWORD,
  });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data.login.accessToken;
}

/**
 * "Promptly" without a wall-clock bound that a loaded CI machine breaks: the servers below wait up to
 * HANG_MS for a connection to open or for a pooled connection, so a request that waited on either
 * (the defect: queueing behind connect attempts or an acquire timeout instead of failing at once)
 * takes at least HANG_MS. A prompt answer is one well inside it (PROMPT_MS, ×20 of what a quiet
 * machine shows and still half of HANG_MS); recovery, likewise, is bounded by what waiting out the
 * driver's own reconnect backoff (up to 20 s) would exceed.
 */
const HANG_MS = 20_000;
const PROMPT_MS = HANG_MS / 2;
const slowTimers = { DATABASE_CONNECT_TIMEOUT_MS: String(HANG_MS), DATABASE_ACQUIRE_TIMEOUT_MS: String(HANG_MS * 2) };

/**
 * A second process's services over the same database, every connection (app pool, rate-limit pool,
 * LISTEN, pg-boss) through a proxy the test can cut.
 */
async function serverBehindProxy(env: Record<string, string> = {}): Promise<{ proxy: PgProxy; other: TestServer }> {
  const proxy = await startPgProxy(server.databaseUrl.owner);
  const other = await startTestServer({
    database: new URL(server.databaseUrl.owner).pathname.slice(1),
    env: { DATABASE_URL: proxy.via(server.databaseUrl.owner), APP_DATABASE_URL: proxy.via(server.databaseUrl.app), ...slowTimers, ...env },
  });
  return { proxy, other };
}

describe('the database unreachable', () => {
  let proxy: PgProxy;
  let other: TestServer;

  beforeAll(async () => {
    ({ proxy, other } = await serverBehindProxy());
  });
  afterAll(async () => {
    await other?.close();
    await proxy?.close();
  });

  it('answers 503 promptly while it is down (GraphQL and webhooks), recovers at once when it is back, and LISTEN and the job workers reconnect', async () => {
    const { row, secret } = await createTestIntegration(server.app, mockUrl, t.tenant.id, 'USER_SERVICE');
    const hookUrl = `${other.url}/webhooks/${row.id}`;
    const token = await loginOn(other);
    const me = () => other.gql('{ me { id } }', {}, { token });
    expect((await me()).data?.me?.id).toBe(t.owner.user.id);
    const heard: string[] = [];
    other.app.pubsub.on((e) => e.topic === 'integration_health_changed' && heard.push(e.id));

    for (let outage = 0; outage < 2; outage++) {
      proxy.cut();
      // Requests started during the outage: every one answered 503 within a bound, none hangs.
      const during = await Promise.all(
        Array.from({ length: 12 }, async (_, n) => {
          if (n % 2) {
            const r = await elapsed(me());
            return { ms: r.ms, status: r.value?.status, code: r.value?.errors?.[0]?.extensions?.code };
          }
          const e = event('user.created');
          const r = await elapsed(postWebhook(hookUrl, secret, JSON.stringify(e), { msgId: e.id }));
          return { ms: r.ms, status: r.value?.status, code: r.value?.body?.error?.code, providerEventId: e.id };
        }),
      );
      for (const r of during) {
        expect(r.code).toBe('SERVICE_UNAVAILABLE');
        expect(r.status).toBe(503); // GraphQL too: nothing answered, so HTTP says so
        expect(r.ms).toBeLessThan(PROMPT_MS);
      }
      // Nothing answered 503 was stored.
      const ids = during.flatMap((r) => ('providerEventId' in r && r.providerEventId ? [r.providerEventId] : []));
      expect(await server.ownerSql`select 1 from webhook_events where provider_event_id in ${server.ownerSql(ids)}`).toHaveLength(0);
      expect((await fetch(`${other.url}/readyz`)).status).toBe(503);
      await new Promise((r) => setTimeout(r, 1500));
      await proxy.restore();
      // Back: the first requests succeed within a short time.
      const t0 = Date.now();
      await waitFor(async () => (await me()).data?.me?.id === t.owner.user.id, { timeoutMs: HANG_MS, message: 'GraphQL to answer again' });
      expect(Date.now() - t0).toBeLessThan(PROMPT_MS);
      const e = event('user.created');
      const accepted = await waitFor(async () => {
        const r = await postWebhook(hookUrl, secret, JSON.stringify(e), { msgId: e.id });
        return r.status === 202 ? r : undefined;
      }, { timeoutMs: HANG_MS, message: 'webhooks to be accepted again' });
      // The job workers reconnected too: the event gets processed (by either process's workers).
      await waitForStatus(other, accepted.body.id, 'PROCESSED');
      expect(await storedEvent(server, accepted.body.id)).toBeTruthy();
      // LISTEN is back: a notification sent through the other process reaches this one.
      const id = `heard-${outage}`;
      await waitFor(async () => {
        await inTenant(server.app.db, settings, (tx) =>
          publish(tx, { topic: 'integration_health_changed', tenantId: t.tenant.id, integrationId: row.id, id, status: 'HEALTHY', previousStatus: null, reason: null, changedAt: new Date().toISOString() }),
        );
        return heard.includes(id);
      }, { timeoutMs: HANG_MS, message: 'LISTEN to be back' });
      expect((await fetch(`${other.url}/readyz`)).status).toBe(200);
    }
  });

  it('the first requests long after an outage succeed (no dead pooled connections)', async () => {
    await proxy.restore();
    const token = await loginOn(other);
    proxy.cut();
    await new Promise((r) => setTimeout(r, 500));
    await proxy.restore();
    await new Promise((r) => setTimeout(r, 2500));
    const results = await Promise.all(Array.from({ length: 20 }, () => other.gql('{ me { id } }', {}, { token })));
    expect(results.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK')).toEqual(Array(20).fill('OK'));
  });
});

describe('the database refusing connections (stopped, nothing listening)', () => {
  let proxy: PgProxy;
  let other: TestServer;

  beforeAll(async () => {
    ({ proxy, other } = await serverBehindProxy({ DATABASE_POOL_SIZE: '3' }));
  });
  afterAll(async () => {
    await other?.close();
    await proxy?.close();
  });

  it('for longer than the pool has connections: 503 at once meanwhile, and the pool works again as soon as it listens', async () => {
    const token = await loginOn(other);
    const me = () => other.gql('{ me { id } }', {}, { token });
    proxy.cut({ refuse: true });
    // Every connection of the pool (3) tries and fails to open several times over (requests and the background probe).
    for (let i = 0; i < 8; i++) {
      const r = await elapsed(me());
      expect(r.value?.status).toBe(503);
      expect(r.ms).toBeLessThan(PROMPT_MS);
      await new Promise((res) => setTimeout(res, 300));
    }
    await proxy.restore();
    // A refused connect used to leave its connection "connecting" for good: once all were, nothing ran again.
    const t0 = Date.now();
    await waitFor(async () => (await me()).data?.me?.id === t.owner.user.id, { timeoutMs: HANG_MS, message: 'GraphQL to answer again' });
    expect(Date.now() - t0).toBeLessThan(PROMPT_MS);
    expect((await Promise.all(Array.from({ length: 10 }, () => me()))).map((r) => r.status)).toEqual(Array(10).fill(200));
  });
});

describe('a kept webhook integration while the database refuses connections', () => {
  it('renewals that fail answer nothing of their own and poison nothing: 503 meanwhile, accepted again at once when it is back, before and after the keep expires', async () => {
    // Integrations kept 3 s: a delivery from 1.5 s on renews the kept copy behind itself.
    const { proxy, other } = await serverBehindProxy({ WEBHOOK_INTEGRATION_CACHE_SECONDS: '3' });
    try {
      // A tenant of its own: the users these deliveries create stay out of the shared tenant's lists.
      const own = await server.seed.tenant();
      const { row, secret } = await createTestIntegration(server.app, mockUrl, own.tenant.id, 'USER_SERVICE');
      const url = `${other.url}/webhooks/${row.id}`;
      const deliver = async () => {
        const e = event('user.created');
        const r = await elapsed(postWebhook(url, secret, JSON.stringify(e), { msgId: e.id }));
        return { status: r.value?.status, ms: r.ms, providerEventId: e.id };
      };
      expect((await deliver()).status).toBe(202); // looked up and kept
      await new Promise((r) => setTimeout(r, 1600)); // past half the keep: every delivery now starts a renewal (shared)
      proxy.cut({ refuse: true });
      const during = await Promise.all(Array.from({ length: 10 }, deliver));
      for (const r of during) {
        expect(r.status).toBe(503);
        expect(r.ms).toBeLessThan(PROMPT_MS);
      }
      expect(await server.ownerSql`select 1 from webhook_events where provider_event_id in ${server.ownerSql(during.map((r) => r.providerEventId))}`).toHaveLength(0);
      await proxy.restore();
      // Back within the keep: accepted at once, from the kept copy.
      const t0 = Date.now();
      await waitFor(async () => (await deliver()).status === 202, { timeoutMs: HANG_MS, message: 'webhooks to be accepted again' });
      expect(Date.now() - t0).toBeLessThan(PROMPT_MS);
      // Down again until the kept copy has expired: a lookup of its own for each delivery, refused 503, nothing stored.
      proxy.cut({ refuse: true });
      await new Promise((r) => setTimeout(r, 3100));
      const expired = await Promise.all(Array.from({ length: 5 }, deliver));
      expect(expired.map((r) => r.status)).toEqual(Array(5).fill(503));
      await proxy.restore();
      // Back: accepted at once again (a failed lookup leaves no answer behind for later ones to join).
      const t1 = Date.now();
      await waitFor(async () => (await deliver()).status === 202, { timeoutMs: HANG_MS, message: 'webhooks to be accepted after the keep expired' });
      expect(Date.now() - t1).toBeLessThan(PROMPT_MS);
      expect(await server.ownerSql`select 1 from webhook_events where provider_event_id in ${server.ownerSql(expired.map((r) => r.providerEventId))}`).toHaveLength(0);
    } finally {
      await other.close();
      await proxy.close();
    }
  });
});

describe('the database lost during start-up', () => {
  it('a process whose start-up loses the database closes what it started, waits for it, and starts (no exit)', async () => {
    const proxy = await startPgProxy(server.databaseUrl.owner);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-start-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: proxy.via(server.databaseUrl.owner),
      ...ROLE_PASSWORDS_ENV,
      DATA_DIR: dataDir,
      PLATFORM_OPERATOR_PASSWORD: 'operator-password-start',
      INTEGRATION_ENCRYPTION_KEY: Buffer.alloc(32, 'tessera-test-key').toString('base64'),
      HEALTH_CHECK_CRON: 'off',
      SYNC_INCREMENTAL_CRON: 'off',
      SYNC_FULL_CRON: 'off',
      MIGRATIONS_WAIT_SECONDS: '1', // bounds the wait for the migrate step only, not an outage
    });
    const warnings: string[] = [];
    const log = createLogger('silent');
    log.warn = ((obj: unknown, msg?: string) => void warnings.push(typeof obj === 'string' ? obj : (msg ?? ''))) as typeof log.warn;
    proxy.cut({ refuse: true });
    let settled = false;
    const starting = createAppWhenReachable(config, proxy.via(server.databaseUrl.app), log).finally(() => (settled = true));
    try {
      // It got as far as needing the database, failed, and waits (longer than MIGRATIONS_WAIT_SECONDS).
      await waitFor(() => warnings.includes('the database went away during start-up; starting again once it is back'), { timeoutMs: 30_000, message: 'the failed start to be noticed' });
      await new Promise((r) => setTimeout(r, 3000));
      expect(settled).toBe(false);
      await proxy.restore();
      const app = await starting;
      try {
        const [row] = (await app.db.execute(sql`select current_user as u`)) as unknown as { u: string }[];
        expect(row!.u).toBe('tessera_app');
        await app.jobs.ping();
      } finally {
        await closeApp(app);
      }
    } finally {
      await proxy.restore();
      await starting.catch(() => undefined);
      await proxy.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a connection lost while the driver still sets it up (its array-types query, before the first statement)', () => {
  /** What Postgres sends a session that pg_terminate_backend ends, before it closes the socket. */
  function terminatedByAdministrator(): Buffer {
    const fields = Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0', 'latin1');
    const head = Buffer.alloc(5);
    head.write('E', 0, 'latin1');
    head.writeUInt32BE(fields.length + 4, 1);
    return Buffer.concat([head, fields]);
  }
  const losses: [string, (client: Socket) => void][] = [
    ['closed', (client) => client.destroy()],
    ['terminated by the server (FATAL 57P01, then closed)', (client) => client.end(terminatedByAdministrator())],
  ];

  /** A fresh pool's first use: each waits on the connection being set up in its own way. */
  const firstUses: [string, (db: AppDb) => Promise<unknown>][] = [
    ['a statement (the connection\'s first statement)', async (db) => ((await db.execute(sql`select 41 + 1 as n`)) as unknown as { n: number }[])[0]!.n],
    ['a transaction (its BEGIN the first statement)', async (db) => ((await inTenant(db, settings, (tx) => tx.execute(sql`select 42 as n`))) as unknown as { n: number }[])[0]!.n],
    ['a one-trip transaction (it reserves the connection: nobody waits on the types query)', async (db) => (await inTenantOneTrip(db, settings, [(raw) => raw`select 42 as n`]))[0]![0]!.n],
  ];

  it.each(losses)('%s: each first use runs on the next connection, arrays still work, and nothing escapes as an unhandled rejection', async (_, lose) => {
    let armed = false;
    let lost = 0;
    const proxy = await startPgProxy(server.databaseUrl.app, {
      onClientData: (chunk, client) => {
        if (armed && chunk.toString('latin1').includes('select b.oid, b.typarray')) {
          armed = false; // the next connection is set up undisturbed
          lost++;
          lose(client);
        }
      },
    });
    const escaped: unknown[] = [];
    const onRejection = (reason: unknown) => void escaped.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      for (const [what, use] of firstUses) {
        const db = createAppDb({ url: proxy.via(server.databaseUrl.app), max: 1, statementTimeoutMs: 10_000, applicationName: 'tessera-types-test' });
        try {
          armed = true;
          expect(await use(db), what).toBe(42);
          expect(armed, what).toBe(false);
          // Arrays go both ways: the types the lost query was fetching arrived on the next connection.
          const [arrays] = (await db.execute(sql`select ${sql.param(['a', 'b'])}::text[] as xs`)) as unknown as { xs: string[] }[];
          expect(arrays!.xs, what).toEqual(['a', 'b']);
        } finally {
          await db.$client.end({ timeout: 2 });
        }
      }
      expect(lost).toBe(firstUses.length);
      await new Promise((r) => setTimeout(r, 50)); // an unhandled rejection is reported after the turn it happened in
      expect(escaped).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await proxy.close();
    }
  });
  it('a reservation waiting for the only connection gets it back when that connection is lost and reopened (it is not handed to nobody)', async () => {
    const db = createAppDb({ url: server.databaseUrl.app, max: 1, statementTimeoutMs: 10_000, applicationName: 'tessera-types-test', acquireTimeoutMs: 8_000 });
    try {
      const busy = db.execute(sql`select pg_sleep(5)`).catch((err: unknown) => err);
      const pid = await waitFor(async () => (await server.ownerSql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = 'tessera-types-test' and query like '%pg_sleep%'`)[0]?.pid, { message: 'the sleeping backend' });
      const waiting = elapsed(inTenantOneTrip(db, settings, [(raw) => raw`select 42 as n`]));
      await new Promise((r) => setTimeout(r, 100)); // queued behind the sleeping statement
      await server.ownerSql`select pg_terminate_backend(${pid})`;
      expect(isDatabaseUnavailable(await busy)).toBe(true);
      const { ms, value, error } = await waiting;
      expect(error).toBeUndefined();
      expect(value![0]![0]!.n).toBe(42);
      expect(ms).toBeLessThan(4_000); // not the acquire timeout (8 s)
    } finally {
      await db.$client.end({ timeout: 2 });
    }
  });
});

describe('connection failures are 503, not 500', () => {
  it.each(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '08006', '08001', '08003'])('%s', (code) => {
    const err = Object.assign(new Error(`write ${code}`), { code });
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: err }))).toBe(true);
    expect(fromDatabaseError(err)?.code).toBe('SERVICE_UNAVAILABLE');
  });
  it('a constraint violation is not one', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('dup'), { code: '23505', severity: 'ERROR' }))).toBe(false);
  });
});

describe('round trips of a transaction (the vendored driver pipelines BEGIN)', () => {
  it('BEGIN leaves in the same write as the first statement; the transaction still works and rolls back as one', async () => {
    const writes: string[] = [];
    const proxy = await startPgProxy(server.databaseUrl.app, { onClientData: (chunk) => void writes.push(chunk.toString('latin1')) });
    const db = createAppDb({ url: proxy.via(server.databaseUrl.app), max: 1, statementTimeoutMs: 10_000, applicationName: 'tessera-pipelining-test' });
    try {
      const tenantOf = (tx: Parameters<Parameters<typeof inTenant>[2]>[0]) => tx.execute(sql`select current_setting('app.tenant_id') as t`);
      await inTenant(db, settings, tenantOf); // prepares app_begin and the select on the connection
      writes.length = 0;
      const rows = (await inTenant(db, settings, tenantOf)) as unknown as { t: string }[];
      expect(rows[0]?.t).toBe(t.tenant.id);
      // BEGIN and app_begin's Bind (carrying the tenant id) in one write, then the select, then COMMIT
      // (a prepared statement by now, so its text is not in the write): three writes, not four.
      const first = writes.findIndex((w) => /begin/i.test(w));
      expect(first).toBe(0);
      expect(writes[0]).toContain(t.tenant.id);
      expect(writes).toHaveLength(3);
      // A failing statement still undoes the whole transaction (BEGIN was in effect).
      const marker = `pipelined-${Date.now()}`;
      await expect(
        inTenant(db, settings, async (tx) => {
          await tx.execute(sql`insert into organizations (tenant_id, name) values (${t.tenant.id}, ${marker})`);
          await tx.execute(sql`select 1/0`);
        }),
      ).rejects.toThrow();
      const kept = await server.ownerSql`select 1 from organizations where name = ${marker}`;
      expect(kept).toHaveLength(0);
    } finally {
      await db.$client.end({ timeout: 2 });
      await proxy.close();
    }
  });

  it('a GraphQL query costs one round trip: BEGIN, app_begin, the root field\'s read and its organizations in one write, COMMIT after the answer; only what the caller may read goes ahead, and a refused field shows only its rule\'s error', async () => {
    const writes: string[] = [];
    const proxy = await startPgProxy(server.databaseUrl.app, { onClientData: (chunk) => void writes.push(chunk.toString('latin1')) });
    // One pooled connection, so the warm-up prepares every statement where the counted request runs.
    const other = await startTestServer({ database: new URL(server.databaseUrl.owner).pathname.slice(1), env: { APP_DATABASE_URL: proxy.via(server.databaseUrl.app), DATABASE_POOL_SIZE: '1' } });
    try {
      const member = await t.user('MEMBER');
      await t.organization(undefined, [{ user: member.user }]);
      const loginAs = async (email: string) =>
        (await other.gql('mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }', { s: t.tenant.slug, e: email, p: PASSWORD })).data.login
          .accessToken as string;
      const token = await loginAs(member.user.email);
      const writesOf = async (query: string, variables: Record<string, unknown> = {}) => {
        for (let i = 0; i < 2; i++) expect((await other.gql(query, variables, { token })).errors).toBeUndefined(); // prepares
        await vi.waitFor(() => expect(writes.at(-1)).toMatch(/commit/i)); // the last one's COMMIT, sent after its answer
        writes.length = 0;
        const res = await other.gql(query, variables, { token });
        expect(res.errors).toBeUndefined();
        expect(writes[0]).toMatch(/begin/i);
        // A query changed nothing: its COMMIT leaves as the answer does, and nobody waits for it.
        await vi.waitFor(() => expect(writes.some((w) => /commit/i.test(w))).toBe(true));
        return { res, writes: writes.length };
      };
      const list = await writesOf('{ users(first: 5) { edges { node { id email organizations { name } } } } }');
      expect(list.res.data.users.edges.some((e: { node: { organizations: unknown[] } }) => e.node.organizations.length > 0)).toBe(true);
      expect(list.writes).toBe(2);
      // What was read with the page is each user's organizations, none included (the database's answer).
      for (const { node } of list.res.data.users.edges as { node: { id: string; organizations: { name: string }[] } }[]) {
        const names = await server.ownerSql<{ name: string }[]>`select o.name from organization_memberships m join organizations o on o.id = m.organization_id where m.user_id = ${node.id} order by o.name`;
        expect(node.organizations.map((o) => o.name)).toEqual(names.map((r) => r.name));
      }
      expect(list.res.data.users.edges.some((e: { node: { organizations: unknown[] } }) => e.node.organizations.length === 0)).toBe(true);
      const throughFragments = await writesOf('{ users(first: 5) { ...Page } } fragment Page on UserConnection { edges { ... on UserEdge { node { id organizations { name } } } } }');
      expect(throughFragments.res.data).toEqual(list.res.data && { users: { edges: list.res.data.users.edges.map((e: { node: { id: string; organizations: unknown } }) => ({ node: { id: e.node.id, organizations: e.node.organizations } })) } });
      expect(throughFragments.writes).toBe(2);
      const single = await writesOf('query($id: UUID!) { user(id: $id) { id organizations { name } } }', { id: member.user.id });
      expect(single.res.data.user.organizations).toHaveLength(1);
      expect(single.writes).toBe(2);
      // Through a fragment, and a user nobody can see: the organizations read ahead find none.
      const fragment = await writesOf('query($id: UUID!) { user(id: $id) { ...U } } fragment U on User { id organizations { name } }', { id: crypto.randomUUID() });
      expect(fragment.res.data.user).toBeNull();
      expect(fragment.writes).toBe(2);

      // A MEMBER may read themself but not an integration (ADMIN): only what any user may read goes
      // ahead (BEGIN, app_begin, the user, COMMIT), and the refused field shows only its rule's error.
      const { row: integration } = await createTestIntegration(server.app, mockUrl, t.tenant.id, 'USER_SERVICE');
      const mixedQuery = 'query($id: UUID!) { me { id } integration(id: $id) { id name } }';
      await other.gql(mixedQuery, { id: integration.id }, { token });
      const beforeMixed = other.queryCount();
      const mixed = await other.gql(mixedQuery, { id: integration.id }, { token });
      expect(other.queryCount() - beforeMixed).toBe(4);
      expect(mixed.data?.me?.id).toBe(member.user.id);
      expect(mixed.data?.integration).toBeNull();
      expect(mixed.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([['integration', 'FORBIDDEN']]);
      expect(JSON.stringify(mixed)).not.toContain(integration.name);
      // A made-up API key for a real tenant is checked by app_begin alone: nothing is read ahead for it.
      const forged = `tsk_${crypto.randomBytes(16).toString('hex')}${t.tenant.id.replace(/-/g, '')}${crypto.randomBytes(32).toString('base64url').slice(0, 43)}`;
      const before = other.queryCount();
      const refused = await other.gql('{ users(first: 5) { edges { node { id } } } }', {}, { token: forged });
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(other.queryCount() - before).toBe(3); // BEGIN, app_begin, ROLLBACK
      // A deactivated user's live token reads nothing, though the reads went ahead of the check.
      await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { id } }', { id: member.user.id }, { token: t.owner.token });
      const after = await other.gql('{ users(first: 5) { edges { node { id } } } }', {}, { token });
      expect(after.data?.users ?? null).toBeNull();
      expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // A suspended tenant's live token: the page was read ahead, the answer holds none of it.
      const suspended = await server.seed.tenant();
      const ownerToken = (
        await other.gql('mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }', { s: suspended.tenant.slug, e: suspended.owner.user.email, p: PASSWORD })
      ).data.login.accessToken as string;
      await server.ownerSql`update tenants set status = 'SUSPENDED' where id = ${suspended.tenant.id}`;
      const refusedTenant = await other.gql('{ users(first: 5) { edges { node { id email } } } }', {}, { token: ownerToken });
      expect(refusedTenant.data?.users ?? null).toBeNull();
      expect(refusedTenant.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'TENANT_SUSPENDED' });
      expect(JSON.stringify(refusedTenant)).not.toContain(suspended.owner.user.email);
    } finally {
      await other.close();
      await proxy.close();
    }
  });

  it('a mutation answers once its COMMIT is answered (a connection lost at COMMIT: 503, nothing changed); a query answers without waiting for its COMMIT', async () => {
    let commitStatement: string | undefined; // the name postgres.js prepared COMMIT under, once it has
    let cutAt: RegExp | undefined;
    const proxy: PgProxy = await startPgProxy(server.databaseUrl.app, {
      onClientData: (chunk) => {
        const text = chunk.toString('latin1');
        commitStatement ??= /P[\s\S]{4}([^\0]+)\0commit\0/.exec(text)?.[1];
        // Runs before the proxy forwards the chunk: what it carries never reaches Postgres.
        if (cutAt?.test(text)) {
          cutAt = undefined;
          proxy.cut();
        }
      },
    });
    const other = await startTestServer({ database: new URL(server.databaseUrl.owner).pathname.slice(1), env: { APP_DATABASE_URL: proxy.via(server.databaseUrl.app), DATABASE_POOL_SIZE: '1' } });
    try {
      const member = await t.user('MEMBER');
      const token = (
        await other.gql('mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }', { s: t.tenant.slug, e: member.user.email, p: PASSWORD })
      ).data.login.accessToken as string;
      const rename = (name: string) => other.gql('mutation($id: UUID!, $n: String!) { updateUser(id: $id, input: { name: $n }) { name } }', { id: member.user.id, n: name }, { token });
      expect((await rename('Before')).data.updateUser.name).toBe('Before');
      expect(commitStatement).toBeDefined();

      cutAt = new RegExp(`\0${commitStatement}\0`);
      const lost = await rename('Lost at COMMIT');
      await proxy.restore();
      expect(lost.status).toBe(503);
      expect(lost.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      const [row] = await server.ownerSql<{ name: string }[]>`select name from users where id = ${member.user.id}`;
      expect(row!.name).toBe('Before');

      cutAt = /^Q[\s\S]{4}commit\0/; // a query's COMMIT (sent as it answers)
      const read = await other.gql('query($id: UUID!) { user(id: $id) { name } }', { id: member.user.id }, { token });
      expect(read.status).toBe(200);
      expect(read.data.user.name).toBe('Before');
      await vi.waitFor(() => expect(cutAt).toBeUndefined()); // the COMMIT left, and the connection with it
      await proxy.restore();
      expect((await rename('After')).data.updateUser.name).toBe('After');
    } finally {
      await other.close();
      await proxy.close();
    }
  });

  it('a connection released at COMMIT carries the next operations behind it: on one pooled connection, two tenants\' concurrent queries and mutations each see and change only their own', async () => {
    const other = await startTestServer({ database: new URL(server.databaseUrl.owner).pathname.slice(1), env: { DATABASE_POOL_SIZE: '1' } });
    try {
      const tenants = [t, await server.seed.tenant()];
      const tokens = await Promise.all(
        tenants.map(async (x) => (await other.gql('mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }', { s: x.tenant.slug, e: x.owner.user.email, p: PASSWORD })).data.login.accessToken as string),
      );
      const list = '{ users(first: 50) { edges { node { id email organizations { name } } } } }';
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const k = i % 2;
          // Every fifth a mutation (it waits for its COMMIT), the rest queries (they don't).
          return i % 5 === 4
            ? other.gql('mutation($id: UUID!, $n: String!) { updateUser(id: $id, input: { name: $n }) { id name } }', { id: tenants[k]!.owner.user.id, n: `Owner ${i}` }, { token: tokens[k] }).then((res) => ({ k, res }))
            : other.gql(list, {}, { token: tokens[k] }).then((res) => ({ k, res }));
        }),
      );
      const emailsOf = await Promise.all(tenants.map(async (x) => new Set((await server.ownerSql<{ email: string }[]>`select email from users where tenant_id = ${x.tenant.id}`).map((r) => r.email))));
      for (const { k, res } of answers) {
        expect(res.errors).toBeUndefined();
        const emails: string[] = res.data.users ? res.data.users.edges.map((e: { node: { email: string } }) => e.node.email) : [];
        expect(emails.filter((e) => !emailsOf[k]!.has(e))).toEqual([]);
        if (res.data.users) expect(emails).toContain(tenants[k]!.owner.user.email);
        if (res.data.updateUser) expect(res.data.updateUser.id).toBe(tenants[k]!.owner.user.id);
      }
      // Each tenant's owner got one of its own names, and the other tenant's never touched it.
      for (const [k, x] of tenants.entries()) {
        const [row] = await server.ownerSql<{ name: string }[]>`select name from users where id = ${x.owner.user.id}`;
        const mine = answers.filter((a) => a.k === k && a.res.data.updateUser).map((a) => a.res.data.updateUser.name as string);
        expect(mine).toContain(row!.name);
      }
    } finally {
      await other.close();
    }
  });
});
