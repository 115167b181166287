import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { freePort, postmasterOf, promoteEmbeddedPostgres, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { rolePasswords } from '../src/db/roles.js';
import { ROLE_PASSWORDS_ENV } from './helpers/global-setup.js';
import { isAlive, processSandbox, runtimeProcessEnv, type ServerProcess } from './helpers/process.js';
import { waitFor } from './helpers/wait.js';
import { event, postWebhook } from './helpers/webhooks.js';

/**
 * Postgres crash-stopped and then slow to recover, seen by the deployment's processes (issue 12's
 * chaos run found it: a crash recovery of 91 s under load, "the database system is starting up"
 * (57P03) all along). Postgres here is a cluster of this file's own, so it can be killed: crashed
 * (SIGQUIT to the postmaster: immediate shutdown, as an OOM kill or a failover leaves it), then
 * started held in recovery for longer than MIGRATIONS_WAIT_SECONDS, refusing every connection with
 * 57P03, then promoted. Wanted, with no one lending a hand: the running API answers 503 meanwhile
 * and answers again afterwards; the running worker stays up and works again; a worker started
 * during the recovery (as after a kill) waits for it however long it takes, and becomes ready.
 */
const sandbox = processSandbox('pg-crash');
const OWNER = { email: 'owner@crash.test', password: 'crash-owner-password' };
/** Shorter than the recovery below: a wait bounded by it would give up. */
const MIGRATIONS_WAIT_SECONDS = 3;

let pg: EmbeddedDatabase;
let pgPort: number;
let owner: postgres.Sql;
let api: ServerProcess;
let apiUrl: string;
let worker: ServerProcess;
let token: string;
let hook: { url: string; secret: string };

const runtimeEnv = () => ({
  ...runtimeProcessEnv(pg.ownerUrl('tessera'), 'crash'),
  MIGRATIONS_WAIT_SECONDS: String(MIGRATIONS_WAIT_SECONDS),
  JOB_MAINTENANCE_INTERVAL_SECONDS: '2',
});
let env: ReturnType<typeof runtimeEnv>;

async function gql(query: string, variables: Record<string, unknown> = {}, bearer?: string) {
  const res = await fetch(`${apiUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] }) };
}

const eventStatus = async (providerEventId: string) =>
  (await owner<{ status: string }[]>`select status::text from webhook_events where provider_event_id = ${providerEventId}`.catch(() => []))[0]?.status;

/** Delivers one event (retrying 503s while the database warms up) and waits until a worker has processed it. */
async function deliverAndProcess(label: string) {
  const e = event('user.created');
  await waitFor(async () => (await postWebhook(hook.url, hook.secret, JSON.stringify(e), { msgId: e.id })).status === 202, { timeoutMs: 60_000, intervalMs: 500, message: `${label}: the webhook accepted` });
  await waitFor(async () => (await eventStatus(e.id)) === 'PROCESSED', { timeoutMs: 60_000, intervalMs: 250, message: `${label}: the event processed` });
}

beforeAll(async () => {
  pgPort = await freePort();
  pg = await startEmbeddedPostgres(sandbox.dataDir, { port: pgPort });
  await ensureDatabase(pg.ownerUrl('postgres'), 'tessera');
  await migrateDatabase(pg.ownerUrl('tessera'), rolePasswords(loadConfig({ NODE_ENV: 'test', ...ROLE_PASSWORDS_ENV })));
  owner = postgres(pg.ownerUrl('tessera'), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  env = runtimeEnv();
  apiUrl = `http://127.0.0.1:${sandbox.ports.PORT}`;
  api = sandbox.start({ ...env, PROCESS_ROLE: 'api' });
  worker = sandbox.start({ ...env, PROCESS_ROLE: 'worker' });
  await Promise.all([api.waitFor(/"msg":"Tessera ready"/, 180_000), worker.waitFor(/"msg":"Tessera ready"/, 180_000)]);

  const operator = await gql(`mutation($p: String!) { platformLogin(email: "operator@tessera.local", password: $p) { accessToken } }`, { p: env.PLATFORM_OPERATOR_PASSWORD });
  const created = await gql(
    `mutation($e: EmailAddress!, $p: String!) { createTenant(input: { slug: "crash", name: "Crash", plan: ENTERPRISE, ownerEmail: $e, ownerName: "Olive", ownerPassword: $p }) { id } }`,
    { e: OWNER.email, p: OWNER.password },
    operator.data.platformLogin.accessToken,
  );
  expect(created.errors).toBeUndefined();
  token = (await gql(`mutation($e: EmailAddress!, $p: String!) { login(input: { tenantSlug: "crash", email: $e, password: $p }) { accessToken } }`, { e: OWNER.email, p: OWNER.password })).data.login.accessToken;
  const integration = await gql(
    `mutation { createIntegration(input: { provider: USER_SERVICE, name: "Users", baseUrl: "http://127.0.0.1:9/user-service", apiKey: "crash-api-key" }) { webhookSecret integration { id } } }`,
    {},
    token,
  );
  expect(integration.errors).toBeUndefined();
  hook = { url: `${apiUrl}/webhooks/${integration.data.createIntegration.integration.id}`, secret: integration.data.createIntegration.webhookSecret };
}, 300_000);

afterAll(async () => {
  for (const p of sandbox.running) if (isAlive(p.pid)) p.child.kill('SIGTERM');
  await Promise.all(sandbox.running.map((p) => p.exited));
  await owner?.end({ timeout: 2 }).catch(() => undefined);
  await pg?.stop().catch(() => undefined);
});

describe('Postgres crash-stopped, then in crash recovery (57P03) for longer than MIGRATIONS_WAIT_SECONDS', () => {
  it('the API answers 503 meanwhile and again afterwards, the running worker reconnects, a worker started meanwhile waits and comes up; nobody exits', async () => {
    await deliverAndProcess('before the crash');
    const me = () => gql('{ me { id } }', {}, token);
    expect((await me()).status).toBe(200);

    // The crash: immediate shutdown, every backend gone at once.
    const postmaster = postmasterOf(`${sandbox.dataDir}/pg`)!;
    process.kill(postmaster.pid, 'SIGQUIT');
    await waitFor(() => !postmasterOf(`${sandbox.dataDir}/pg`), { timeoutMs: 30_000, message: 'the postmaster to exit' });
    pg = await startEmbeddedPostgres(sandbox.dataDir, { port: pgPort, holdInRecovery: true });
    const probe = postgres(pg.ownerUrl('tessera'), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    await expect(probe`select 1`).rejects.toMatchObject({ code: '57P03' });
    await probe.end();

    // A worker started now, as after a kill: it waits for the database, not for MIGRATIONS_WAIT_SECONDS.
    const late = sandbox.start({ ...env, PROCESS_ROLE: 'worker' });
    await late.waitFor(/"msg":"waiting for the database \(unreachable\)/, 60_000);
    // Meanwhile the API answers, with 503.
    const during = await me();
    expect(during.status).toBe(503);
    expect(during.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(30_000) })).status).toBe(503);

    // Recovery goes on for three times MIGRATIONS_WAIT_SECONDS after the late worker began to wait.
    await new Promise((r) => setTimeout(r, 3 * MIGRATIONS_WAIT_SECONDS * 1000));
    expect(late.child.exitCode, late.output().slice(-2000)).toBeNull(); // still waiting
    await promoteEmbeddedPostgres(sandbox.dataDir);

    // Back, by itself: the API answers, the late worker becomes ready, events get processed.
    await waitFor(async () => (await me()).status === 200, { timeoutMs: 60_000, intervalMs: 250, message: 'GraphQL to answer 200 again' });
    await waitFor(async () => (await fetch(`${apiUrl}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 250, message: 'readyz 200 again' });
    await late.waitFor(/"msg":"Tessera ready"/, 120_000);
    await deliverAndProcess('after the recovery');
    // The worker that ran through the crash works again too: the late one stopped, it processes alone.
    late.child.kill('SIGTERM');
    expect((await late.exited).code).toBe(0);
    await deliverAndProcess('by the worker that ran through the crash');

    for (const p of [api, worker, late]) expect(p.errorLines(), p.output().slice(-3000)).toEqual([]);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  }, 300_000);
});
