/**
 * Import benchmark: N users (default 100,000) imported end to end through the real path: a CSV
 * streamed over HTTP to POST /imports/users (validated, staged), then the user-import pg-boss job
 * applying it in batches of IMPORT_BATCH_ROWS through createUsers. The file is generated as a
 * stream (never whole in memory, here or in the server). Reports upload time, apply time, total,
 * rows/s, and this process's peak RSS and V8 heap (server and worker run in it), sampled every 50 ms.
 *
 *   npm run bench -- import [rows=100000]
 *
 * With no DATABASE_URL an embedded Postgres is started in .data/bench-import.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { closeApp, createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { deriveAppUrl, migrateDatabase } from '../src/db/migrate.js';
import { rolePasswords } from '../src/db/roles.js';
import { startHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { QUEUES } from '../src/jobs/queues.js';
import { createSeed } from '../tests/helpers/seed.js';
import { freshBenchDatabase } from './lib/database.js';
import { sampleMemory } from './lib/memory.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = path.join(ROOT, '.data/bench-import');
const OUT_FILE = path.join(ROOT, '.bench/import.md');
const ROWS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
const log = (msg: string) => console.log(`[bench:import] ${msg}`);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** The CSV, produced in chunks of 1,000 lines as the upload reads it. */
function csvStream(rows: number): Readable {
  let i = 0;
  return Readable.from(
    (function* () {
      yield 'email,name,role\n';
      while (i < rows) {
        const lines: string[] = [];
        for (let k = 0; k < 1000 && i < rows; k++, i++) lines.push(`user${i}@import-bench.test,Imported User ${i},${i % 20 === 0 ? 'VIEWER' : 'MEMBER'}`);
        yield `${lines.join('\n')}\n`;
      }
    })(),
  );
}

async function main() {
  const { ownerUrl, embedded } = await freshBenchDatabase(DATA_DIR, 'tessera_bench_import');
  const appPassword = 'bench_app_password';
  await migrateDatabase(ownerUrl, rolePasswords(loadConfig({ NODE_ENV: 'test', APP_DATABASE_PASSWORD: appPassword })));
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR, DATABASE_URL: ownerUrl, APP_DATABASE_PASSWORD: appPassword, JOB_POLL_INTERVAL_SECONDS: '0.5', RATE_LIMITS_ENABLED: 'false' });
  const app = await createApp(config, deriveAppUrl(ownerUrl, appPassword), createLogger('warn'));
  const http = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  const seeded = await createSeed(app).tenant();
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  log(`${ROWS} rows; batch ${config.IMPORT_BATCH_ROWS}; Node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);

  const memory = sampleMemory();
  const { base, peaks } = memory;
  const t0 = performance.now();
  const res = await fetch(`${http.url}/imports/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${seeded.owner.token}`, 'content-type': 'text/csv' },
    body: csvStream(ROWS) as unknown as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const uploaded = (await res.json()) as { id: string; status: string; validRows: number };
  const tUpload = performance.now();
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${JSON.stringify(uploaded)}`);
  app.jobs.wake(QUEUES.userImport);
  let final: any;
  for (;;) {
    const [row] = await owner`select * from import_jobs where id = ${uploaded.id}`;
    if (row?.status === 'SUCCEEDED' || row?.status === 'FAILED') {
      final = row;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const tDone = performance.now();
  memory.stop();
  const upload = (tUpload - t0) / 1000;
  const apply = (tDone - tUpload) / 1000;
  const total = (tDone - t0) / 1000;
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  log(`${final.status}: created ${final.created_rows}, failed ${final.failed_rows}; upload ${upload.toFixed(1)} s, apply ${apply.toFixed(1)} s, total ${total.toFixed(1)} s = ${Math.round(ROWS / total)} rows/s; RSS ${mb(base.rss)} → peak ${mb(peaks.rss)} MB, heap ${mb(base.heapUsed)} → peak ${mb(peaks.heapUsed)} MB; load ${load}`);
  const md = [
    `# Import benchmark: ${ROWS} rows (CSV over HTTP → staged → user-import job, batches of ${config.IMPORT_BATCH_ROWS}), Node ${process.version}`,
    '',
    `load average at the end: ${load} (${os.cpus().length} cores)`,
    '',
    '| status | created / failed | upload (stream, validate, stage) | apply (job) | total | rows/s | RSS MB (start → peak) | heap MB (start → peak) |',
    '|---|---|---:|---:|---:|---:|---|---|',
    `| ${final.status} | ${final.created_rows} / ${final.failed_rows} | ${upload.toFixed(1)} s | ${apply.toFixed(1)} s | ${total.toFixed(1)} s | ${Math.round(ROWS / total)} | ${mb(base.rss)} → ${mb(peaks.rss)} | ${mb(base.heapUsed)} → ${mb(peaks.heapUsed)} |`,
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  fs.writeFileSync(OUT_FILE, md);
  log(`written to ${path.relative(ROOT, OUT_FILE)}`);
  await owner.end();
  await http.close();
  await closeApp(app);
  await embedded?.stop();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
