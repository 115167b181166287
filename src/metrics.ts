/**
 * Prometheus metrics, one registry per App (not prom-client's global default registry), so two
 * servers in one process (tests) keep separate counts. Labels are bounded: provider, outcome,
 * status enums and integration ids — never user ids or tenant-supplied strings.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const HEALTH_VALUES = { HEALTHY: 0, DEGRADED: 1, DOWN: 2, UNKNOWN: 3 } as const;
export const CIRCUIT_VALUES = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2, ISOLATED: 3 } as const;

export type OutboundOutcome = 'success' | 'http_4xx' | 'http_5xx' | 'rate_limited' | 'timeout' | 'network' | 'circuit_open' | 'bulkhead_full';

export interface Metrics {
  registry: Registry;
  integrationHealth: Gauge<'integration_id'>;
  circuitState: Gauge<'integration_id'>;
  outboundCalls: Counter<'provider' | 'outcome'>;
  outboundDuration: Histogram<'provider'>;
  /** Time from request received to response sent, by route pattern (bounded: the routes we define, or `unmatched`). */
  httpDuration: Histogram<'method' | 'route' | 'status_class'>;
  graphqlRequests: Counter<'operation' | 'outcome'>;
  /** Webhook deliveries by HTTP outcome (accepted, duplicate, refused_*), and events by processing outcome. */
  webhookRequests: Counter<'outcome'>;
  webhookEvents: Counter<'outcome'>;
  /** Pull sync and push (issue #5). */
  syncRuns: Counter<'mode' | 'status'>;
  syncRecords: Counter<'resource' | 'outcome'>;
  pushes: Counter<'outcome'>;
  /** Messages to people (invitations, resets…) sent through communication providers, by outcome. */
  outboundMessages: Counter<'outcome'>;
  /** Jobs waiting per pg-boss queue, read at scrape time from the source set by `setQueueDepthSource`. */
  queueDepth: Gauge<'queue'>;
  setQueueDepthSource(source: () => Promise<Record<string, number>>): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  let depthSource: (() => Promise<Record<string, number>>) | undefined;
  return {
    registry,
    queueDepth: new Gauge({
      name: 'tessera_job_queue_depth',
      help: 'Jobs waiting (created or retry) per pg-boss queue, read at scrape time',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        if (!depthSource) return;
        try {
          for (const [queue, n] of Object.entries(await depthSource())) this.set({ queue }, n);
        } catch {
          // Database unreachable: /readyz reports it; the gauge keeps its last values.
        }
      },
    }),
    setQueueDepthSource: (source) => {
      depthSource = source;
    },
    integrationHealth: new Gauge({
      name: 'tessera_integration_health',
      help: 'Integration health: 0 HEALTHY, 1 DEGRADED, 2 DOWN, 3 UNKNOWN',
      labelNames: ['integration_id'],
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'tessera_integration_circuit_state',
      help: 'Circuit breaker state as this process sees it: 0 CLOSED, 1 OPEN, 2 HALF_OPEN, 3 ISOLATED',
      labelNames: ['integration_id'],
      registers: [registry],
    }),
    outboundCalls: new Counter({
      name: 'tessera_outbound_calls_total',
      help: 'Outbound provider call attempts by outcome',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    outboundDuration: new Histogram({
      name: 'tessera_outbound_call_duration_seconds',
      help: 'Outbound provider call attempt latency',
      labelNames: ['provider'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP request latency inside the server, by route pattern',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    graphqlRequests: new Counter({
      name: 'tessera_graphql_requests_total',
      help: 'GraphQL operations over HTTP by operation type and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    webhookRequests: new Counter({
      name: 'tessera_webhook_requests_total',
      help: 'Webhook deliveries received, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'tessera_webhook_events_processed_total',
      help: 'Webhook event processing attempts by outcome (processed, failed, dead)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    syncRuns: new Counter({
      name: 'tessera_sync_runs_total',
      help: 'Finished sync runs by mode and status',
      labelNames: ['mode', 'status'],
      registers: [registry],
    }),
    syncRecords: new Counter({
      name: 'tessera_sync_records_total',
      help: 'Provider records pulled by sync, by resource and what applying them did',
      labelNames: ['resource', 'outcome'],
      registers: [registry],
    }),
    outboundMessages: new Counter({
      name: 'tessera_outbound_messages_total',
      help: 'Outbound message send attempts by outcome (sent, failed, dead)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    pushes: new Counter({
      name: 'tessera_integration_pushes_total',
      help: 'Push job attempts by outcome (sent, superseded, failed, dead)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
