/**
 * The sync worker and the sync schedules: on each SYNC_INCREMENTAL_CRON /
 * SYNC_FULL_CRON tick one fan-out job lists the enabled integrations (platform.enabled_integrations())
 * and requests a sync of each that has something to pull, in that tenant's context as the SYSTEM
 * actor. A request while that integration's sync is running joins it (or, for the other mode, is
 * skipped), so a slow sync is never doubled by the schedule. `off` disables a schedule.
 */
import { sql } from 'drizzle-orm';
import type { App } from '../../app.js';
import { withTenant } from '../../db/tenant-context.js';
import { AppError } from '../../errors.js';
import { QUEUES, type SyncJobData } from '../../jobs/queues.js';
import { executeSyncRun } from '../../integrations/sync/engine.js';
import { requestSync, type SyncMode } from './service.js';

/** Requests a scheduled sync of every enabled integration that has something to pull; returns how many were queued or joined. */
export async function scheduleSyncs(app: App, mode: SyncMode): Promise<number> {
  const rows = (await app.systemDb.execute(sql`select tenant_id, id from platform.enabled_integrations()`)) as unknown as { tenant_id: string; id: string }[];
  let requested = 0;
  for (const r of rows) {
    try {
      await withTenant(app.db, { tenantId: r.tenant_id, actorType: 'SYSTEM', actorId: 'sync-scheduler' }, (tx) =>
        requestSync(app, tx, r.tenant_id, { integrationId: r.id, mode, trigger: 'SCHEDULED' }),
      );
      requested++;
    } catch (err) {
      // CONFLICT: nothing to pull, disabled meanwhile, or a run of the other mode is active. Not an error of the schedule.
      if (!(err instanceof AppError)) app.log.warn({ err, integrationId: r.id }, 'scheduled sync request failed');
    }
  }
  if (requested) app.jobs.wake(QUEUES.sync);
  return requested;
}

export async function startSyncJobs(app: App): Promise<void> {
  if (!app.jobs.workersEnabled) return;
  // A sync streams pages itself; one run per worker loop at a time.
  await app.jobs.work<SyncJobData>(QUEUES.sync, (job) => executeSyncRun(app, job.data), { workers: 2, batchSize: 1, concurrency: 1 });
  for (const [queue, cron, mode] of [
    [QUEUES.syncScheduleIncremental, app.config.SYNC_INCREMENTAL_CRON, 'INCREMENTAL'],
    [QUEUES.syncScheduleFull, app.config.SYNC_FULL_CRON, 'FULL'],
  ] as const) {
    if (cron === 'off') {
      await app.jobs.boss.unschedule(queue);
      continue;
    }
    await app.jobs.boss.schedule(queue, cron);
    await app.jobs.work(queue, () => scheduleSyncs(app, mode), { workers: 1, batchSize: 1 });
  }
}
