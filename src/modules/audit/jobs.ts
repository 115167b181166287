import type PgBoss from 'pg-boss';
import type { App } from '../../app.js';
import { pruneAuditLogs } from './service.js';

export const AUDIT_PRUNE_QUEUE = 'audit-prune';

/**
 * Registers the daily retention job on a started pg-boss instance (the worker role calls this).
 * The prune is one idempotent SQL call, so a duplicate or retried run does no harm.
 */
export async function registerAuditJobs(boss: PgBoss, app: App, cron = '17 3 * * *'): Promise<void> {
  await boss.createQueue(AUDIT_PRUNE_QUEUE, { name: AUDIT_PRUNE_QUEUE, retryLimit: 3, retryDelay: 60, expireInSeconds: 15 * 60 });
  await boss.schedule(AUDIT_PRUNE_QUEUE, cron, {}, { tz: 'UTC' });
  await boss.work(AUDIT_PRUNE_QUEUE, async () => {
    const removed = await pruneAuditLogs(app.db);
    app.log.info({ removed }, 'audit entries past retention pruned');
  });
}
