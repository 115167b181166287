/**
 * Provider health checks on a pg-boss cron: every HEALTH_CHECK_CRON tick, one fan-out job lists the
 * enabled integrations (ids only, through platform.enabled_integrations()) and enqueues one check
 * per integration, singleton per integration so slow checks don't pile up.
 */
import { sql } from 'drizzle-orm';
import { QUEUES, type HealthCheckData } from '../jobs/queues.js';
import type { IntegrationDeps } from './deps.js';
import { checkIntegrationHealth } from './health-monitor.js';
import { loadIntegrationTarget } from './targets.js';

export async function scheduleHealthChecks(app: IntegrationDeps): Promise<number> {
  const rows = (await app.systemDb.execute(sql`select tenant_id, id from platform.enabled_integrations()`)) as unknown as { tenant_id: string; id: string }[];
  for (const r of rows) {
    await app.jobs.boss.send(QUEUES.healthCheck, { tenantId: r.tenant_id, integrationId: r.id } satisfies HealthCheckData, { singletonKey: r.id });
  }
  return rows.length;
}

export async function runHealthCheck(app: IntegrationDeps, data: HealthCheckData): Promise<void> {
  const target = await loadIntegrationTarget(app, data.tenantId, data.integrationId);
  if (target) await checkIntegrationHealth(app, target);
}

export async function startHealthCheckJobs(app: IntegrationDeps): Promise<void> {
  if (!app.jobs.workersEnabled) return;
  if (app.config.HEALTH_CHECK_CRON === 'off') {
    await app.jobs.boss.unschedule(QUEUES.healthCheckSchedule);
    return;
  }
  await app.jobs.boss.schedule(QUEUES.healthCheckSchedule, app.config.HEALTH_CHECK_CRON);
  await app.jobs.work(QUEUES.healthCheckSchedule, () => scheduleHealthChecks(app), { workers: 1, batchSize: 1 });
  await app.jobs.work<HealthCheckData>(QUEUES.healthCheck, (job) => runHealthCheck(app, job.data), { workers: 1, batchSize: 5 });
}
