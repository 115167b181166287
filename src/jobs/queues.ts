/**
 * The job queues: their names, the data each job carries, and each queue's retry, backoff and
 * expiry. pg-boss's SQL defaults differ from its docs, so every queue sets them, and a send to a
 * queue that was never created silently returns null: Jobs.start() (./boss.ts) creates all of
 * these. Which handler runs on which queue is wired in src/workers.ts.
 */
import type { Config } from '../config.js';
import { PROVIDERS, PROVIDER_SLUG, type Provider } from '../db/providers.js';

/** A user import to apply (or continue applying). */
export interface ImportJobData {
  tenantId: string;
  importJobId: string;
}

/** Queue names: one webhook queue and one dead-letter queue per provider, plus health checks. */
export const QUEUES = {
  /** Webhook events of one provider; job data: WebhookJobData. */
  webhooks: (p: Provider) => `webhooks-${PROVIDER_SLUG[p]}`,
  /** Where a webhook job goes after its last attempt; its worker marks the event DEAD. */
  webhooksDead: (p: Provider) => `webhooks-${PROVIDER_SLUG[p]}-dead`,
  /** Cron fan-out: one health-check job per enabled integration. */
  healthCheckSchedule: 'integration-health-schedule',
  /** One provider health check; job data: HealthCheckData. */
  healthCheck: 'integration-health-check',
  /** One sync run; job data: SyncJobData. One run per integration is enforced by sync_runs. */
  sync: 'integration-sync',
  /** Cron fan-outs: one sync request per enabled integration (two schedules, so two queues: pg-boss keys schedules by queue). */
  syncScheduleIncremental: 'integration-sync-schedule-incremental',
  syncScheduleFull: 'integration-sync-schedule-full',
  /** Our changes sent to providers; job data: PushJobData (src/integrations/push.ts). */
  push: 'integration-push',
  /** Where a push job goes after its last attempt (or expiry); its worker marks the push DEAD. */
  pushDead: 'integration-push-dead',
  /** Messages to people (invitations, resets…) sent through the communication provider; job data: MessageJobData. */
  communicationSend: 'communication-send',
  /** Where a message job goes after its last attempt (or expiry); its worker marks the message DEAD. */
  communicationSendDead: 'communication-send-dead',
  /** A password reset asked for by email: looked up and sent off the request path (same answer and timing for unknown addresses). */
  passwordResetRequest: 'password-reset-request',
  /** One user import (src/modules/imports/service.ts); job data: ImportJobData. Re-enqueues itself to continue a large import. */
  userImport: 'user-import',
  /** Daily audit retention prune (src/modules/audit/prune-job.ts). */
  auditPrune: 'audit-prune',
} as const;

/** Every job names its tenant: handlers re-enter inTenant with it. */
export interface WebhookJobData {
  tenantId: string;
  integrationId: string;
  eventId: string;
}

export interface HealthCheckData {
  tenantId: string;
  integrationId: string;
}

export interface SyncJobData {
  tenantId: string;
  integrationId: string;
  runId: string;
}

export interface PushJobData {
  tenantId: string;
  integrationId: string;
  /** Our user id: the job sends this record's newest pending push. */
  recordId: string;
}

export interface MessageJobData {
  tenantId: string;
  messageId: string;
}

export interface PasswordResetRequestData {
  tenantId: string;
  email: string;
  clientIp?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export interface QueuePolicy {
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  expireInSeconds: number;
  deadLetter?: string;
  /** pg-boss policy; `short` keeps one queued job per singletonKey. Default `standard`. */
  policy?: 'standard' | 'short';
}

/** Every queue and its policy, each dead-letter queue before the queue that names it. */
export function queuePolicies(c: Config): [string, QueuePolicy][] {
  const queues: [string, QueuePolicy][] = [];
  for (const p of PROVIDERS) {
    const dead = QUEUES.webhooksDead(p);
    queues.push([dead, { retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 }]);
    queues.push([
      QUEUES.webhooks(p),
      {
        retryLimit: c.WEBHOOK_RETRY_LIMIT,
        retryDelay: c.WEBHOOK_RETRY_DELAY_SECONDS,
        retryBackoff: true, // exponential, with pg-boss's built-in jitter (delay·2^n/2 + random·delay·2^n/2)
        expireInSeconds: c.WEBHOOK_JOB_EXPIRE_SECONDS,
        deadLetter: dead,
      },
    ]);
  }
  queues.push([QUEUES.healthCheckSchedule, { retryLimit: 0, retryDelay: 1, retryBackoff: false, expireInSeconds: 60 }]);
  queues.push([QUEUES.healthCheck, { retryLimit: 0, retryDelay: 1, retryBackoff: false, expireInSeconds: 60, policy: 'short' }]);
  // Sync: a failed run is recorded as FAILED and its job completes; retries only cover a crashed
  // worker (the expired job resumes the RUNNING run).
  queues.push([QUEUES.sync, { retryLimit: 2, retryDelay: 5, retryBackoff: true, expireInSeconds: c.SYNC_JOB_EXPIRE_SECONDS }]);
  queues.push([QUEUES.syncScheduleIncremental, { retryLimit: 0, retryDelay: 1, retryBackoff: false, expireInSeconds: 300 }]);
  queues.push([QUEUES.syncScheduleFull, { retryLimit: 0, retryDelay: 1, retryBackoff: false, expireInSeconds: 300 }]);
  queues.push([QUEUES.auditPrune, { retryLimit: 3, retryDelay: 60, retryBackoff: true, expireInSeconds: 15 * 60, policy: 'short' }]);
  queues.push([QUEUES.pushDead, { retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 }]);
  queues.push([
    QUEUES.push,
    {
      retryLimit: c.PUSH_RETRY_LIMIT,
      retryDelay: c.PUSH_RETRY_DELAY_SECONDS,
      retryBackoff: true,
      expireInSeconds: Math.max(60, Math.ceil((c.OUTBOUND_TIMEOUT_MS * (c.OUTBOUND_MAX_RETRIES + 1) + c.OUTBOUND_RETRY_AFTER_CAP_SECONDS * 1000) / 1000) + 30),
      deadLetter: QUEUES.pushDead,
    },
  ]);
  queues.push([QUEUES.communicationSendDead, { retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 }]);
  queues.push([
    QUEUES.communicationSend,
    {
      retryLimit: c.MESSAGE_RETRY_LIMIT,
      retryDelay: c.MESSAGE_RETRY_DELAY_SECONDS,
      retryBackoff: true,
      expireInSeconds: Math.max(60, Math.ceil((c.OUTBOUND_TIMEOUT_MS * (c.OUTBOUND_MAX_RETRIES + 1) + c.OUTBOUND_RETRY_AFTER_CAP_SECONDS * 1000) / 1000) + 30),
      deadLetter: QUEUES.communicationSendDead,
    },
  ]);
  // An import job works for at most half its expiry, then continues in a new job; a crashed worker's
  // job comes back after expiry + maintenance and resumes after the last committed batch.
  queues.push([QUEUES.userImport, { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: c.IMPORT_JOB_EXPIRE_SECONDS }]);
  queues.push([QUEUES.passwordResetRequest, { retryLimit: 3, retryDelay: 2, retryBackoff: true, expireInSeconds: 60 }]);
  return queues;
}
