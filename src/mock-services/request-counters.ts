/** Counts provider requests by final status, so tests can assert e.g. that a circuit breaker stopped calling. */
import type { ServiceName } from './types.js';

export interface ServiceCounts {
  total: number;
  byStatus: Record<string, number>;
}

export class RequestCounters {
  private counts = new Map<ServiceName, ServiceCounts>();

  record(service: ServiceName, status: number): void {
    const entry = this.counts.get(service) ?? { total: 0, byStatus: {} };
    entry.total += 1;
    entry.byStatus[status] = (entry.byStatus[status] ?? 0) + 1;
    this.counts.set(service, entry);
  }

  clear(): void {
    this.counts.clear();
  }

  /** Every service appears, with zero counts when it saw no traffic. */
  snapshot(services: readonly ServiceName[]): Record<string, ServiceCounts> {
    return Object.fromEntries(
      services.map((s) => {
        const entry = this.counts.get(s);
        return [s, { total: entry?.total ?? 0, byStatus: { ...entry?.byStatus } }];
      }),
    );
  }
}
