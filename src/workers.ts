import type { App } from './app.js';
import { startHealthCheckJobs } from './integrations/health-checks.js';
import { startPushWorkers } from './integrations/push.js';
import { startWebhookWorkers } from './integrations/webhooks/process.js';
import { startAuditPruneJobs } from './modules/audit/prune-job.js';
import { startAuditSealer } from './modules/audit/seal-job.js';
import { startSyncJobs } from './modules/sync/jobs.js';
import { startCommunicationWorkers } from './integrations/communication/outbox.js';
import { startAccountJobs } from './modules/account/jobs.js';
import { startImportJobs } from './modules/imports/jobs.js';

/**
 * Which handler runs on which queue: every worker this process runs (none when PROCESS_ROLE=api).
 * src/jobs/ owns the queues and the mechanism; each area registers its own handlers.
 */
export async function startJobWorkers(app: App): Promise<void> {
  if (!app.jobs.workersEnabled) return;
  await startWebhookWorkers(app);
  await startHealthCheckJobs(app);
  await startSyncJobs(app);
  await startPushWorkers(app);
  await startAuditPruneJobs(app);
  startAuditSealer(app);
  await startCommunicationWorkers(app);
  await startAccountJobs(app);
  await startImportJobs(app);
}
