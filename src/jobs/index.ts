import type { App } from '../app.js';
import { startAuditPruneJobs } from './audit-prune.js';
import { startHealthCheckJobs } from './health-checks.js';
import { startSyncAndPushJobs } from './sync-and-push.js';
import { startWebhookWorkers } from './webhook-events.js';

/** Registers every worker this process runs (none when PROCESS_ROLE=api). */
export async function startJobWorkers(app: App): Promise<void> {
  if (!app.jobs.workersEnabled) return;
  await startWebhookWorkers(app);
  await startHealthCheckJobs(app);
  await startSyncAndPushJobs(app);
  await startAuditPruneJobs(app);
}
