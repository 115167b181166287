/**
 * Soak: `npm run bench -- soak`. The split topology as processes (bench/lib/deployment.ts: Postgres,
 * migrate step, one API, one worker, mock providers) under a steady mix for SOAK_MINUTES (default
 * 10): GraphQL queries and mutations (lists, `me`, user creation and renames, organizations,
 * login + refreshSession), signed webhooks (user.created / user.updated) applied by the worker, and
 * graphql-ws subscribers (integration health changes caused every few seconds, and heartbeats).
 * Every answer is checked: any non-2xx, GraphQL error, webhook refusal, subscription error or socket
 * closed by the server counts as an error. The API's and the worker's RSS are sampled every 5 s (each
 * minute's figure is the median of its samples); the figure is the growth between minute 2 (warmed
 * up) and the last minute (aim < 10 %).
 *
 *   npm run bench -- soak                              # 10 minutes
 *   SOAK_MINUTES=3 npm run bench -- soak               # shorter
 *   SOAK_GRAPHQL_RATE=20 SOAK_WEBHOOK_RATE=20 SOAK_SUBSCRIBERS=50 (defaults)
 *
 * Results: stdout and .bench/soak.md.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { generateEvent, signPayload } from '../src/mock-services/send-webhooks.js';
import { sleep, startDeployment, type Deployment } from './lib/deployment.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_FILE = path.join(ROOT, '.bench/soak.md');
const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const GRAPHQL_RATE = Number(process.env.SOAK_GRAPHQL_RATE ?? 20);
const WEBHOOK_RATE = Number(process.env.SOAK_WEBHOOK_RATE ?? 20);
const SUBSCRIBERS = Number(process.env.SOAK_SUBSCRIBERS ?? 50);
const HEALTH_CHANGE_EVERY_S = 5;

const t0 = Date.now();
const log = (msg: string) => console.log(`[soak ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);

const counts = { graphql: 0, webhooks: 0, subscriptionEvents: 0, healthEvents: 0, healthChanges: 0 };
/** Every error counted, by kind (its text without ids and numbers), with the second of the run each kind was first and last seen. */
const errorKinds = new Map<string, { n: number; first: number; last: number; example: string }>();
let errorCount = 0;
const error = (what: string) => {
  errorCount++;
  const at = Math.round((Date.now() - t0) / 1000);
  const kind = what.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<id>').replace(/\d+/g, '#').slice(0, 160);
  const k = errorKinds.get(kind);
  if (k) (k.n++, (k.last = at));
  else {
    errorKinds.set(kind, { n: 1, first: at, last: at, example: what.slice(0, 300) });
    log(`error (new kind): ${what.slice(0, 300)}`);
  }
};

function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

async function main() {
  if (!(MINUTES >= 3)) throw new Error('SOAK_MINUTES: at least 3 (growth is measured from minute 2)');
  log(`${MINUTES} min; GraphQL ${GRAPHQL_RATE}/s, webhooks ${WEBHOOK_RATE}/s, ${SUBSCRIBERS} subscribers`);
  const deployment = await startDeployment({
    dataDir: path.join(ROOT, '.data/bench-soak'),
    log,
    env: {
      // Load from one client address and one user: the per-user and per-IP limits are not what is soaked.
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000',
      RATE_LIMIT_LOGIN_MAX: '1000000',
      RATE_LIMIT_REFRESH_MAX: '1000000',
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      HEALTH_CHECK_CRON: 'off', // health changes are caused by the load, on a schedule
    },
  });
  try {
    await run(deployment);
  } catch (err) {
    await deployment.stop();
    throw err;
  }
}

async function run(deployment: Deployment) {
  const api = deployment.apiUrls[0]!;
  const { token, integrationId, secret, ownerEmail, ownerPassword } = deployment.tenant;
  let stopping = false;

  const gql = async (query: string, variables: Record<string, unknown> = {}, bearer: string | undefined = token) => {
    counts.graphql++;
    try {
      const res = await fetch(`${api}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
      if (res.status !== 200 || body.errors) error(`graphql ${res.status} ${JSON.stringify(body.errors ?? '').slice(0, 200)}`);
      return body.data;
    } catch (err) {
      error(`graphql ${String(err)}`);
      return undefined;
    }
  };

  // Subscribers, connected one after the other before the load starts: every one follows the
  // tenant's health changes; every fifth also a 1 s heartbeat.
  const clients: Client[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    let connected!: () => void;
    const isConnected = new Promise<void>((r) => (connected = r));
    const client = createClient({
      url: `${api.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      on: { connected: () => connected(), closed: (e) => !stopping && error(`socket closed ${(e as { code?: number }).code}`) },
    });
    clients.push(client);
    const sink = (count: () => void) => ({
      next: (r: { errors?: unknown }) => (r.errors ? error(`subscription ${JSON.stringify(r.errors)}`) : (counts.subscriptionEvents++, count())),
      error: (e: unknown) => !stopping && error(`subscription ${e instanceof Error ? e.message : JSON.stringify(e)}`),
      complete: () => !stopping && error('subscription completed by the server'),
    });
    client.subscribe({ query: 'subscription { integrationHealthChanged { integrationId status } }' }, sink(() => counts.healthEvents++));
    if (i % 5 === 0) client.subscribe({ query: 'subscription { heartbeat(intervalSeconds: 1) }' }, sink(() => {}));
    await isConnected;
  }
  log(`${SUBSCRIBERS} subscribers connected`);

  // A paced loop: `fn` started `rate` times a second, never more than `maxInFlight` at once.
  const paced = (rate: number, maxInFlight: number, fn: (i: number) => Promise<unknown>) =>
    (async () => {
      const start = Date.now();
      let started = 0;
      let inFlight = 0;
      while (!stopping) {
        const due = Math.floor(((Date.now() - start) / 1000) * rate);
        for (; started < due && inFlight < maxInFlight; started++) {
          inFlight++;
          void fn(started).finally(() => inFlight--);
        }
        await sleep(20);
      }
      while (inFlight) await sleep(20);
    })();

  // GraphQL mix: reads, writes, sessions.
  const userIds: string[] = [];
  const graphql = paced(GRAPHQL_RATE, 100, async (i) => {
    switch (i % 10) {
      case 0: {
        const created = await gql(`mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "Soak" }) { id } }`, { e: `soak-${i}-${crypto.randomBytes(3).toString('hex')}@soak.test` });
        if (created) userIds.push(created.createUser.id);
        return;
      }
      case 1:
        if (userIds.length) await gql(`mutation($id: UUID!, $n: String!) { updateUser(id: $id, input: { name: $n }) { id } }`, { id: userIds[i % userIds.length], n: `Soak ${i}` });
        return;
      case 2:
        if (i % 50 === 2) await gql(`mutation($n: String!) { createOrganization(input: { name: $n }) { id } }`, { n: `Org ${i}` });
        else await gql(`{ organizations(first: 10) { edges { node { name } } } }`);
        return;
      case 3: {
        if (i % 30 !== 3) return void (await gql('{ tenant { slug plan } }'));
        const login = await gql(`mutation($e: EmailAddress!, $p: String!) { login(input: { tenantSlug: "run", email: $e, password: $p }) { refreshToken } }`, { e: ownerEmail, p: ownerPassword }, undefined);
        if (login) await gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, { t: login.login.refreshToken }, undefined);
        return;
      }
      case 4:
        await gql(`{ webhookEvents(first: 20) { edges { node { id status } } } }`);
        return;
      default:
        await gql(i % 2 ? '{ me { id email role } }' : '{ users(first: 20) { totalCount edges { node { id email organizations { name } } } } }');
    }
  });

  // Webhooks: users created, then updated with rising versions.
  const hookUrl = `${api}/webhooks/${integrationId}`;
  const known: { data: ReturnType<typeof generateEvent<'user.created'>>['data'] }[] = [];
  const webhooks = paced(WEBHOOK_RATE, 200, async (i) => {
    counts.webhooks++;
    let event;
    if (i % 3 === 0 || known.length < 10) {
      event = generateEvent('user.created');
      known.push({ data: event.data });
      if (known.length > 2000) known.shift();
    } else {
      const k = known[i % known.length]!;
      k.data = { ...k.data, version: k.data.version + 1, updated_at: new Date().toISOString() };
      event = generateEvent('user.updated', k.data);
    }
    const body = JSON.stringify(event);
    try {
      const res = await fetch(hookUrl, { method: 'POST', headers: signPayload(secret, event.id, body), body, signal: AbortSignal.timeout(30_000) });
      const text = await res.text();
      if (res.status !== 202) error(`webhook ${res.status} ${text.slice(0, 200)}`);
    } catch (err) {
      error(`webhook ${String(err)}`);
    }
  });

  // Health changes every few seconds, seen by every subscriber.
  const health = (async () => {
    for (let n = 0; !stopping; n++) {
      await sleep(HEALTH_CHANGE_EVERY_S * 1000);
      if (stopping) break;
      const changed = await gql(n % 2 ? `mutation($id: UUID!) { resetIntegrationCircuit(integrationId: $id) { state } }` : `mutation($id: UUID!) { isolateIntegrationCircuit(integrationId: $id, reason: "soak") { state } }`, { id: integrationId });
      if (changed) counts.healthChanges++; // a failed one (counted as an error) changed nothing
    }
  })();

  // RSS every 5 s; a minute's figure is the median of its samples (one sample swings by tens of MB
  // with where the garbage collector happens to be: 314 → 233 MB within one minute in a run).
  const samples: { minute: number; api?: number; worker?: number; errors: number; graphql: number; webhooks: number; events: number }[] = [];
  const median = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : undefined;
  };
  let window: { api?: number; worker?: number }[] = [];
  const rss = () => window.push({ api: rssMb(deployment.apis[0]!.pid), worker: rssMb(deployment.worker.pid) });
  const sample = (minute: number) => {
    if (!window.length) rss();
    samples.push({ minute, api: median(window.map((w) => w.api)), worker: median(window.map((w) => w.worker)), errors: errorCount, graphql: counts.graphql, webhooks: counts.webhooks, events: counts.subscriptionEvents });
    window = [];
    const s = samples.at(-1)!;
    log(`minute ${minute}: RSS (median) api ${s.api} MB, worker ${s.worker} MB; ${s.graphql} GraphQL, ${s.webhooks} webhooks, ${s.events} subscription events, ${s.errors} errors`);
  };
  sample(0);
  for (let m = 1; m <= MINUTES; m++) {
    for (let i = 0; i < 12; i++) {
      await sleep(5000);
      rss();
    }
    sample(m);
  }
  stopping = true;
  await Promise.all([graphql, webhooks, health]);
  await sleep(2000); // the last health change's events on their way
  await Promise.all(clients.map((c) => c.dispose()));

  // The webhook queue drained and every event processed.
  const backlog = await fetch(`${api}/readyz`).then((r) => r.json() as Promise<unknown>);
  const growth = (k: 'api' | 'worker') => {
    const a = samples.find((s) => s.minute === 2)?.[k];
    const b = samples.at(-1)?.[k];
    return a && b ? ((b - a) / a) * 100 : NaN;
  };
  const hands = deployment.hands();
  // Every health change reaches every subscriber.
  const expectedEvents = counts.healthChanges * SUBSCRIBERS;
  const lines = [
    `# npm run bench -- soak — ${new Date().toISOString()}`,
    '',
    `${MINUTES} min; GraphQL ${GRAPHQL_RATE}/s, webhooks ${WEBHOOK_RATE}/s, ${SUBSCRIBERS} graphql-ws subscribers (health changes every ${HEALTH_CHANGE_EVERY_S} s; every fifth also a 1 s heartbeat); load average at the end ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    '',
    '| minute | API RSS MB (median) | worker RSS MB (median) | GraphQL requests | webhooks | subscription events | errors |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...samples.map((s) => `| ${s.minute} | ${s.api ?? '?'} | ${s.worker ?? '?'} | ${s.graphql} | ${s.webhooks} | ${s.events} | ${s.errors} |`),
    '',
    `RSS growth minute 2 → ${MINUTES}: API ${growth('api').toFixed(1)} %, worker ${growth('worker').toFixed(1)} % (aim < 10 %)`,
    `errors: ${errorCount}`,
    ...[...errorKinds.values()].sort((a, b) => b.n - a.n).map((k) => `- ${k.n}× (s ${k.first}–${k.last}) ${k.example}`),
    `health changes caused: ${counts.healthChanges}; health events received by the ${SUBSCRIBERS} subscribers: ${counts.healthEvents} (at least ${expectedEvents} expected); all subscription events ${counts.subscriptionEvents}`,
    `processes that exited by themselves: ${hands.length}; readyz at the end: ${JSON.stringify(backlog)}`,
  ];
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  fs.writeFileSync(OUT_FILE, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  await deployment.stop();
  const ok = errorCount === 0 && hands.length === 0 && counts.healthEvents >= expectedEvents && growth('api') < 10 && growth('worker') < 10;
  if (ok) fs.rmSync(deployment.dataDir, { recursive: true, force: true });
  else console.log(`\nFAILED: logs kept in ${deployment.dataDir}/logs`);
  process.exitCode = ok ? 0 : 1;
}

await main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
