import type { App } from '../../app.js';
import { QUEUES, type ImportJobData } from '../../jobs/queues.js';
import { runImport } from './service.js';

/** The user-import worker: one import at a time per worker, batch by batch (./service.ts). */
export async function startImportJobs(app: App): Promise<void> {
  await app.jobs.work<ImportJobData>(QUEUES.userImport, (job) => runImport(app, job.data), { workers: 1, batchSize: 1 });
}
