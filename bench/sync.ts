/**
 * Sync benchmark: a FULL sync of N users (default 10,000) from the mock user service, through the
 * real path (triggerSync's service → pg-boss job → worker → outbound client → apply → Postgres).
 * Reports time, rows/s, and this process's RSS and V8 heap sampled every 50 ms during each run, to
 * show memory held flat (pages are streamed and written in batches).
 *
 *   npm run bench -- sync [users=10000]
 *   node --max-old-space-size=64 --import tsx bench/sync.ts 30000   (proves the working set is bounded)
 *
 * The mock services run in a child process, so their in-memory store is not in our figures. With no
 * DATABASE_URL an embedded Postgres is started in .data/bench-sync. Phases: FULL (all created), FULL
 * again (all unchanged: the mark-and-sweep pass over an unchanged directory), INCREMENTAL after 100
 * touched records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { closeApp, createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { freePort } from '../src/db/embedded.js';
import { freshBenchDatabase } from './lib/database.js';
import { sampleMemory } from './lib/memory.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { rolePasswords } from '../src/db/roles.js';
import { actors, inTenant, ShortTransactionScope } from '../src/db/tenant-transaction.js';
import { createLogger } from '../src/logger.js';
import { createIntegration } from '../src/modules/integrations/service.js';
import { requestSync } from '../src/modules/sync/service.js';
import { QUEUES } from '../src/jobs/queues.js';
import { createSeed } from '../tests/helpers/seed.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = path.join(ROOT, '.data/bench-sync');
const BENCH_DB = 'tessera_bench_sync';
const OUT_FILE = path.join(ROOT, '.bench/sync.md');
// `npm run bench -- sync 30000` passes the name too: take the first numeric argument.
const USERS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 10_000);
const log = (msg: string) => console.log(`[bench:sync] ${msg}`);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function startMockProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/mock-services/main.ts')], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`mock services exited with ${code}`)));
  });
  child.stdout!.resume();
  return child;
}


async function main() {
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, BENCH_DB);
  const appPassword = 'bench_app_password';
  await migrateDatabase(ownerUrl, rolePasswords(loadConfig({ NODE_ENV: 'test', APP_DATABASE_PASSWORD: appPassword })));

  const mockPort = await freePort();
  const mock = await startMockProcess(mockPort);
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  const control = (p: string, body: unknown) => fetch(`${mockUrl}/_control${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  await control('/reset', { seedUsers: USERS });

  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR, DATABASE_URL: ownerUrl, APP_DATABASE_PASSWORD: appPassword, JOB_POLL_INTERVAL_SECONDS: '0.5' });
  const app = await createApp(config, deriveAppUrl(ownerUrl, appPassword), createLogger((process.env.BENCH_LOG_LEVEL ?? 'warn') as 'warn'));
  const seeded = await createSeed(app).tenant();
  const tenantId = seeded.tenant.id;
  const scope = new ShortTransactionScope(app.db, actors.system('bench', tenantId));
  const { integration } = await createIntegration(scope, app, { provider: 'USER_SERVICE', name: 'Bench directory', baseUrl: `${mockUrl}/user-service`, apiKey: 'bench-key' });
  log(`${USERS} users at the provider; page size ${config.SYNC_PAGE_SIZE}; Node ${process.version}`);

  const phase = async (name: string, mode: 'FULL' | 'INCREMENTAL') => {
    const memory = sampleMemory();
    const { base, peaks } = memory;
    const t0 = performance.now();
    const { run } = await inTenant(app.db, actors.system('bench', tenantId), (tx) => requestSync(app, tx, tenantId, { integrationId: integration.id, mode, trigger: 'MANUAL' }));
    app.jobs.wake(QUEUES.sync);
    let final: any;
    for (;;) {
      const [row] = await admin2`select * from sync_runs where id = ${run.id}`;
      if (row?.status === 'SUCCEEDED' || row?.status === 'FAILED') {
        final = row;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    memory.stop();
    const rows = final.created + final.updated + final.deleted + final.unchanged + final.failed;
    results.push(
      `| ${name} | ${final.status} | ${seconds.toFixed(2)} s | ${Math.round(rows / seconds)} | ${final.created} / ${final.updated} / ${final.deleted} / ${final.unchanged} / ${final.failed} | ${mb(base.rss)} → ${mb(peaks.rss)} | ${mb(base.heapUsed)} → ${mb(peaks.heapUsed)} |`,
    );
    log(
      `${name.padEnd(28)} ${final.status}  ${seconds.toFixed(2)} s  ${Math.round(rows / seconds)} rows/s  (created ${final.created}, updated ${final.updated}, deleted ${final.deleted}, unchanged ${final.unchanged}, failed ${final.failed})  ` +
        `RSS ${mb(base.rss)} → peak ${mb(peaks.rss)} MB  heap ${mb(base.heapUsed)} → peak ${mb(peaks.heapUsed)} MB`,
    );
    return { name, seconds, rows, peakRss: peaks.rss, peakHeap: peaks.heapUsed };
  };

  const results: string[] = [];
  const admin2 = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  await phase(`FULL, ${USERS} new`, 'FULL');
  await phase(`FULL, ${USERS} unchanged`, 'FULL');
  const page = (await fetch(`${mockUrl}/user-service/users?limit=100`, { headers: { authorization: 'Bearer bench-key' } }).then((r) => r.json())) as { data: { id: string }[] };
  for (const u of page.data) await fetch(`${mockUrl}/_control/users/${u.id}/touch`, { method: 'POST' });
  await phase('INCREMENTAL, 100 touched', 'INCREMENTAL');

  const md = [
    `# Sync benchmark: ${USERS} users, page size ${config.SYNC_PAGE_SIZE}, Node ${process.version}${process.execArgv.find((a) => a.startsWith('--max-old-space-size')) ? `, ${process.execArgv.find((a) => a.startsWith('--max-old-space-size'))}` : ''}`,
    '',
    `load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    '| phase | status | time | rows/s | created / updated / deleted / unchanged / failed | RSS MB (start → peak) | heap MB (start → peak) |',
    '|---|---|---:|---:|---|---|---|',
    ...results,
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  fs.writeFileSync(OUT_FILE, md);
  log(`written to ${path.relative(ROOT, OUT_FILE)}`);
  await admin2.end();
  await closeApp(app);
  mock.kill('SIGTERM');
  await embedded?.stop();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
