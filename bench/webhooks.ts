/**
 * Webhook benchmark:
 *  1. accepted webhooks/s (signed, ~1 KB, 50 connections; stored + enqueued + committed before the
 *     202) next to a plain single-row INSERT rate through the same driver and pool, same run;
 *  2. p99 accept latency at half that rate; both again against the production build in a process of
 *     its own (`node <the image's flags> dist/main.js`, PROCESS_ROLE=api), as deployed;
 *  3. time from 202 to the change visible in our tables at a steady 200 events/s, p50/p99, and
 *     whether the queue keeps up (backlog at start and end).
 *
 *   npm run bench -- webhooks
 *
 * Self-contained like bench/platform.ts: embedded Postgres in .data/bench-webhooks (unless
 * DATABASE_URL), a fresh database, the app in this process, autocannon in a child process.
 * Results: stdout and .bench/webhooks.md.
 */
import { execFile, fork } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { closeApp, createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { freshBenchDatabase } from './lib/database.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { rolePasswords } from '../src/db/roles.js';
import { startHttpServer } from '../src/http/server.js';
import { QUEUES } from '../src/jobs/queues.js';
import { createLogger } from '../src/logger.js';
import { Webhook } from 'standardwebhooks';
import { createIntegration } from '../src/modules/integrations/service.js';
import { createTenant } from '../src/modules/tenants/service.js';
import { actors, ShortTransactionScope } from '../src/db/tenant-transaction.js';
import type { LoadResult, WebhookLoadSpec } from './lib/webhook-load-child.js';
import { freePort } from '../src/db/embedded.js';
import { productionNodeFlags, startNodeProcess } from './lib/node-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = path.join(ROOT, '.data/bench-webhooks');
const OUT_FILE = path.join(ROOT, '.bench/webhooks.md');
const BENCH_DB = 'tessera_bench_webhooks';
const CONNECTIONS = 50;
const WARMUP_S = 2;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const PAYLOAD_BYTES = 1024;
const STEADY_RATE = 200;
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 20);

const log = (msg: string) => console.log(`[bench:webhooks] ${msg}`);

function runWebhookLoad(spec: WebhookLoadSpec, onMeasuring?: () => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(ROOT, 'bench/lib/webhook-load-child.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: { type: string; result?: LoadResult; message?: string }) => {
      if (m.type === 'measuring') onMeasuring?.();
      if (m.type === 'result') resolve(m.result!);
      else if (m.type === 'error') reject(new Error(m.message));
      if (m.type !== 'measuring') child.kill('SIGTERM');
    });
    child.on('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    child.send(spec);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

async function main() {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const md = await benchmark(cleanups);
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, md);
    console.log(`\n${md}`);
    log(`written to ${path.relative(ROOT, OUT_FILE)}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
  }
  setTimeout(() => process.exit(0), 2000).unref();
}

async function benchmark(cleanups: (() => Promise<unknown>)[]): Promise<string> {
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, BENCH_DB);
  if (embedded) cleanups.push(() => embedded.stop());
  // Explicit role passwords and keys, so the production process of phase 1b can run on what this
  // process migrated and created (a production config refuses the development defaults).
  const passwords = Object.fromEntries(
    (['APP', 'INGEST', 'PLATFORM', 'SYSTEM', 'QUEUE', 'RATE_LIMIT'] as const).map((p) => [`${p}_DATABASE_PASSWORD`, `bench-${p.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`]),
  );
  const baseEnv = {
    ...passwords,
    INTEGRATION_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    LOG_LEVEL: 'silent',
    DATA_DIR,
    DATABASE_URL: ownerUrl,
    HEALTH_CHECK_CRON: 'off',
    // The benchmark is the flood: the per-integration limit must not be what it measures.
    WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
    WEBHOOK_RATE_LIMIT_BURST: '100000',
    // One pool for everything measured here (the plain INSERT baseline included).
    DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '20',
    JOB_CONCURRENCY: process.env.JOB_CONCURRENCY ?? '8',
  };
  const apiConfig = loadConfig({ ...baseEnv, PROCESS_ROLE: 'api' });
  await migrateDatabase(ownerUrl, rolePasswords(apiConfig));
  const appUrl = deriveAppUrl(ownerUrl, apiConfig.APP_DATABASE_PASSWORD);
  const owner = postgres(ownerUrl, { max: 2, onnotice: () => {} });
  cleanups.push(() => owner.end());
  await owner.unsafe(`create table bench_inserts (id bigserial primary key, payload jsonb not null, created_at timestamptz not null default now())`);
  await owner.unsafe(`grant select, insert on bench_inserts to tessera_app; grant usage on sequence bench_inserts_id_seq to tessera_app`);

  // ---- Phase 1: ingestion only (API role: no workers competing for the two cores) ----
  let app = await createApp(apiConfig, appUrl, createLogger((process.env.BENCH_LOG as 'warn') ?? 'silent'));
  let http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  const tenant = await createTenant(app.platformDb, 'bench', { slug: 'bench', name: 'Bench', ownerEmail: 'owner@bench.test', ownerName: 'Owner', ownerPassword: 'bench-password-123' });
  const scope = new ShortTransactionScope(app.db, actors.system('bench', tenant.id));
  const { integration, webhookSecret } = await createIntegration(scope, app, { provider: 'USER_SERVICE', name: 'Bench users', baseUrl: 'http://127.0.0.1:9', apiKey: 'bench' });

  // Plain INSERT baseline: same postgres.js client and pool (DATABASE_POOL_SIZE), 50 concurrent loops.
  const payload = JSON.stringify({ bio: 'x'.repeat(PAYLOAD_BYTES - 20) });
  const plainRun = async (seconds: number) => {
    const sql = app.db.$client;
    const end = Date.now() + seconds * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (Date.now() < end) {
          await sql`insert into bench_inserts (payload) values (${payload}::jsonb)`;
          n++;
        }
      }),
    );
    return n / seconds;
  };
  await plainRun(WARMUP_S);
  const plainRate = await plainRun(DURATION_S);
  log(`plain INSERT: ${plainRate.toFixed(0)} rows/s`);

  const url = `${http.url}/webhooks/${integration.id}`;
  const spec = { url, secret: webhookSecret, connections: CONNECTIONS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S, overallRate: 0, payloadBytes: PAYLOAD_BYTES };
  const max = await runWebhookLoad(spec);
  log(`webhooks at max: ${max.requestsPerSecond.toFixed(0)}/s, p99 ${max.p99} ms, non-2xx ${max.non2xx}, errors ${max.errors}`);
  // Inside the server too (the request-duration histogram of /metrics), to tell the server's own time
  // from time spent queued in the kernel or the load generator.
  const acceptBuckets = async () => {
    const counts = new Map<string, number>();
    for (const v of (await app.metrics.httpDuration.get()).values) {
      if (v.labels.route !== '/webhooks/:integrationId' || !v.metricName?.endsWith('_bucket')) continue;
      const le = String((v.labels as Record<string, unknown>).le);
      counts.set(le, (counts.get(le) ?? 0) + v.value);
    }
    return counts;
  };
  let before!: Promise<Map<string, number>>;
  // The server's own event-loop delay during the half-rate run (this process): its stalls.
  const serverLoop = monitorEventLoopDelay({ resolution: 5 });
  const half = await runWebhookLoad({ ...spec, overallRate: Math.round(max.requestsPerSecond / 2), warmupSeconds: 1 }, () => {
    before = acceptBuckets();
    serverLoop.enable();
  });
  serverLoop.disable();
  const serverLoopDelay = `p99 ${Math.round(serverLoop.percentile(99) / 1e6)} ms, max ${Math.round(serverLoop.max / 1e6)} ms`;
  const generator = `sent late by p99 ${half.sendLateP99} ms (max ${half.sendLateMax}); written → answered p99 ${half.afterSendP99} ms; the generator's event-loop delay p99 ${half.loopDelayP99} ms, max ${half.loopDelayMax} ms`;
  const after = await acceptBuckets();
  const start = await before;
  const within = (le: string) => ((after.get(le)! - start.get(le)!) / (after.get('+Inf')! - start.get('+Inf')!)) * 100;
  const serverSide = `${within('0.025').toFixed(2)} % within 25 ms, ${within('0.1').toFixed(2)} % within 100 ms`;
  log(`webhooks at half rate: ${half.requestsPerSecond.toFixed(0)}/s, p50 ${half.p50} ms, p99 ${half.p99} ms; inside the server ${serverSide}; server event-loop delay ${serverLoopDelay}; ${generator}`);
  await http.close(); // waits for requests still in flight
  await closeApp(app);

  // ---- Phase 1b: the same against the production build, in a process of its own (the image's flags) ----
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000 });
  const { nodeFlags, arenas } = productionNodeFlags();
  const port = await freePort();
  const production = await startNodeProcess('Tessera (production build)', log, [...nodeFlags, 'dist/main.js'], {
    ...baseEnv,
    NODE_ENV: 'production',
    PROCESS_ROLE: 'api',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    APP_DATABASE_URL: appUrl,
    JWT_PRIVATE_JWK: JSON.stringify(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })),
    PLATFORM_OPERATOR_PASSWORD: 'bench-operator-password',
    METRICS_TOKEN: crypto.randomBytes(16).toString('hex'),
    ...(arenas !== '0' ? { MALLOC_ARENA_MAX: arenas } : {}),
  }, `http://127.0.0.1:${port}/readyz`);
  let prodMax: LoadResult;
  let prodHalf: LoadResult;
  try {
    const prodSpec = { ...spec, url: `http://127.0.0.1:${port}/webhooks/${integration.id}` };
    prodMax = await runWebhookLoad(prodSpec);
    prodHalf = await runWebhookLoad({ ...prodSpec, overallRate: Math.round(prodMax.requestsPerSecond / 2), warmupSeconds: 1 });
  } finally {
    await production.stop();
  }
  const prodGenerator = `sent late by p99 ${prodHalf.sendLateP99} ms (max ${prodHalf.sendLateMax}); the generator's event-loop delay p99 ${prodHalf.loopDelayP99} ms, max ${prodHalf.loopDelayMax} ms`;
  log(`production build (node ${nodeFlags.join(' ')}): at max ${prodMax.requestsPerSecond.toFixed(0)}/s, p99 ${prodMax.p99} ms; at half rate ${prodHalf.requestsPerSecond.toFixed(0)}/s, p50 ${prodHalf.p50} ms, p99 ${prodHalf.p99} ms; ${prodGenerator}`);

  const [{ stored, jobs }] = (await owner`
    select (select count(*)::int from webhook_events) as stored,
           (select count(*)::int from pgboss.job where name = ${QUEUES.webhooks('USER_SERVICE')}) as jobs`) as unknown as [{ stored: number; jobs: number }];

  // Drop the backlog of phase 1 so phase 2 measures a steady state from an empty queue.
  await owner`delete from pgboss.job where name = ${QUEUES.webhooks('USER_SERVICE')}`;

  // ---- Phase 2: 202 → visible at a steady rate, workers on (one process: API + workers) ----
  app = await createApp(loadConfig({ ...baseEnv, PROCESS_ROLE: 'all' }), appUrl, createLogger('silent'));
  http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  const steadyUrl = `${http.url}/webhooks/${integration.id}`;
  const sender = new Webhook(webhookSecret);
  const accepted = new Map<string, number>(); // our event id → time of the 202 (ms, this process's clock)
  const backlog: number[] = [];
  const sampler = setInterval(() => void app.jobs.queueSize(QUEUES.webhooks('USER_SERVICE')).then((n) => backlog.push(n)), 1000);
  const started = Date.now();
  let sent = 0;
  let refused = 0;
  const inflight = new Set<Promise<void>>();
  while (Date.now() - started < STEADY_S * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * STEADY_RATE);
    while (sent < due) {
      sent++;
      const id = `steady_${sent}_${Date.now()}`;
      const at = new Date();
      const body = JSON.stringify({ id, type: 'user.created', occurred_at: at.toISOString(), data: { id: `usr_${id}`, email: `${id}@bench.test`, name: 'Steady', status: 'active', version: 1, updated_at: at.toISOString() } });
      const p = fetch(steadyUrl, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': sender.sign(id, at, body) },
      })
        .then(async (r) => {
          const t = Date.now();
          const j = (await r.json()) as { id?: string };
          if (r.status === 202 && j.id) accepted.set(j.id, t);
          else if (refused++ === 0) log(`first refusal: ${r.status} ${JSON.stringify(j)}`);
        })
        .catch((err: unknown) => {
          if (refused++ === 0) log(`first failure: ${String(err)}`);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(inflight);
  // Wait for the queue to drain (bounded), then read when each event's effect committed.
  const drainStart = Date.now();
  for (;;) {
    const [{ pending }] = (await owner`select count(*)::int as pending from webhook_events where status <> 'PROCESSED'`) as unknown as [{ pending: number }];
    if (pending === 0 || Date.now() - drainStart > 30_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  clearInterval(sampler);
  const ids = [...accepted.keys()];
  const rows = (await owner`select id, processed_at from webhook_events where id in ${owner(ids)} and status = 'PROCESSED'`) as unknown as { id: string; processed_at: Date }[];
  // processed_at is set (by this process's clock) in the transaction that applies the change, just before it commits.
  const lat = rows.map((r) => r.processed_at.getTime() - accepted.get(r.id)!).sort((x, y) => x - y);
  await http.close();
  await closeApp(app);

  const ratio = max.requestsPerSecond / plainRate;
  const lines = [
    `## Webhooks (${new Date().toISOString().slice(0, 10)}, ${process.env.DATABASE_URL ? 'external' : 'embedded'} Postgres, 2-core machine)`,
    '',
    '| measure | value | aim |',
    '|---|---|---|',
    `| plain single-row INSERT (~1 KB jsonb), same postgres.js pool (${apiConfig.DATABASE_POOL_SIZE} connections), ${CONNECTIONS} concurrent | ${plainRate.toFixed(0)} rows/s | |`,
    `| accepted webhooks (signed, ~1 KB, ${CONNECTIONS} connections, stored + enqueued + committed) | ${max.requestsPerSecond.toFixed(0)}/s (${(ratio * 100).toFixed(0)}% of INSERT) | ≥ 40% |`,
    `| accept latency at max rate | p50 ${max.p50} ms, p99 ${max.p99} ms | |`,
    `| accept latency at half rate (${half.requestsPerSecond.toFixed(0)}/s) | p50 ${half.p50} ms, p99 ${half.p99} ms | p99 < 25 ms |`,
    `| ⤷ the same requests inside the server (request-duration histogram) | ${serverSide} | |`,
    `| ⤷ the server's event-loop delay meanwhile | ${serverLoopDelay} | |`,
    `| ⤷ the load generator | ${generator} | |`,
    `| the production build in its own process (\`node ${nodeFlags.join(' ')} dist/main.js\`): accepted at max | ${prodMax.requestsPerSecond.toFixed(0)}/s, p99 ${prodMax.p99} ms | |`,
    `| ⤷ accept latency at half that rate (${prodHalf.requestsPerSecond.toFixed(0)}/s) | p50 ${prodHalf.p50} ms, p99 ${prodHalf.p99} ms | p99 < 25 ms |`,
    `| ⤷ the load generator | ${prodGenerator} | |`,
    `| refused or failed during the runs | ${[max, half, prodMax, prodHalf].reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0)} | 0 |`,
    `| events stored / jobs enqueued after phase 1 | ${stored} / ${jobs} | equal |`,
    `| 202 → change visible, steady ${STEADY_RATE}/s for ${STEADY_S} s (${lat.length} of ${sent} events) | p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms, max ${lat[lat.length - 1]} ms | p99 < 1 s |`,
    `| webhook queue backlog during the steady run (sampled each second) | start ${backlog[0] ?? 'n/a'}, max ${Math.max(...backlog, 0)}, end ${backlog[backlog.length - 1] ?? 'n/a'} | not growing |`,
    `| refused during the steady run | ${refused} | 0 |`,
  ];
  return lines.join('\n');
}


if (process.env.BENCH_LOG) process.on('uncaughtException', (err) => console.error('UNCAUGHT', err));
await main();
