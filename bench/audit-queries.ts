/**
 * auditLogs on a tenant with 1,000,000 entries: EXPLAIN ANALYZE of each filter the API offers, run as
 * the app role under RLS (the way the service runs them), plus the timing of a full chain check.
 *
 *   npm run bench -- audit-queries      (AUDIT_ROWS=1000000 by default)
 *
 * The entries are generated in bulk by the owner (realistic mix of tables, actors and actions, one
 * year of history, a second tenant with a tenth as many) with placeholder hashes: the chain check is
 * timed, its verdict is not the point. Results: stdout and .bench/audit-queries.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { freshBenchDatabase } from './lib/database.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { actors, appBegin } from '../src/db/tenant-transaction.js';
import { rolePasswords } from '../src/db/roles.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = path.join(ROOT, '.data/bench-audit');
const OUT_FILE = path.join(ROOT, '.bench/audit-queries.md');
const DB = 'tessera_bench_audit';
const ROWS = Number(process.env.AUDIT_ROWS ?? 1_000_000);

const log = (msg: string) => console.log(`[bench:audit-queries] ${msg}`);

const COLUMNS = 'seq, occurred_at, actor_type, actor_id, action, entity_type, entity_id, changes, request_id, client_ip, user_agent, prev_hash, hash';

async function main() {
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, DB);
  const config = loadConfig({ LOG_LEVEL: 'silent', DATA_DIR, DATABASE_URL: ownerUrl });
  await migrateDatabase(ownerUrl, rolePasswords(config));
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  const app = postgres(deriveAppUrl(ownerUrl, config.APP_DATABASE_PASSWORD), { max: 1, onnotice: () => {} });
  const lines: string[] = [];
  try {
    const [a] = await owner`insert into tenants (slug, name, plan) values ('big', 'Big', 'ENTERPRISE') returning id`;
    const [b] = await owner`insert into tenants (slug, name) values ('other', 'Other') returning id`;
    await owner`delete from audit_logs`; // the two tenants' own INSERT entries: the generated chains start at 1
    await owner`delete from audit_chain_heads`;
    const t0 = Date.now();
    await generate(owner, a!.id as string, ROWS);
    await generate(owner, b!.id as string, Math.round(ROWS / 10));
    await owner`vacuum analyze audit_logs`;
    const [{ size }] = (await owner`select pg_size_pretty(pg_total_relation_size('audit_logs')) as size`) as unknown as [{ size: string }];
    log(`generated ${ROWS} + ${Math.round(ROWS / 10)} entries in ${((Date.now() - t0) / 1000).toFixed(0)} s; audit_logs with indexes: ${size}`);
    lines.push(`# auditLogs on ${ROWS.toLocaleString('en-US')} entries (${new Date().toISOString()})`, '', `audit_logs with indexes: ${size}; a second tenant holds ${Math.round(ROWS / 10).toLocaleString('en-US')} more. Each query runs as tessera_app under RLS, 21 rows (a page of 20 + 1), newest first.`, '');
    lines.push("| filter | ms, plan for the values | ms, generic plan (the app's) | generic plan (top nodes) |", '|---|---|---|---|');

    const mid = new Date(Date.now() - 180 * 86_400_000).toISOString();
    const midEnd = new Date(Date.now() - 170 * 86_400_000).toISOString();
    const [sample] = await owner`select entity_id, actor_id from audit_logs where tenant_id = ${a!.id} and entity_type = 'users' order by seq desc limit 1 offset 5000`;
    // Each filter with its values as parameters ($n), as the service sends them (prepared): timed with a
    // plan for those values (custom) and with the one plan for any values (generic), which is what the
    // app's pools use (plan_cache_mode=force_generic_plan, src/db/client.ts).
    const from = (p: string) => `seq >= (select f.seq from audit_logs f where f.occurred_at >= ${p} order by f.occurred_at, f.seq limit 1)`;
    const to = (p: string) => `seq <= (select t.seq from audit_logs t where t.occurred_at < ${p} order by t.occurred_at desc, t.seq desc limit 1)`;
    const cases: [string, string, (string | number)[]][] = [
      ['none (first page)', 'true', []],
      ['none, page after seq 500,000 (cursor)', 'seq < $1', [500000]],
      ['entityType + entityId', 'entity_type = $1 and entity_id = $2', ['users', sample!.entity_id as string]],
      ['actorId', 'actor_id = $1', [sample!.actor_id as string]],
      ['action (rare: LOGIN_FAILED, 1 %)', 'action = $1', ['LOGIN_FAILED']],
      ['action that never occurs', 'action = $1', ['NO_SUCH_ACTION']],
      ['actorType (SYSTEM, 10 %)', 'actor_type = $1::actor_type', ['SYSTEM']],
      ['time range (10 days, 6 months ago)', `${from('$1::timestamptz')} and ${to('$2::timestamptz')}`, [mid, midEnd]],
      ['actorId + time range', `actor_id = $1 and ${from('$2::timestamptz')} and ${to('$3::timestamptz')}`, [sample!.actor_id as string, mid, midEnd]],
    ];
    const literal = (v: string | number) => (typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
    for (const [name, where, values] of cases) {
      const timed = async (mode: 'force_custom_plan' | 'force_generic_plan') => {
        const plan = await app.begin(async (tx) => {
          await appBegin(tx, actors.system('bench', a!.id));
          await tx.unsafe(`set local plan_cache_mode = ${mode}`);
          await tx.unsafe(`prepare page as select ${COLUMNS} from audit_logs where ${where} order by seq desc limit 21`);
          const out = await tx.unsafe(`explain (analyze, buffers, format json) execute page${values.length ? `(${values.map(literal).join(', ')})` : ''}`);
          await tx.unsafe('deallocate page');
          return out;
        });
        const json = (plan[0] as Record<string, any>)['QUERY PLAN'][0];
        return { ms: json['Execution Time'] as number, nodes: flatten(json.Plan).slice(0, 3).join(' → '), plan: json.Plan };
      };
      const custom = await timed('force_custom_plan');
      const generic = await timed('force_generic_plan');
      lines.push(`| ${name} | ${custom.ms.toFixed(2)} | ${generic.ms.toFixed(2)} | ${generic.nodes} |`);
      log(`${name}: ${custom.ms.toFixed(2)} ms (${custom.nodes}); generic plan ${generic.ms.toFixed(2)} ms (${generic.nodes})`);
      if (process.env.SHOW_PLANS) log(JSON.stringify(generic.plan, null, 1));
    }
    // The generated hashes are placeholders, so verify_chain would stop at entry 1; time what a check
    // of a valid chain does instead: read every entry in seq order and hash it.
    const t1 = Date.now();
    await app.begin(async (tx) => {
      await appBegin(tx, actors.system('bench', a!.id));
      await tx`set local statement_timeout = 0`;
      return tx`select count(*) from (select audit.entry_hash(l) = l.hash as ok, lag(l.hash) over (order by l.seq) as prev from audit_logs l) x where not ok`;
    });
    const verifyMs = Date.now() - t1;
    log(`hashing all ${ROWS} entries in order (the work of auditIntegrity): ${verifyMs} ms`);
    lines.push('', `auditIntegrity's work over all ${ROWS.toLocaleString('en-US')} entries (read in seq order, hash each): ${(verifyMs / 1000).toFixed(1)} s.`, '');
  } finally {
    await app.end();
    await owner.end();
    await embedded?.stop();
  }
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  fs.writeFileSync(OUT_FILE, lines.join('\n'));
  console.log(`\n${lines.join('\n')}`);
}

/** Bulk entries: 1 year of history, 300 actors, 20,000 entities, the action mix of a busy tenant. */
async function generate(owner: postgres.Sql, tenantId: string, n: number) {
  const batch = 200_000;
  for (let start = 1; start <= n; start += batch) {
    const end = Math.min(n, start + batch - 1);
    await owner.unsafe(
      `insert into audit_logs (tenant_id, ${COLUMNS})
       select $1::uuid, i, now() - interval '365 days' + (i::float8 / $2) * interval '365 days',
         (case when r < 0.85 then 'USER' when r < 0.9 then 'INTEGRATION' else 'SYSTEM' end)::actor_type,
         'actor-' || (hashint4(i) & 1023) % 300,
         case when r2 < 0.2 then 'INSERT' when r2 < 0.84 then 'UPDATE' when r2 < 0.89 then 'DELETE' when r2 < 0.99 then 'LOGIN_SUCCEEDED' else 'LOGIN_FAILED' end,
         case when r3 < 0.5 then 'users' when r3 < 0.7 then 'organizations' when r3 < 0.95 then 'organization_memberships' else 'USER' end,
         md5(((hashint4(i * 7) & 65535) % 20000)::text)::uuid::text,
         jsonb_build_object('name', jsonb_build_object('old', 'Before ' || i, 'new', 'After ' || i)),
         md5(i::text), '10.0.' || (i % 250) || '.' || (i % 200), 'Mozilla/5.0 (bench)', md5((i - 1)::text) || md5(i::text), md5(i::text) || md5((i + 1)::text)
       from (select i, (hashint4(i) & 65535) / 65536.0 as r, (hashint4(i + 1) & 65535) / 65536.0 as r2, (hashint4(i + 2) & 65535) / 65536.0 as r3
             from generate_series(${start}, ${end}) i) g`,
      [tenantId, n],
    );
  }
  const [last] = await owner`select seq, hash, occurred_at from audit_logs where tenant_id = ${tenantId} order by seq desc limit 1`;
  await owner`insert into audit_chain_heads (tenant_id, seq, hash, last_at, anchor_seq, anchor_hash) values (${tenantId}, ${last!.seq}, ${last!.hash}, ${last!.occurred_at}, 0, ${'0'.repeat(64)})
              on conflict (tenant_id) do update set seq = excluded.seq, hash = excluded.hash, last_at = excluded.last_at`;
}

function flatten(plan: Record<string, any>): string[] {
  const label = `${plan['Node Type']}${plan['Index Name'] ? ` (${plan['Index Name']})` : ''}`;
  return [label, ...((plan.Plans as Record<string, any>[] | undefined) ?? []).filter((p) => p['Parent Relationship'] !== 'InitPlan').flatMap(flatten)];
}


await main();
