import crypto from 'node:crypto';
import postgres from 'postgres';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateEvent } from '../src/mock-services/send-webhooks.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { ROLE_PASSWORDS_ENV, withDatabase } from './helpers/global-setup.js';
import { freePorts, processSandbox, runtimeProcessEnv, type ServerProcess } from './helpers/process.js';
import { postWebhook } from './helpers/webhooks.js';
import { waitFor } from './helpers/wait.js';
import { connectWs, subscribe } from './helpers/ws.js';

/**
 * The deployment's topology (compose.yaml) as OS processes on one Postgres: the migrate step
 * (`npm run db:migrate`, the only one with the owner's credentials), two API processes
 * (PROCESS_ROLE=api) and one worker (PROCESS_ROLE=worker), configured as production is. What a
 * load balancer spreading clients over the two APIs needs: sessions, webhooks, subscriptions and
 * rate limits work across processes, and a worker killed mid-queue loses nothing.
 */
const sandbox = processSandbox('topology');
const base = inject('ownerBaseUrl');
const database = `tessera_test_topology_${crypto.randomBytes(4).toString('hex')}`;
const ownerUrl = withDatabase(base, database);
const LOGIN_MAX = 4;
const OWNER = { email: 'owner@topology.test', password: 'topology-owner-password' };

let owner: postgres.Sql;
let mock: MockServices;
let api: [Api, Api];
let worker: ServerProcess;
let token: string;
const clients: Client[] = [];

interface Api {
  process: ServerProcess;
  url: string;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; data?: any; errors?: { message: string; extensions?: { code?: string } }[] }>;
}

/** What every run-time process gets (no owner credentials; see runtimeProcessEnv), tuned for this test. */
const runtimeEnv = {
  ...runtimeProcessEnv(ownerUrl, 'topology'),
  RATE_LIMIT_LOGIN_MAX: String(LOGIN_MAX),
  // A job held by a killed worker comes back after expiry + maintenance: seconds, not minutes.
  WEBHOOK_JOB_EXPIRE_SECONDS: '5',
  JOB_MAINTENANCE_INTERVAL_SECONDS: '2',
  MIGRATIONS_WAIT_SECONDS: '300',
};

async function startApi(): Promise<Api> {
  const { PORT } = await freePorts();
  const p = sandbox.start({ ...runtimeEnv, PROCESS_ROLE: 'api', PORT });
  const url = `http://127.0.0.1:${PORT}`;
  return {
    process: p,
    url,
    async gql(query, variables = {}, bearer) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, ...((await res.json()) as object) };
    },
  };
}
const startWorker = () => sandbox.start({ ...runtimeEnv, PROCESS_ROLE: 'worker' });

const LOGIN = `mutation($e: EmailAddress!, $p: String!) { login(input: { tenantSlug: "topology", email: $e, password: $p }) { accessToken refreshToken } }`;

beforeAll(async () => {
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  owner = postgres(ownerUrl, { max: 2, onnotice: () => {} });
  mock = await startMockServices({ port: 0 });

  // The run-time processes start first and wait for the migrate step, as in a deploy.
  api = [await startApi(), await startApi()];
  worker = startWorker();
  const migrate = sandbox.start({ NODE_ENV: 'production', DATABASE_URL: ownerUrl, ...ROLE_PASSWORDS_ENV }, ['npm', 'run', 'db:migrate']);
  expect((await migrate.exited).code, migrate.output()).toBe(0);
  await Promise.all([...api.map((a) => a.process.waitFor(/"msg":"Tessera ready"/, 240_000)), worker.waitFor(/"msg":"Tessera ready"/, 240_000)]);

  const operator = await api[0].gql(`mutation($p: String!) { platformLogin(email: "operator@tessera.local", password: $p) { accessToken } }`, { p: runtimeEnv.PLATFORM_OPERATOR_PASSWORD });
  const created = await api[1].gql(
    `mutation($e: EmailAddress!, $p: String!) { createTenant(input: { slug: "topology", name: "Topology", plan: ENTERPRISE, ownerEmail: $e, ownerName: "Olive", ownerPassword: $p }) { id } }`,
    { e: OWNER.email, p: OWNER.password },
    operator.data.platformLogin.accessToken,
  );
  expect(created.errors).toBeUndefined();
  token = (await api[0].gql(LOGIN, { e: OWNER.email, p: OWNER.password })).data.login.accessToken;
}, 300_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  // A clean stop of every process, then nothing at error level in any log.
  for (const p of sandbox.running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await Promise.all(sandbox.running.map((p) => p.exited));
  await mock?.close();
  await owner?.end();
});

async function createIntegration(on: Api) {
  const res = await on.gql(
    `mutation($url: String!) { createIntegration(input: { provider: USER_SERVICE, name: "Users ${Math.random().toString(36).slice(2, 8)}", baseUrl: $url, apiKey: "topology-key" }) { webhookSecret integration { id } } }`,
    { url: `${mock.url}/user-service` },
    token,
  );
  expect(res.errors).toBeUndefined();
  return { id: res.data.createIntegration.integration.id as string, secret: res.data.createIntegration.webhookSecret as string };
}

const eventStatuses = async (ids: string[]) =>
  owner<{ status: string; n: number }[]>`select status, count(*)::int as n from webhook_events where provider_event_id in ${owner(ids)} group by status`;

describe('two API processes and a worker on one database', () => {
  it('only the migrate step had owner credentials; the API and worker processes run as the path roles', async () => {
    const roles = await owner<{ usename: string }[]>`select distinct usename from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
    expect(roles.map((r) => r.usename).sort()).toEqual(expect.arrayContaining(['tessera_app', 'tessera_queue']));
    expect(roles.map((r) => r.usename)).not.toContain('postgres');
  });

  it('a session opened on one API is refreshed on the other, and a replayed refresh token is refused on either', async () => {
    const login = await api[0].gql(LOGIN, { e: OWNER.email, p: OWNER.password });
    const { refreshToken } = login.data.login;
    const refreshed = await api[1].gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }`, { t: refreshToken });
    expect(refreshed.errors).toBeUndefined();
    const me = await api[0].gql(`{ me { email role } }`, {}, refreshed.data.refreshSession.accessToken);
    expect(me.data.me).toEqual({ email: OWNER.email, role: 'OWNER' });
    // The first token is spent on API 2: API 1 sees that too (reuse ends the session family).
    const replay = await api[0].gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, { t: refreshToken });
    expect(replay.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const after = await api[1].gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, { t: refreshed.data.refreshSession.refreshToken });
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a webhook accepted by one API is applied by the worker and visible through the other', async () => {
    const hook = await createIntegration(api[1]);
    const e = generateEvent('user.created');
    const res = await postWebhook(`${api[0].url}/webhooks/${hook.id}`, hook.secret, JSON.stringify(e), { msgId: e.id });
    expect(res.status).toBe(202);
    await waitFor(async () => (await eventStatuses([e.id]))[0]?.status === 'PROCESSED', { timeoutMs: 30_000, message: 'the worker to process the event' });
    const users = await api[1].gql(`query($s: String!) { users(first: 5, filter: { search: $s }) { edges { node { email } } } }`, { s: e.data.email }, token);
    expect(users.data.users.edges.map((x: { node: { email: string } }) => x.node.email)).toEqual([e.data.email]);
  }, 90_000);

  it('a subscriber on one API sees a health change caused through the other', async () => {
    const hook = await createIntegration(api[0]);
    const client = connectWs(api[0].url, token);
    clients.push(client);
    const sub = subscribe(client, `subscription($id: UUID) { integrationHealthChanged(integrationId: $id) { integrationId status previousStatus } }`, { id: hook.id });
    // No acknowledgement tells when the subscription listens: isolate (→ DOWN), and reset and again if it was too early.
    let seen: { status: string } | undefined;
    for (let attempt = 0; attempt < 5 && !seen; attempt++) {
      const isolated = await api[1].gql(`mutation($id: UUID!) { isolateIntegrationCircuit(integrationId: $id, reason: "maintenance") { state } }`, { id: hook.id }, token);
      expect(isolated.data.isolateIntegrationCircuit.state).toBe('ISOLATED');
      seen = await sub.waitFor((ev) => ev.status === 'DOWN', 3000).catch(() => undefined);
      if (!seen) await api[1].gql(`mutation($id: UUID!) { resetIntegrationCircuit(integrationId: $id) { state } }`, { id: hook.id }, token);
    }
    expect(seen).toMatchObject({ integrationId: hook.id, status: 'DOWN' });
    expect(sub.errors).toEqual([]);
  });

  it('a rate limit is shared: attempts on either API count against one budget', async () => {
    const attempt = (on: Api) => on.gql(LOGIN, { e: 'nobody@topology.test', p: 'wrong-password-0' });
    const answers = [];
    for (let i = 0; i < LOGIN_MAX; i++) answers.push(await attempt(api[i % 2]!));
    expect(answers.map((a) => a.errors?.[0]?.extensions?.code)).toEqual(Array(LOGIN_MAX).fill('UNAUTHENTICATED'));
    for (const on of api) {
      const limited = await attempt(on);
      expect(limited.status).toBe(429);
      expect(limited.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    }
    // Another email's budget is its own.
    expect((await api[0].gql(LOGIN, { e: OWNER.email, p: OWNER.password })).data.login.accessToken).toBeTruthy();
  });

  it('the worker killed with SIGKILL mid-queue and started again: every accepted delivery is applied once', async () => {
    const hook = await createIntegration(api[0]);
    const ids: string[] = [];
    const send = async (round: number, count: number) => {
      const batches = Array.from({ length: count }, () => Array.from({ length: 5 }, () => generateEvent('user.created')));
      const answers = await Promise.all(
        batches.map((events, i) => postWebhook(`${api[i % 2]!.url}/webhooks/${hook.id}`, hook.secret, JSON.stringify(events), { msgId: `topology_${round}_${i}_${Date.now()}` })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(count).fill(202));
      ids.push(...batches.flat().map((e) => e.id));
    };
    await send(0, 60);
    // Kill it while it works through the queue (some events done, not all).
    await waitFor(async () => ((await eventStatuses(ids)).find((s) => s.status === 'PROCESSED')?.n ?? 0) > 0, { timeoutMs: 60_000, intervalMs: 20, message: 'the first events processed' });
    worker.child.kill('SIGKILL');
    await worker.exited;
    const atKill = await eventStatuses(ids);
    // Accepted while no worker runs: queued, not lost.
    await send(1, 40);
    worker = startWorker();
    await worker.waitFor(/"msg":"Tessera ready"/, 120_000);
    await waitFor(async () => (await eventStatuses(ids)).find((s) => s.status === 'PROCESSED')?.n === ids.length, {
      timeoutMs: 120_000,
      intervalMs: 250,
      message: 'every accepted event processed',
    });
    console.log(`topology: worker killed with ${JSON.stringify(atKill)} of ${ids.length} events; all ${ids.length} processed after the restart`);
    // Each event stored once and applied once: one user and one INSERT audit entry per event.
    const [stored] = await owner<{ n: number }[]>`select count(*)::int as n from webhook_events where provider_event_id in ${owner(ids)}`;
    expect(stored!.n).toBe(ids.length);
    const [mirrored] = await owner<{ n: number; distinct: number }[]>`select count(*)::int as n, count(distinct external_id)::int as distinct from users where external_source = ${hook.id}`;
    expect(mirrored).toEqual({ n: ids.length, distinct: ids.length });
    await owner`select audit.seal_all()`;
    const [inserts] = await owner<{ n: number }[]>`
      select count(*)::int as n from audit_logs a join users u on u.tenant_id = a.tenant_id and a.entity_id = u.id::text
      where a.entity_type = 'users' and a.action = 'INSERT' and u.external_source = ${hook.id}`;
    expect(inserts!.n).toBe(ids.length);
  }, 300_000); // a worker restart and 500 events on a loaded CI machine: minutes, not the default 30 s

  it('every process stops cleanly on SIGTERM, with nothing logged at error level', async () => {
    const all = [...api.map((a) => a.process), worker];
    for (const p of all) p.child.kill('SIGTERM');
    const exits = await Promise.all(all.map((p) => p.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
    for (const p of all) expect(p.errorLines()).toEqual([]);
  }, 90_000);
});
