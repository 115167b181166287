/**
 * Tessera against PostGraphile v4 on the same database, the same data, the same RLS policies:
 *
 *   npm run bench -- vs-postgraphile
 *
 * 1. An embedded Postgres (or DATABASE_URL's server) with pg_stat_statements, a fresh database
 *    tessera_vs, migrated and seeded like the platform benchmark (2 tenants × 1,000 users × 50
 *    organizations); the caller is a MEMBER of the first tenant.
 * 2. Tessera as production runs it: `npm run build`, then `node dist/main.js` (NODE_ENV=production,
 *    PROCESS_ROLE=api, the app role's URL only) in a process of its own.
 * 3. PostGraphile v4, installed on demand into .bench/postgraphile-v4 (not a project dependency; it
 *    runs on Node 20), in a process of its own (bench/vs-postgraphile/postgraphile-server.mjs):
 *    connected as tessera_app, pgSettings verifying the same access token with jose against
 *    Tessera's JWKS and setting the app.* settings app_begin sets.
 * 4. Both must return the same users and organizations (list and single user) before anything is timed.
 * 5. For each query, phases interleaved T, PG, T, PG, T, PG (50 connections, autocannon in a third
 *    process): req/s, p50/p99, non-2xx, each server's CPU ms per request, Postgres CPU ms per
 *    request, peak RSS; idle RSS; the ratios (and, logged, the statements each sends per request).
 * Results: stdout and .bench/vs-postgraphile.md. BENCH_DURATION=<s> changes the phase length (10 s),
 * BENCH_PAIRS=<n> the number of T/PG pairs (3), BENCH_CONNECTIONS=<n> the load's connections (50), BENCH_QUERIES=list|single runs one query only,
 * BENCH_CPU_PROFILE=1 writes a CPU profile of the Tessera process and prints where its time went,
 * BENCH_FLOOR=1 (or http, fastify, apollo) adds a third contender to each single-user pair, the floor (bench/vs-postgraphile/floor-server.mjs:
 * Tessera's own pool, operation scope and statements behind node:http, a Fastify route or Apollo on it), to tell the database path's cost from the layers',
 * BENCH_NODE_FLAGS='--max-semi-space-size=4' and MALLOC_ARENA_MAX=<n> (0: glibc's default) run the
 * Tessera process with those instead of the production image's (the Dockerfile's NODE_OPTIONS and CMD flags).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { TokenService } from '../src/auth/tokens.js';
import { loadSigningKeys } from '../src/auth/keys.js';
import { loadConfig } from '../src/config.js';
import { createAppDb } from '../src/db/client.js';
import { freePort } from '../src/db/embedded.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { DB_ROLES, rolePasswords, roleUrl } from '../src/db/roles.js';
import { renderProfileSummary, summarizeProfile, type CpuProfile } from './lib/cpu-profile.js';
import { freshBenchDatabase } from './lib/database.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { postgresCpuMs } from './platform/probes.js';
import { cpuMs, productionNodeFlags, rssMb, startNodeProcess, type NodeProcess } from './lib/node-process.js';
import { seedTenant } from './platform/seed.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA_DIR = path.join(ROOT, '.data/bench-vs');
const OUT_FILE = path.join(ROOT, '.bench/vs-postgraphile.md');
const PG_DIR = path.join(ROOT, '.bench/postgraphile-v4');
const POSTGRAPHILE_VERSION = '4.14.1';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_S = 2;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
const log = (msg: string) => console.log(`[bench:vs-postgraphile] ${msg}`);

type Server = 'Tessera' | 'PostGraphile';
/** What surrounds Tessera's database path in each stage of the floor (bench/vs-postgraphile/floor-server.mjs). */
const FLOOR_STAGES = { http: 'node:http', fastify: 'a Fastify route', apollo: 'Apollo Server on a Fastify route' };
interface QuerySpec {
  name: string;
  /** Each server's request body and a substring every good answer has. */
  body: Record<Server, string>;
  expect: Record<Server, string>;
}
interface Phase {
  query: string;
  server: Server | 'Floor';
  load: LoadResult;
  cpuMsPerRequest: number;
  pgCpuMsPerRequest: number | undefined;
  peakRssMb: number;
  loadAvg: [number, number];
}

async function main() {
  const t0 = Date.now();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const md = await benchmark(cleanups);
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, `${md}\n_Run ${new Date().toISOString()}, ${((Date.now() - t0) / 1000).toFixed(0)} s in total._\n`);
    console.log(`\n${md}`);
    log(`written to ${path.relative(ROOT, OUT_FILE)}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
  }
  setTimeout(() => {
    console.error('[bench:vs-postgraphile] still running 5 s after the end; open handles:', process.getActiveResourcesInfo());
    process.exit(2);
  }, 5000).unref();
}

async function benchmark(cleanups: (() => Promise<unknown>)[]): Promise<string> {
  // PostGraphile first: if it can't be installed there is nothing to compare.
  await ensurePostGraphile();

  // 1. Database and data.
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, 'tessera_vs', { settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=top'] });
  if (embedded) cleanups.push(() => embedded.stop());
  const pgDir = embedded ? path.join(DATA_DIR, 'pg') : undefined;
  const passwords = Object.fromEntries(
    (['APP', 'INGEST', 'PLATFORM', 'SYSTEM', 'QUEUE', 'RATE_LIMIT'] as const).map((p) => [`${p}_DATABASE_PASSWORD`, `bench-${p.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`]),
  );
  const jwk = JSON.stringify(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }));
  const config = loadConfig({ NODE_ENV: 'production', PROCESS_ROLE: 'migrate', DATABASE_URL: ownerUrl, ...passwords });
  await migrateDatabase(ownerUrl, rolePasswords(config));
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  cleanups.push(() => owner.end({ timeout: 5 }));
  const statsAvailable = await owner`create extension if not exists pg_stat_statements`.then(
    () => true,
    (err: unknown) => (log(`pg_stat_statements unavailable (${(err as Error).message}): no statement counts`), false),
  );
  const platformDb = createAppDb({ url: roleUrl(config, 'platform', ownerUrl), max: 2, statementTimeoutMs: 30_000 });
  const seeded = await seedTenant({ platformDb } as never, owner, 'acme', 'Acme Corp');
  await seedTenant({ platformDb } as never, owner, 'globex', 'Globex Inc');
  await platformDb.$client.end({ timeout: 5 });
  await owner`analyze`;
  const [one] = await owner<{ id: string }[]>`select id from users where tenant_id = ${seeded.id} order by created_at, id offset 7 limit 1`;
  const tokens = new TokenService(await loadSigningKeys({ ...config, JWT_PRIVATE_JWK: jwk }), config);
  const { token } = await tokens.signUserToken(seeded.member);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  log(`seeded; caller ${seeded.member.id} (MEMBER of ${seeded.slug})`);

  // 2. Tessera, built and run as in production.
  log('building Tessera (npm run build)');
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000 });
  const appUrl = deriveAppUrl(ownerUrl, passwords.APP_DATABASE_PASSWORD!);
  const tPort = await freePort();
  const profileDir = process.env.BENCH_CPU_PROFILE === '1' ? fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cpu-')) : undefined;
  const { nodeFlags, arenas } = productionNodeFlags();
  log(`Tessera runs with node ${nodeFlags.join(' ') || '(no flags)'}, MALLOC_ARENA_MAX=${arenas}`);
  const tessera = await startNodeProcess('Tessera', log, [...nodeFlags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'dist/main.js'], {
    NODE_ENV: 'production',
    PROCESS_ROLE: 'api',
    HOST: '127.0.0.1',
    PORT: String(tPort),
    LOG_LEVEL: 'warn',
    APP_DATABASE_URL: appUrl,
    ...passwords,
    DATA_DIR,
    JWT_PRIVATE_JWK: jwk,
    PLATFORM_OPERATOR_PASSWORD: 'bench-operator-password',
    INTEGRATION_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    METRICS_TOKEN: crypto.randomBytes(16).toString('hex'),
    ...(arenas !== '0' ? { MALLOC_ARENA_MAX: arenas } : {}),
    // The tenant budget is checked on every request (leases of 1 %), set high enough that the
    // benchmark's own rate never meets it.
    RATE_LIMIT_TENANT_PRO_PER_MINUTE: '10000000',
    HEALTH_CHECK_CRON: 'off',
    SYNC_INCREMENTAL_CRON: 'off',
    SYNC_FULL_CRON: 'off',
  }, `http://127.0.0.1:${tPort}/readyz`);
  cleanups.push(() => tessera.stop());

  // 3. PostGraphile, as tessera_app, trusting Tessera's JWKS.
  const pPort = await freePort();
  const graphile = await startNodeProcess('PostGraphile', log, ['bench/vs-postgraphile/postgraphile-server.mjs'], {
    NODE_ENV: 'production',
    PORT: String(pPort),
    DATABASE_URL: appUrl,
    POSTGRAPHILE_DIR: PG_DIR,
    JWKS_URL: `http://127.0.0.1:${tPort}/.well-known/jwks.json`,
    JWT_ISSUER: config.JWT_ISSUER,
    JWT_AUDIENCE: config.JWT_AUDIENCE,
  }, undefined, { url: `http://127.0.0.1:${pPort}/graphql`, headers });
  cleanups.push(() => graphile.stop());
  const urls: Record<Server, string> = { Tessera: `http://127.0.0.1:${tPort}/graphql`, PostGraphile: `http://127.0.0.1:${pPort}/graphql` };
  const procs: Record<Server, NodeProcess> = { Tessera: tessera, PostGraphile: graphile };
  // The floor (BENCH_FLOOR): Tessera's transaction for the single user with little around it (the same Node flags and allocator arenas).
  const floorStage = process.env.BENCH_FLOOR === '1' ? 'http' : process.env.BENCH_FLOOR;
  if (floorStage && !(floorStage in FLOOR_STAGES)) throw new Error(`BENCH_FLOOR must be 1 or one of ${Object.keys(FLOOR_STAGES).join(', ')}, not ${floorStage}`);
  const fPort = await freePort();
  const floorUrl = `http://127.0.0.1:${fPort}/graphql`;
  const floor = floorStage
      ? await startNodeProcess('Floor', log, [...nodeFlags, 'bench/vs-postgraphile/floor-server.mjs'], { FLOOR_STAGE: floorStage, PORT: String(fPort), ...(arenas !== '0' ? { MALLOC_ARENA_MAX: arenas } : {}), DATABASE_URL: appUrl, JWKS_URL: `http://127.0.0.1:${tPort}/.well-known/jwks.json`, JWT_ISSUER: config.JWT_ISSUER, JWT_AUDIENCE: config.JWT_AUDIENCE }, floorUrl)
      : undefined;
  if (floor) cleanups.push(() => floor.stop());

  // 4. The queries, and the same answers from both.
  const queries: QuerySpec[] = [
    {
      name: 'users(first: 20) with organizations',
      body: {
        Tessera: JSON.stringify({ query: '{ users(first: 20) { edges { node { id email organizations { name } } } } }' }),
        PostGraphile: JSON.stringify({
          query:
            '{ allUsers(first: 20, orderBy: [CREATED_AT_ASC, ID_ASC]) { edges { node { id email organizationMembershipsByTenantIdAndUserId { nodes { organizationByTenantIdAndOrganizationId { name } } } } } } }',
        }),
      },
      expect: { Tessera: '"organizations":[{"name"', PostGraphile: '"organizationByTenantIdAndOrganizationId":{"name"' },
    },
    {
      name: 'one user by id with organizations',
      body: {
        Tessera: JSON.stringify({ query: `{ user(id: "${one!.id}") { id email organizations { name } } }` }),
        PostGraphile: JSON.stringify({
          query: `{ userByTenantIdAndId(tenantId: "${seeded.id}", id: "${one!.id}") { id email organizationMembershipsByTenantIdAndUserId { nodes { organizationByTenantIdAndOrganizationId { name } } } } }`,
        }),
      },
      expect: { Tessera: '"organizations":[{"name"', PostGraphile: '"organizationByTenantIdAndOrganizationId":{"name"' },
    },
  ];
  const ask = async (server: Server, body: string) => {
    const res = await fetch(urls[server], { method: 'POST', headers, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${server}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    const json = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
    if (json.errors?.length || !json.data) throw new Error(`${server}: ${text.slice(0, 500)}`);
    return json.data;
  };
  for (const q of queries) {
    const t = normalize(await ask('Tessera', q.body.Tessera));
    const p = normalize(await ask('PostGraphile', q.body.PostGraphile));
    if (JSON.stringify(t) !== JSON.stringify(p)) throw new Error(`${q.name}: the servers disagree\nTessera:      ${JSON.stringify(t).slice(0, 600)}\nPostGraphile: ${JSON.stringify(p).slice(0, 600)}`);
    if (!t.length || t.some((u) => !u.email.endsWith(`@${seeded.slug}.test`))) throw new Error(`${q.name}: expected the caller's tenant's users only`);
    log(`${q.name}: both return the same ${t.length} user(s) and ${t.reduce((s, u) => s + u.organizations.length, 0)} organization memberships`);
    if (floor && q.name.startsWith('one user')) {
      const res = await fetch(floorUrl, { method: 'POST', headers, body: q.body.Tessera });
      const f = normalize(((await res.json()) as { data: unknown }).data);
      if (JSON.stringify(f) !== JSON.stringify(t)) throw new Error(`${q.name}: the floor disagrees: ${JSON.stringify(f).slice(0, 600)}`);
    }
  }
  const idleRss = { Tessera: rssMb(tessera.pid), PostGraphile: rssMb(graphile.pid) };
  log(`idle RSS: Tessera ${idleRss.Tessera.toFixed(0)} MB, PostGraphile ${idleRss.PostGraphile.toFixed(0)} MB`);

  // 5. Interleaved phases.
  /**
   * Calls per statement text by tessera_app so far (pg_stat_statements). Logged per request as a
   * diagnosis only: statements inside functions (app_begin's set_config calls) count too, and the
   * top-level flag proved unreliable here, so the table leaves the count out (the platform benchmark
   * counts the statements Tessera sends).
   */
  const statements = async () => {
    if (!statsAvailable) return undefined;
    const rows = await owner<{ query: string; calls: string }[]>`select query, calls::text from pg_stat_statements where userid = ${DB_ROLES.app}::regrole`;
    return new Map(rows.map((r) => [r.query, Number(r.calls)]));
  };
  const perRequest = (before: Map<string, number> | undefined, after: Map<string, number> | undefined, n: number) => {
    if (!before || !after) return undefined;
    const delta = [...after].map(([q, c]) => [q, c - (before.get(q) ?? 0)] as const).filter(([, d]) => d > 0);
    return { total: delta.reduce((s, [, d]) => s + d, 0) / n, each: delta.map(([q, d]) => `${(d / n).toFixed(1)}× ${q.replace(/\s+/g, ' ').slice(0, 80)}`) };
  };
  const phases: Phase[] = [];
  const floorPhases: Phase[] = [];
  const measure = async (query: string, server: Phase['server'], proc: NodeProcess, url: string, body: string, expect: string): Promise<Phase> => {
    let from = { cpu: 0, pg: undefined as number | undefined, load: 0 };
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(proc.pid))), 100);
    const load = await runLoad(
      { url, connections: CONNECTIONS, warmupSeconds: WARMUP_S, durationSeconds: DURATION_S, headers, body, expect },
      { onMeasuring: () => void (from = { cpu: cpuMs(proc.pid), pg: postgresCpuMs(pgDir), load: os.loadavg()[0]! }) },
    );
    clearInterval(sampler);
    const n = Math.max(1, load.totalRequests);
    const phase: Phase = {
      query,
      server,
      load,
      cpuMsPerRequest: (cpuMs(proc.pid) - from.cpu) / n,
      pgCpuMsPerRequest: from.pg !== undefined ? (postgresCpuMs(pgDir)! - from.pg) / n : undefined,
      peakRssMb: peak,
      loadAvg: [from.load, os.loadavg()[0]!],
    };
    log(
      `${query}, ${server}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.p50} ms, p99 ${load.p99} ms, non-2xx ${load.non2xx}, bad ${load.mismatches + load.errors + load.timeouts}, ` +
        `CPU ms/request server ${phase.cpuMsPerRequest.toFixed(2)}, Postgres ${phase.pgCpuMsPerRequest?.toFixed(2) ?? 'n/a'}, peak RSS ${peak.toFixed(0)} MB, load average ${phase.loadAvg.map((l) => l.toFixed(1)).join('–')}`,
    );
    return phase;
  };
  const only = process.env.BENCH_QUERIES; // 'list' or 'single': one of the two (quicker runs while working)
  for (const q of queries.filter((q) => !only || q.name.includes(only === 'list' ? 'first' : 'one user'))) {
    // Untimed: JIT, pools and Postgres caches settle for both before the first measured phase.
    for (const server of ['Tessera', 'PostGraphile'] as const) await runLoad({ url: urls[server], connections: CONNECTIONS, warmupSeconds: 0, durationSeconds: 3, headers, body: q.body[server], expect: q.expect[server] });
    if (floor) await runLoad({ url: floorUrl, connections: CONNECTIONS, warmupSeconds: 0, durationSeconds: 3, headers, body: q.body.Tessera, expect: q.expect.Tessera });
    for (let pair = 0; pair < PAIRS; pair++) {
      for (const server of ['Tessera', 'PostGraphile'] as const) phases.push(await measure(q.name, server, procs[server], urls[server], q.body[server], q.expect[server]));
      if (floor && q.name.startsWith('one user')) floorPhases.push(await measure(q.name, 'Floor', floor, floorUrl, q.body.Tessera, q.expect.Tessera));
    }
    // Statements per request: a short separate count per server (sequential requests, nothing else running).
    for (const server of ['Tessera', 'PostGraphile'] as const) {
      const before = await statements();
      for (let i = 0; i < 20; i++) await ask(server, q.body[server]);
      const per = perRequest(before, await statements(), 20); // the count runs as the owner: not counted
      if (per) log(`${q.name}, ${server}: ${per.total.toFixed(1)} statements per request: ${per.each.join(' | ')}`);
      void per;
    }
  }

  let profile = '';
  if (profileDir) {
    await tessera.stop();
    const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const prof = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile;
      const out = OUT_FILE.replace(/\.md$/, '-tessera.cpuprofile');
      fs.copyFileSync(path.join(profileDir, file), out);
      const requests = phases.filter((p) => p.server === 'Tessera').reduce((s, p) => s + p.load.totalRequests, 0);
      profile = `\n### CPU profile of the Tessera process (whole run, start-up included; ${path.relative(ROOT, out)})\n\n${renderProfileSummary(summarizeProfile(prof, 30), requests)}\n`;
    }
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
  const floorLine = floorPhases.length
    ? `\nThe floor (BENCH_FLOOR=${floorStage}: Tessera's pool, operation scope and statements, the cached token, behind ${FLOOR_STAGES[floorStage as keyof typeof FLOOR_STAGES]}), one user by id, per pair: ${floorPhases
        .map((f, i) => {
          const g = phases.filter((p) => p.query === f.query && p.server === 'PostGraphile')[i];
          return `${f.load.requestsPerSecond.toFixed(0)} req/s (${g ? (f.load.requestsPerSecond / g.load.requestsPerSecond).toFixed(2) : '?'}× PostGraphile), p99 ${f.load.p99} ms, server CPU ${f.cpuMsPerRequest.toFixed(2)} ms/req`;
        })
        .join('; ')}.\n`
    : '';
  return render(queries, phases, idleRss) + floorLine + profile;
}

interface UserShape {
  id: string;
  email: string;
  organizations: string[];
}

/** Either server's answer as [{ id, email, organizations (names, sorted) }]. */
function normalize(data: unknown): UserShape[] {
  const d = data as Record<string, any>;
  const nodes: any[] = d.users ? d.users.edges.map((e: any) => e.node) : d.allUsers ? d.allUsers.edges.map((e: any) => e.node) : [d.user ?? d.userByTenantIdAndId].filter(Boolean);
  return nodes.map((n) => ({
    id: n.id,
    email: n.email,
    organizations: (n.organizations
      ? n.organizations.map((o: any) => o.name)
      : n.organizationMembershipsByTenantIdAndUserId.nodes.map((m: any) => m.organizationByTenantIdAndOrganizationId.name)
    ).sort(),
  }));
}

function render(queries: QuerySpec[], phases: Phase[], idleRss: Record<Server, number>): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const lines: string[] = [
    `## Tessera vs PostGraphile ${POSTGRAPHILE_VERSION}`,
    '',
    `${CONNECTIONS} connections, ${DURATION_S} s per phase after ${WARMUP_S} s warm-up, phases interleaved (T, PG, T, PG, T, PG), autocannon in its own process; ` +
      `each server in its own process on Node ${process.version}, both as tessera_app under the same RLS policies, pools of 10; ` +
      `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'} shared by the servers, Postgres and the load generator.`,
    '',
    '| query | server | req/s | p50 ms | p99 ms | non-2xx / bad | CPU ms/req server | CPU ms/req Postgres | peak RSS MB | load avg |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...phases.map(
      (p) =>
        `| ${p.query} | ${p.server} | ${fmt(p.load.requestsPerSecond)} | ${p.load.p50} | ${p.load.p99} | ${p.load.non2xx} / ${p.load.mismatches + p.load.errors + p.load.timeouts} | ${p.cpuMsPerRequest.toFixed(2)} | ${p.pgCpuMsPerRequest?.toFixed(2) ?? 'n/a'} | ${p.peakRssMb.toFixed(0)} | ${p.loadAvg.map((l) => l.toFixed(1)).join('–')} |`,
    ),
    '',
    '| query | req/s T / PG (ratio, per pair) | p99 ms T / PG | CPU ms/req server T / PG | CPU ms/req Postgres T / PG | peak RSS MB T / PG | goal |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const q of queries) {
    const of = (s: Server) => phases.filter((p) => p.query === q.name && p.server === s);
    const [t, g] = [of('Tessera'), of('PostGraphile')];
    if (!t.length || !g.length) continue;
    const rps = (ps: Phase[]) => avg(ps.map((p) => p.load.requestsPerSecond));
    const pairs = t.map((p, i) => (g[i] ? p.load.requestsPerSecond / g[i]!.load.requestsPerSecond : NaN));
    const ratio = rps(t) / rps(g);
    lines.push(
      `| ${q.name} | ${fmt(rps(t))} / ${fmt(rps(g))} (**${ratio.toFixed(2)}×**; ${pairs.map((r) => r.toFixed(2)).join(', ')}) | ${fmt(avg(t.map((p) => p.load.p99)))} / ${fmt(avg(g.map((p) => p.load.p99)))} | ` +
        `${avg(t.map((p) => p.cpuMsPerRequest)).toFixed(2)} / ${avg(g.map((p) => p.cpuMsPerRequest)).toFixed(2)} | ` +
        `${avg(t.map((p) => p.pgCpuMsPerRequest ?? NaN)).toFixed(2)} / ${avg(g.map((p) => p.pgCpuMsPerRequest ?? NaN)).toFixed(2)} | ` +
        `${Math.max(...t.map((p) => p.peakRssMb)).toFixed(0)} / ${Math.max(...g.map((p) => p.peakRssMb)).toFixed(0)} | ${ratio >= 1.5 ? '≥ 1.5× met' : ratio >= 1 ? 'parity, not 1.5×' : 'below parity'} |`,
    );
  }
  const peakT = Math.max(...phases.filter((p) => p.server === 'Tessera').map((p) => p.peakRssMb));
  const peakG = Math.max(...phases.filter((p) => p.server === 'PostGraphile').map((p) => p.peakRssMb));
  lines.push(
    '',
    `RSS idle (after start-up and the answer check): Tessera ${idleRss.Tessera.toFixed(0)} MB (goal < 150), PostGraphile ${idleRss.PostGraphile.toFixed(0)} MB; ` +
      `peak under load: Tessera ${peakT.toFixed(0)} MB (goal < 250), PostGraphile ${peakG.toFixed(0)} MB.`,
    '',
    'CPU per request: the server process\'s utime + stime (/proc) over the measured window, divided by its requests; Postgres: every backend of the embedded server.',
  );
  if (Math.max(...phases.flatMap((p) => p.loadAvg)) > os.cpus().length) {
    lines.push('', `⚠ The machine was busy (1-min load average up to ${Math.max(...phases.flatMap((p) => p.loadAvg)).toFixed(1)} on ${os.cpus().length} CPUs): absolute figures are low and noisy; the interleaved ratios and CPU per request are the comparisons to trust.`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

/** PostGraphile v4 in .bench/postgraphile-v4, installed with npm the first time. */
async function ensurePostGraphile() {
  const installed = path.join(PG_DIR, 'node_modules/postgraphile/package.json');
  if (fs.existsSync(installed) && (JSON.parse(fs.readFileSync(installed, 'utf8')) as { version: string }).version === POSTGRAPHILE_VERSION) return;
  log(`installing postgraphile@${POSTGRAPHILE_VERSION} into ${path.relative(ROOT, PG_DIR)} (outside the project's dependencies)`);
  fs.mkdirSync(PG_DIR, { recursive: true });
  fs.writeFileSync(path.join(PG_DIR, 'package.json'), JSON.stringify({ private: true, description: 'PostGraphile for bench/vs-postgraphile.ts' }));
  await promisify(execFile)('npm', ['install', '--prefix', PG_DIR, '--no-audit', '--no-fund', '--no-package-lock', `postgraphile@${POSTGRAPHILE_VERSION}`], { timeout: 300_000 });
}

await main();
