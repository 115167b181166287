import type { App } from '../../app.js';
import { QUEUES, type PasswordResetRequestData } from '../../jobs/queues.js';
import { processPasswordResetRequest } from './service.js';

/** The password-reset request worker (the lookup and the link, off the request path). */
export async function startAccountJobs(app: App): Promise<void> {
  await app.jobs.work<PasswordResetRequestData>(QUEUES.passwordResetRequest, (job) => processPasswordResetRequest(app, job), { workers: 1, batchSize: 10, concurrency: 4 });
}
