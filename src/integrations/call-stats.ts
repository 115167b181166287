/**
 * Outcomes of outbound calls, for the health failure ratio. Counted in memory per integration and
 * minute, and flushed about once a second as one UPSERT per tenant — so a busy integration costs
 * one write a second, not one per call. Best effort: a failed flush is logged and dropped.
 */
import { sql } from 'drizzle-orm';
import type { AppDb } from '../db/client.js';
import { integrationCallStats } from '../db/schema.js';
import { actors, inTenant } from '../db/tenant-transaction.js';
import type { Logger } from '../logger.js';
import type { IntegrationTarget } from './types.js';

interface Bucket {
  tenantId: string;
  integrationId: string;
  bucket: Date;
  successes: number;
  failures: number;
}

export class CallStatsRecorder {
  private buffer = new Map<string, Bucket>();
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: AppDb,
    private readonly log: Logger,
    flushEveryMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  record(target: Pick<IntegrationTarget, 'tenantId' | 'id'>, ok: boolean): void {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const key = `${target.id}|${minute}`;
    let b = this.buffer.get(key);
    if (!b) {
      b = { tenantId: target.tenantId, integrationId: target.id, bucket: new Date(minute), successes: 0, failures: 0 };
      this.buffer.set(key, b);
    }
    if (ok) b.successes += 1;
    else b.failures += 1;
  }

  /** Writes what has been counted so far (health evaluation calls this first). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (!this.buffer.size) return;
    const pending = [...this.buffer.values()];
    this.buffer = new Map();
    const byTenant = new Map<string, Bucket[]>();
    for (const b of pending) byTenant.set(b.tenantId, [...(byTenant.get(b.tenantId) ?? []), b]);
    for (const [tenantId, rows] of byTenant) {
      try {
        await inTenant(this.db, actors.system('call-stats', tenantId), (tx) =>
          tx
            .insert(integrationCallStats)
            .values(rows)
            .onConflictDoUpdate({
              target: [integrationCallStats.tenantId, integrationCallStats.integrationId, integrationCallStats.bucket],
              set: {
                successes: sql`${integrationCallStats.successes} + excluded.successes`,
                failures: sql`${integrationCallStats.failures} + excluded.failures`,
              },
            }),
        );
      } catch (err) {
        this.log.warn({ err, tenantId }, 'dropped outbound call stats');
      }
    }
  }
}
