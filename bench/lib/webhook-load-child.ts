/**
 * Autocannon in its own process sending signed Standard Webhooks deliveries: every request gets a
 * fresh webhook-id, a ~1 KB user.created event and its signature (made here, so signing costs the
 * load generator, not the server). Driven over IPC by bench/webhooks.ts.
 */
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

export interface WebhookLoadSpec {
  url: string;
  secret: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Requests per second over all connections; 0 = as fast as possible. */
  overallRate: number;
  payloadBytes: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
  duration: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

process.once('message', (spec: WebhookLoadSpec) => {
  const key = Buffer.from(spec.secret.slice('whsec_'.length), 'base64');
  const pad = 'x'.repeat(Math.max(0, spec.payloadBytes - 330));
  let n = 0;
  const run = (duration: number) =>
    autocannon({
      url: spec.url,
      method: 'POST',
      connections: spec.connections,
      duration,
      ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => {
            const id = `evt_${process.pid}_${++n}_${crypto.randomBytes(4).toString('hex')}`;
            const at = new Date().toISOString();
            const body = JSON.stringify({
              id,
              type: 'user.created',
              occurred_at: at,
              data: { id: `usr_${id}`, email: `${id}@bench.test`, name: 'Bench User', status: 'active', version: 1, updated_at: at, profile: { bio: pad } },
            });
            const ts = Math.floor(Date.now() / 1000);
            const signature = crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
            return {
              ...req,
              method: 'POST',
              body,
              headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` },
            };
          },
        },
      ],
    });
  (async () => {
    if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
    process.send?.({ type: 'measuring' });
    const r = await run(spec.durationSeconds);
    process.send?.({
      type: 'result',
      result: { requestsPerSecond: r.requests.average, totalRequests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, latencyMax: r.latency.max, ok2xx: r['2xx'], non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, durationSeconds: r.duration },
    });
  })().catch((err: unknown) => process.send?.({ type: 'error', message: String((err as Error)?.stack ?? err) }));
});
