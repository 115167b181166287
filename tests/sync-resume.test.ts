/**
 * A worker process killed in the middle of a sync: the job comes back after expiry, another process
 * resumes the same run, and it ends with every record applied once.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { spawnWorker } from './helpers/spawn-worker.js';
import { createTestIntegration, mockControl } from './helpers/integrations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { FAST_JOBS_ENV, syncRun, triggerSync, waitForRun } from './helpers/sync.js';
import { waitFor } from './helpers/wait.js';

const USERS = 30;
const env = { ...FAST_JOBS_ENV, SYNC_PAGE_SIZE: '5', SYNC_JOB_EXPIRE_SECONDS: '3', SYNC_STALE_AFTER_SECONDS: '2', SYNC_INCREMENTAL_CRON: 'off', SYNC_FULL_CRON: 'off' };

let api: TestServer;
let mock: MockServices;
let worker: ChildProcess | undefined;
let rescuer: TestServer | undefined;

beforeAll(async () => {
  // The API process only enqueues; the worker process is the only one working until it dies.
  [api, mock] = await Promise.all([startTestServer({ env: { ...env, PROCESS_ROLE: 'api' } }), startMockServices({ port: 0, seedUsers: USERS })]);
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await rescuer?.close();
  await api?.close();
  await mock?.close();
});

describe('a sync worker killed mid-run', () => {
  it('the run is resumed by another process and ends with every record applied once', async () => {
    const t = await api.seed.tenant();
    const { target } = await createTestIntegration(api.app, mock, t.tenant.id, 'USER_SERVICE');
    worker = await spawnWorker(api, env);

    // Slow pages, so the run is caught half way.
    await mockControl(mock).faults({ service: 'user-service', latencyMs: 400 });
    const res = await triggerSync(api, t.owner.token, target.id, 'FULL');
    const runId = res.data.triggerSync.run.id;
    let partial: any;
    await waitFor(async () => {
      partial = await syncRun(api, t.owner.token, runId);
      return partial?.status === 'RUNNING' && partial.created >= 5;
    }, { timeoutMs: 15_000, message: 'some pages to be committed' });
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    await mockControl(mock).clearFaults();
    partial = await syncRun(api, t.owner.token, runId);
    expect(partial.status).toBe('RUNNING');
    expect(partial.created).toBeLessThan(USERS);

    rescuer = await startTestServer({ database: new URL(api.databaseUrl.owner).pathname.slice(1), env });
    const done = await waitForRun(api, t.owner.token, runId, 30_000);
    // Resumed from the start (FULL): what the dead worker applied comes back 'unchanged'.
    expect(done).toMatchObject({ status: 'SUCCEEDED', created: USERS, deleted: 0, failed: 0 });
    expect(done.unchanged).toBe(partial.created);
    const [mirrored] = await api.ownerSql`select count(*)::int as n from users where external_source = ${target.id}`;
    expect(mirrored!.n).toBe(USERS);
  }, 60_000);
});
