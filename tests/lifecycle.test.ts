import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateEvent, signPayload } from '../src/mock-services/send-webhooks.js';
import { waitFor } from './helpers/wait.js';
import { freePorts, isAlive, listeningPorts, postmasterPid, processSandbox, waitUntilDead, type Ports, type ServerProcess } from './helpers/process.js';

/**
 * The server's lifecycle as an operator sees it: real processes (node, npm), real signals, the
 * embedded Postgres in a data folder of their own. The tests share one data folder and run in order:
 * each starts where the previous one left it.
 */
const sandbox = processSandbox('lifecycle');
const { dataDir } = sandbox;
let ports: Ports;
beforeAll(() => {
  ports = sandbox.ports;
});
const start = (extra: Record<string, string> = {}, command?: string[]) => sandbox.start({ SHUTDOWN_GRACE_MS: '15000', ...extra }, command);
const ownerUrl = () => `postgres://postgres:postgres@127.0.0.1:${ports.EMBEDDED_PG_PORT}/tessera`;

async function gql(url: string, query: string, token?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: unknown[] } };
}

describe('graceful shutdown', () => {
  let server: ServerProcess;
  let url: string;
  let token: string;
  let webhook: { url: string; secret: string };

  beforeAll(async () => {
    // The app pool holds one connection per request, so every request in flight is visibly waiting in Postgres.
    // A long statement timeout: on a loaded machine the first requests wait on the lock a while before the last arrive.
    // Long connect and acquire bounds too: opening 50 connections at once on a starved machine can take longer than
    // the 2 s default, and a connect timeout counts as an outage that fails every waiting request (503), so fewer
    // than all would ever wait on the lock.
    server = start({ DATABASE_POOL_SIZE: '80', STATEMENT_TIMEOUT_MS: '120000', DATABASE_CONNECT_TIMEOUT_MS: '30000', DATABASE_ACQUIRE_TIMEOUT_MS: '60000' });
    await server.waitFor(/"msg":"Tessera ready"/, 180_000);
    url = `http://127.0.0.1:${ports.PORT}`;
    const [, password] = /Demo login: .*password "([^"]+)"/.exec(server.output())!;
    const [, hookUrl, secret] = /Demo user service: \S+\/webhooks\/(\S+)\s+secret (\S+)/.exec(server.output())!;
    webhook = { url: `${url}/webhooks/${hookUrl}`, secret: secret! };
    const login = await gql(url, `mutation { login(input: { tenantSlug: "demo", email: "owner@demo.test", password: "${password}" }) { accessToken } }`);
    token = login.body.data.login.accessToken;
  }, 200_000);

  it('a second start on the data folder in use fails, naming the process that uses it', async () => {
    const second = start({ ...(await freePorts()), EMBEDDED_PG_PORT: String(Number(ports.EMBEDDED_PG_PORT)) });
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toContain(`is in use by process ${server.pid}`);
    expect(isAlive(postmasterPid(dataDir)!)).toBe(true); // the first one's Postgres is untouched
  }, 60_000);

  it('a worker (PROCESS_ROLE=worker, the same defaults) joins it and opens no listener', async () => {
    // Same PORT and MOCK_SERVICES_PORT as the running all-in-one process: any listener would fail with EADDRINUSE.
    const worker = start({ PROCESS_ROLE: 'worker' });
    await worker.waitFor(/"msg":"Tessera ready"/, 120_000);
    expect(listeningPorts(worker.pid)).toEqual([]);
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect(worker.output()).toContain('"msg":"stopped"');
    expect(worker.errorLines()).toEqual([]);
  }, 150_000);

  it('answers every request and webhook in flight at SIGTERM, stores every accepted delivery, and exits 0', async () => {
    const owner = postgres(ownerUrl(), { max: 2, onnotice: () => {} });
    const lock = await owner.reserve();
    const waiting = async () => Number((await owner`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and application_name <> 'tessera-startup'`)[0]!.n);
    let released = false;
    try {
      // Hold the tables the requests need, so all of them are in flight, each waiting in Postgres.
      await lock`begin`;
      await lock`lock table users, webhook_events in access exclusive mode`;

      const deliveries = Array.from({ length: 20 }, (_, i) => {
        const events = Array.from({ length: 5 }, () => generateEvent('user.created'));
        const msgId = `msg_lifecycle_${i}_${Date.now()}`;
        const body = JSON.stringify(events);
        return { msgId, body, headers: signPayload(webhook.secret, msgId, body) };
      });
      const webhookAnswers = deliveries.map((d) =>
        fetch(webhook.url, { method: 'POST', headers: d.headers, body: d.body }).then(
          async (r) => ({ msgId: d.msgId, status: r.status, body: await r.text() }),
          (err: Error) => ({ msgId: d.msgId, status: 0, body: String(err.cause ?? err) }),
        ),
      );
      const query = '{ users(first: 50) { totalCount edges { node { id email } } } }';
      const gqlAnswers = Array.from({ length: 50 }, () =>
        gql(url, query, token).then(
          (r) => r,
          (err: Error) => ({ status: 0, body: { errors: [String(err.cause ?? err)] } as { data?: any; errors?: unknown[] } }),
        ),
      );
      // Every GraphQL request and the integration's storing transactions wait on the lock.
      await waitFor(async () => (await waiting()) >= 51, { timeoutMs: 90_000, intervalMs: 100, message: 'every request and storing transaction to wait on the lock' });

      const sigterm = Date.now();
      server.child.kill('SIGTERM');
      // Ready no more, at once; nothing new is accepted.
      await server.waitFor(/"msg":"shutting down"/, 5000);
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0, // listener already closed: also "not ready"
      );
      expect([503, 0]).toContain(ready);

      await new Promise((r) => setTimeout(r, 300));
      await lock`commit`;
      released = true;

      const answered = await Promise.all(gqlAnswers);
      const hooks = await Promise.all(webhookAnswers);
      const { code, at } = await server.exited;
      const ms = at - sigterm;
      const stopped = server.logLines().find((l) => l.msg === 'stopped');
      console.log(`graceful shutdown: ${answered.filter((a) => a.status === 200).length}/50 GraphQL and ${hooks.filter((h) => h.status === 202).length}/20 webhooks answered 2xx, exit ${code} ${ms} ms after SIGTERM (lock held 300 ms of it); steps ${JSON.stringify(stopped?.steps)}`);

      expect(hooks.filter((h) => h.status !== 202)).toEqual([]);
      expect(answered.map((a) => a.status)).toEqual(Array(50).fill(200));
      for (const a of answered) expect(a.body.errors).toBeUndefined();
      expect(hooks.map((h) => h.status)).toEqual(Array(20).fill(202));
      expect(code).toBe(0);
      expect(server.output()).toMatch(/"msg":"stopped"/);
      expect(server.errorLines()).toEqual([]);
      expect(server.output()).not.toMatch(/"level":40,[^\n]*"msg":"job queue error"/);
      // Postgres stopped last, cleanly.
      expect(postmasterPid(dataDir)).toBeUndefined();
    } finally {
      if (!released) await lock`rollback`.catch(() => undefined);
      lock.release();
      await owner.end({ timeout: 1 }).catch(() => undefined);
    }
    // Every accepted delivery is stored: look with the next start.
    const next = start({ MOCK_SERVICES: 'false' });
    await next.waitFor(/"msg":"Tessera ready"/);
    const check = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
    try {
      const rows = await check<{ delivery_id: string; n: number }[]>`select delivery_id, count(*)::int as n from webhook_events where delivery_id like 'msg_lifecycle_%' group by delivery_id`;
      expect(rows).toHaveLength(20);
      for (const r of rows) expect(r.n).toBe(5);
    } finally {
      await check.end();
    }
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  }, 240_000);
});

describe('the embedded Postgres is never orphaned', () => {
  const ownerPid = () => Number(fs.readFileSync(path.join(dataDir, 'postgres.owner'), 'utf8'));

  it('SIGTERM to the `npm start` process stops node and Postgres', async () => {
    const npm = start({}, ['npm', 'start']);
    await npm.waitFor(/"msg":"Tessera ready"/);
    const node = ownerPid();
    const pg = postmasterPid(dataDir)!;
    expect(node).not.toBe(npm.pid);
    expect(isAlive(pg)).toBe(true);
    npm.child.kill('SIGTERM');
    await npm.exited;
    expect(await waitUntilDead(node)).toBe(true);
    expect(await waitUntilDead(pg)).toBe(true);
    expect(npm.output()).toMatch(/"reason":"SIGTERM"[^\n]*"msg":"stopped"/);
    expect(npm.errorLines()).toEqual([]);
  }, 180_000);

  it('a Postgres left running by a killed process is stopped and started again by the next start', async () => {
    const first = start();
    await first.waitFor(/"msg":"Tessera ready"/);
    const orphan = postmasterPid(dataDir)!;
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isAlive(orphan)).toBe(true); // Postgres outlives its owner

    const second = start();
    await second.waitFor(/"msg":"Tessera ready"/);
    expect(second.output()).toContain('left running');
    expect(isAlive(orphan)).toBe(false);
    expect(isAlive(postmasterPid(dataDir)!)).toBe(true);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(second.errorLines()).toEqual([]);
  }, 240_000);

  it('a start that fails after Postgres is up (HTTP port taken) stops it again and says why', async () => {
    const taken = net.createServer().listen(Number(ports.PORT), '127.0.0.1');
    try {
      const p = start();
      const { code } = await p.exited;
      expect(code).toBe(1);
      expect(p.output()).toContain('embedded Postgres started');
      expect(p.output()).toMatch(/Tessera could not start: .*EADDRINUSE/);
      expect(postmasterPid(dataDir)).toBeUndefined(); // stopped cleanly, pid file removed
      expect(fs.existsSync(path.join(dataDir, 'postgres.owner'))).toBe(false);
    } finally {
      taken.close();
    }
  }, 180_000);

  it("a Postgres that can't start shows Postgres' own error", async () => {
    const taken = net.createServer().listen(Number(ports.EMBEDDED_PG_PORT), '127.0.0.1');
    try {
      const p = start();
      const { code } = await p.exited;
      expect(code).toBe(1);
      expect(p.output()).toContain('could not bind IPv4 address "127.0.0.1": Address already in use');
      expect(p.output()).not.toMatch(/could not start: undefined/);
    } finally {
      taken.close();
    }
  }, 180_000);
});
