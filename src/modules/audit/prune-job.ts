/**
 * Audit retention: a daily pg-boss cron (AUDIT_PRUNE_CRON) runs audit.prune_expired() through
 * pruneAuditLogs, which removes each tenant's entries older than its retention and re-anchors the
 * chain. One idempotent SQL call, so a duplicate or retried run does no harm.
 */
import type { App } from '../../app.js';
import { QUEUES } from '../../jobs/queues.js';
import { pruneAuditLogs } from './service.js';

export async function startAuditPruneJobs(app: App): Promise<void> {
  if (!app.jobs.workersEnabled) return;
  if (app.config.AUDIT_PRUNE_CRON === 'off') {
    await app.jobs.boss.unschedule(QUEUES.auditPrune);
    return;
  }
  await app.jobs.boss.schedule(QUEUES.auditPrune, app.config.AUDIT_PRUNE_CRON, {}, { tz: 'UTC' });
  await app.jobs.work(
    QUEUES.auditPrune,
    async () => {
      const removed = await pruneAuditLogs(app.systemDb);
      app.log.info({ removed }, 'audit entries past retention pruned');
    },
    { workers: 1, batchSize: 1 },
  );
}
