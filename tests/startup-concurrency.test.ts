import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ROLE_PASSWORDS_ENV, withDatabase } from './helpers/global-setup.js';
import { freePorts, isAlive, startProcess, type ServerProcess } from './helpers/process.js';

/**
 * Processes started at the same moment on an empty database (a deploy, a compose `up`): two
 * all-in-one processes migrate and seed, an API and a worker wait for the migrations; all four set up
 * the job queues. Before the start-up lock, pg-boss's createQueue deadlocked and two seeds collided
 * on tenants_slug_key in 11 of 12 tries.
 */
const base = inject('ownerBaseUrl');
const database = `tessera_test_fresh_${crypto.randomBytes(4).toString('hex')}`;
const dirs: string[] = [];
const procs: ServerProcess[] = [];

afterAll(async () => {
  for (const p of procs) if (isAlive(p.pid)) p.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

it('two all-in-one processes, an API and a worker started together on an empty database all become ready', async () => {
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  const ownerUrl = withDatabase(base, database);

  for (const role of ['all', 'all', 'api', 'worker']) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-concurrent-'));
    dirs.push(dataDir);
    const { PORT } = await freePorts();
    procs.push(
      startProcess({
        env: {
          PROCESS_ROLE: role,
          PORT,
          DATA_DIR: dataDir,
          DATABASE_URL: ownerUrl,
          ...ROLE_PASSWORDS_ENV, // roles are cluster-wide: keep the passwords every test uses
          SEED_DEMO: 'true',
          MOCK_SERVICES: 'false',
          HEALTH_CHECK_CRON: 'off',
          SYNC_INCREMENTAL_CRON: 'off',
          SYNC_FULL_CRON: 'off',
        },
      }),
    );
  }
  await Promise.all(procs.map((p) => p.waitFor(/"msg":"Tessera ready"/, 240_000)));

  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    expect(await owner`select slug from tenants where slug = 'demo'`).toHaveLength(1);
    const [row] = await owner<{ n: number }[]>`select count(*)::int as n from pgboss.queue`;
    expect(row!.n).toBeGreaterThan(5);
  } finally {
    await owner.end();
  }
  for (const p of procs) p.child.kill('SIGTERM');
  const exits = await Promise.all(procs.map((p) => p.exited));
  expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);
  for (const p of procs) expect(p.errorLines()).toEqual([]);
}, 300_000);
