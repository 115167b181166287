/**
 * Protections benchmark: what the audit trigger and the rate-limit check cost, each measured against
 * the same thing without it, in the same run, on the same database.
 *
 *   npm run bench -- protections      (BENCH_SECONDS=10 by default per phase)
 *
 *  1. Mutation throughput: `updateUser` (an OWNER renaming 200 different users in turn, each request a
 *     real change) with the audit trigger on and off (ALTER TABLE users DISABLE TRIGGER as the
 *     owner), alternating. Served with rate limits off, so only the audit differs. The workers of
 *     this process seal the entries into the chain meanwhile (AUDIT_SEAL_INTERVAL_MS): their cost
 *     counts in the audited phases.
 *  2. The list query `users(first: 20)` on two servers in this process over the same database: one
 *     with RATE_LIMITS_ENABLED=true (every request: a tenant-budget upsert in Postgres), one with
 *     false, alternating.
 * BENCH_ROUNDS (2) on/off pairs each, compared by their means (the machine may be shared).
 * 50 connections (autocannon in a child process). Results: stdout and .bench/protections.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { eq, sql } from 'drizzle-orm';
import { users } from '../src/db/schema.js';
import { closeApp, createApp } from '../src/bootstrap.js';
import { hashPassword } from '../src/auth/passwords.js';
import { loadConfig } from '../src/config.js';
import { freshBenchDatabase } from './lib/database.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { rolePasswords } from '../src/db/roles.js';
import { startHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { createTenant } from '../src/modules/tenants/service.js';
import { actors, appBegin, inTenant } from '../src/db/tenant-transaction.js';
import { runLoad, type LoadResult, type LoadSpec } from './lib/load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = path.join(ROOT, '.data/bench-protections');
const OUT_FILE = path.join(ROOT, '.bench/protections.md');
const BENCH_DB = 'tessera_bench_protections';
const CONNECTIONS = 50;
const WARMUP_S = 2;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const USERS = 1000;
const TARGETS = 200;
const TARGET_RATIO = 0.8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SERIAL_CHANGES = 1000;

const log = (msg: string) => console.log(`[bench:protections] ${msg}`);

interface Phase {
  name: string;
  load: LoadResult;
  loadAvg: number;
}

async function main() {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const results = await benchmark(cleanups);
    const md = render(results);
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, md);
    console.log(`\n${md}`);
    if (results.failures.length) {
      console.log(results.failures.map((f) => `  ✗ ${f}`).join('\n'));
      process.once('exit', () => void (process.exitCode = 1));
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
  }
  setTimeout(() => {
    console.error('[bench:protections] still running 5 s after the end; open handles:', process.getActiveResourcesInfo());
    process.exit(2);
  }, 5000).unref();
}

async function benchmark(cleanups: (() => Promise<void>)[]) {
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, BENCH_DB);
  if (embedded) cleanups.push(() => embedded.stop());
  const env = {
    LOG_LEVEL: 'silent',
    DATA_DIR,
    DATABASE_URL: ownerUrl,
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    // The checks run on every request; the limits are set out of reach so nothing is refused (the
    // per-user mutation limit is exact: one counter upsert per mutation).
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '10000000',
    RATE_LIMIT_TENANT_ENTERPRISE_PER_MINUTE: '1000000', // leases of 10,000: one counter update per 10,000 requests per process
    ...(process.env.APP_DATABASE_PASSWORD ? { APP_DATABASE_PASSWORD: process.env.APP_DATABASE_PASSWORD } : {}),
  };
  const configOn = loadConfig({ ...env, RATE_LIMITS_ENABLED: 'true' });
  const configOff = loadConfig({ ...env, RATE_LIMITS_ENABLED: 'false' });
  await migrateDatabase(ownerUrl, rolePasswords(configOn));
  const appUrl = deriveAppUrl(ownerUrl, configOn.APP_DATABASE_PASSWORD);
  const appOn = await createApp(configOn, appUrl, createLogger('silent'));
  cleanups.push(() => closeApp(appOn));
  const appOff = await createApp(configOff, appUrl, createLogger('silent'));
  cleanups.push(() => closeApp(appOff));
  const httpOn = await startHttpServer(appOn, { host: '127.0.0.1', port: 0 });
  cleanups.push(() => httpOn.close());
  const httpOff = await startHttpServer(appOff, { host: '127.0.0.1', port: 0 });
  cleanups.push(() => httpOff.close());
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  cleanups.push(() => owner.end({ timeout: 5 }));

  // Seed: one ENTERPRISE tenant with USERS users (inserted as the owner: the trigger records them too).
  const tenant = await createTenant(appOn.platformDb, 'bench:seed', { slug: 'bench', name: 'Bench', plan: 'ENTERPRISE', ownerEmail: 'owner@bench.test', ownerName: 'Owner', ownerPassword: 'bench-owner-password' });
  const hash = await hashPassword('bench-user-password');
  const targets = await owner.begin(async (tx) => {
    await appBegin(tx, actors.system('bench-seed', tenant.id));
    const rows = Array.from({ length: USERS - 1 }, (_, i) => ({ tenant_id: tenant.id, email: `user${i}@bench.test`, name: `User ${i}`, role: 'MEMBER', status: 'ACTIVE', password_hash: hash }));
    await tx`insert into users ${tx(rows, 'tenant_id', 'email', 'name', 'role', 'status', 'password_hash')}`;
    return (await tx<{ id: string }[]>`select id from users where role = 'MEMBER' order by email limit ${TARGETS}`).map((r) => r.id);
  });
  await owner`analyze`;
  const [ownerRow] = await inTenant(appOn.db, actors.system('bench-seed', tenant.id), (tx) => tx.select().from(users).where(eq(users.role, 'OWNER')));
  const { token } = await appOn.tokens.signUserToken(ownerRow!);
  log(`seeded ${USERS} users; Postgres ${(await owner`show server_version`)[0]!.server_version}`);

  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const phase = async (name: string, spec: LoadSpec): Promise<Phase> => {
    const load1 = os.loadavg()[0]!;
    const load = await runLoad(spec);
    const loadAvg = Math.max(load1, os.loadavg()[0]!);
    log(`${name}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.p50} ms, p99 ${load.p99} ms, non-2xx ${load.non2xx}, errors ${load.errors}, bad bodies ${load.mismatches}; load average ${loadAvg.toFixed(1)}`);
    if (load.non2xx || load.errors || load.mismatches) throw new Error(`${name}: failed requests`);
    return { name, load, loadAvg };
  };

  // 1. updateUser with the audit trigger on / off / on.
  const mutation: LoadSpec = {
    url: `${httpOff.url}/graphql`,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_S,
    durationSeconds: DURATION_S,
    headers,
    body: '',
    bodies: targets.map((id) => JSON.stringify({ query: `mutation { updateUser(id: "${id}", input: { name: "Bench __N__" }) { id name } }` })),
    expect: '"updateUser":{"id"',
  };
  // Sealed and still pending entries (the workers seal every AUDIT_SEAL_INTERVAL_MS, in this process).
  const auditCount = async () =>
    Number((await owner`select (select count(*) from audit_logs where tenant_id = ${tenant.id}) + (select count(*) from audit_pending where tenant_id = ${tenant.id}) as n`)[0]!.n);
  const auditOff = async <T>(fn: () => Promise<T>): Promise<T> => {
    await owner`alter table users disable trigger audit_row_change`;
    try {
      return await fn();
    } finally {
      await owner`alter table users enable trigger audit_row_change`;
    }
  };
  // Untimed: JIT, pools and caches settle on both paths.
  await runLoad({ ...mutation, warmupSeconds: 0, durationSeconds: 3 });
  await auditOff(() => runLoad({ ...mutation, warmupSeconds: 0, durationSeconds: 3 }));
  // The machine may be shared and its load drifts: alternate in ABBA order (on, off, off, on, on, off…),
  // which cancels a steady trend, and compare the means.
  const mutationPhases: Phase[] = [];
  let recordedOn = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const audited = async () => {
      const before = await auditCount();
      mutationPhases.push(await phase(`updateUser, audit on (${round})`, mutation));
      recordedOn += (await auditCount()) - before;
      // The sealer keeps up if only about one interval's entries are still waiting.
      log(`  entries waiting to be sealed right after the phase: ${(await owner`select count(*)::int as n from audit_pending`)[0]!.n}`);
    };
    const unaudited = () => auditOff(async () => void mutationPhases.push(await phase(`updateUser, audit off (${round})`, mutation)));
    if (round % 2) {
      await audited();
      await unaudited();
    } else {
      await unaudited();
      await audited();
    }
  }
  // The same change without HTTP, serially, as the app role: what the trigger adds to one transaction.
  const app = postgres(appUrl, { max: 1, onnotice: () => {} });
  const serial = async (label: string) => {
    const actor = actors.user(ownerRow!.id, tenant.id, { requestId: 'bench' });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < SERIAL_CHANGES; i++) {
      await app.begin(async (tx) => {
        await appBegin(tx, actor);
        await tx`update users set name = ${`Serial ${label} ${i}`}, updated_at = now() where id = ${targets[i % targets.length]!}`;
      });
    }
    return Number(process.hrtime.bigint() - t0) / 1000 / SERIAL_CHANGES;
  };
  const serialUs: { on: number[]; off: number[] } = { on: [], off: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    serialUs.on.push(await serial(`on${round}`));
    await owner`alter table users disable trigger audit_row_change`;
    try {
      serialUs.off.push(await serial(`off${round}`));
    } finally {
      await owner`alter table users enable trigger audit_row_change`;
    }
  }
  await app.end();
  log(`serial transaction (app_begin + one UPDATE + COMMIT), µs: audit on ${serialUs.on.map((x) => x.toFixed(0)).join('/')}, off ${serialUs.off.map((x) => x.toFixed(0)).join('/')}`);
  const integrity = await owner.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenant.id}, true)`;
    await tx`select audit.seal()`;
    return tx`select ok, checked_entries from audit.verify_chain()`;
  });
  log(`audit rows recorded in the audited phases: ${recordedOn}; chain check after the run: ${JSON.stringify(integrity[0])}`);

  // 2. users(first: 20) with the rate-limit rule on / off, alternating.
  const list: LoadSpec = {
    url: `${httpOn.url}/graphql`,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_S,
    durationSeconds: DURATION_S,
    headers,
    body: JSON.stringify({ query: '{ users(first: 20) { edges { node { id email name role } } } }' }),
    expect: '"edges":[{"node"',
  };
  await runLoad({ ...list, warmupSeconds: 0, durationSeconds: 3 });
  const counted = async () => Number((await owner`select coalesce(sum(hits), 0) as n from rate_limit_counters where key like 'tenant:%'`)[0]!.n);
  const listPhases: Phase[] = [];
  const hitsBefore = await counted();
  for (let round = 1; round <= ROUNDS; round++) {
    listPhases.push(await phase(`users(first: 20), rate limit on (${round})`, list));
    listPhases.push(await phase(`users(first: 20), rate limit off (${round})`, { ...list, url: `${httpOff.url}/graphql` }));
  }
  const countedOn = (await counted()) - hitsBefore;
  log(`tenant-budget counter grew by ${countedOn} during the limited phases (leases of 10,000)`);

  const mean = (ps: Phase[]) => ps.reduce((a, p) => a + p.load.requestsPerSecond, 0) / ps.length;
  const ratio = (ps: Phase[]) => mean(ps.filter((p) => / on /.test(p.name))) / mean(ps.filter((p) => / off /.test(p.name)));
  const auditRatio = ratio(mutationPhases);
  const limitRatio = ratio(listPhases);
  const failures: string[] = [];
  if (auditRatio < TARGET_RATIO) failures.push(`audit on is ${(auditRatio * 100).toFixed(0)}% of audit off (target ≥ ${TARGET_RATIO * 100}%)`);
  if (limitRatio < TARGET_RATIO) failures.push(`rate limit on is ${(limitRatio * 100).toFixed(0)}% of off (target ≥ ${TARGET_RATIO * 100}%)`);
  return { mutationPhases, listPhases, auditRatio, limitRatio, recordedOn, countedOn, serialUs, integrity: integrity[0], failures, embedded: !!embedded, pool: configOn.DATABASE_POOL_SIZE };
}

function render(r: Awaited<ReturnType<typeof benchmark>>): string {
  const row = (p: Phase) => `| ${p.name} | ${p.load.requestsPerSecond.toFixed(0)} | ${p.load.p50} | ${p.load.p99} | ${p.load.totalRequests} | ${p.loadAvg.toFixed(1)} |`;
  return [
    `# Protections benchmark (${new Date().toISOString()})`,
    '',
    `${os.cpus().length} CPUs, Node ${process.version}, ${r.embedded ? 'embedded' : 'external'} Postgres, pool ${r.pool}, ${CONNECTIONS} connections, ${DURATION_S} s per phase after ${WARMUP_S} s warm-up.`,
    '',
    '| phase | req/s | p50 ms | p99 ms | requests | load avg |',
    '|---|---|---|---|---|---|',
    ...r.mutationPhases.map(row),
    ...r.listPhases.map(row),
    '',
    `- audit on / off (means of the alternating phases): **${(r.auditRatio * 100).toFixed(0)}%**; ${r.recordedOn} audit rows written in the audited phases; chain check after the run: ${JSON.stringify(r.integrity)}`,
    `- one change as a serial transaction without HTTP (app_begin + UPDATE + COMMIT, ${SERIAL_CHANGES} each): audit on ${r.serialUs.on.map((x) => x.toFixed(0)).join(' / ')} µs, off ${r.serialUs.off.map((x) => x.toFixed(0)).join(' / ')} µs`,
    `- rate limit on / off (means of the alternating phases): **${(r.limitRatio * 100).toFixed(0)}%**; tenant-budget counter grew by ${r.countedOn} (claims in leases of 10,000 calls)`,
    '',
  ].join('\n');
}


await main();
