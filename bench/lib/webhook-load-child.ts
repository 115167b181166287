/**
 * The load generator, in its own process, sending signed Standard Webhooks deliveries: every
 * request gets a fresh webhook-id, a ~1 KB user.created event and its signature (made here, so
 * signing costs the load generator, not the server). Driven over IPC by bench/webhooks.ts.
 *
 * As fast as possible (overallRate 0): autocannon, closed loop over `connections`. At a fixed rate:
 * our own open-loop sender, one request every 1/rate s over a keep-alive pool of `connections`,
 * latency counted from when the request was due. (autocannon's rate limit sends each second's quota
 * as a burst at the start of the second, so it measures burst queueing, not a steady rate.)
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Autocannon } from './load-child.js';

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

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadResult {
  requestsPerSecond: number;
  totalRequests: number;
  p50: number;
  p99: number;
  latencyMax: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
  /** Paced runs: how late this process sent requests (ms after they were due), p99 and max. */
  sendLateP99?: number;
  sendLateMax?: number;
  /** Paced runs: from the request being written to its response (what the server and the network add), p99. */
  afterSendP99?: number;
  /** This process's own event-loop delay during the run (ms), p99 and max: the generator's stalls. */
  loopDelayP99?: number;
  loopDelayMax?: number;
}

process.once('message', (spec: WebhookLoadSpec) => {
  const key = Buffer.from(spec.secret.slice('whsec_'.length), 'base64');
  const pad = 'x'.repeat(Math.max(0, spec.payloadBytes - 330));
  let n = 0;
  const delivery = () => {
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
    return { body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` } };
  };

  const paced = async (duration: number): Promise<LoadResult> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
    const url = new URL(spec.url);
    const latencies: number[] = [];
    const lateness: number[] = [];
    const afterSend: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    let ok2xx = 0;
    let non2xx = 0;
    let errors = 0;
    const inflight = new Set<Promise<void>>();
    const send = (due: number) =>
      new Promise<void>((resolve) => {
        const d = delivery();
        const sent = performance.now();
        lateness.push(sent - due);
        const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...d.headers, 'content-length': Buffer.byteLength(d.body) } }, (res) => {
          res.resume();
          res.on('end', () => {
            const now = performance.now();
            latencies.push(now - due);
            afterSend.push(now - sent);
            if (res.statusCode! >= 200 && res.statusCode! < 300) ok2xx++;
            else non2xx++;
            resolve();
          });
        });
        req.on('error', () => {
          errors++;
          resolve();
        });
        req.end(d.body);
      });
    const interval = 1000 / spec.overallRate;
    const start = performance.now();
    const total = Math.round(duration * spec.overallRate);
    for (let i = 0; i < total; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const p = send(due).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    agent.destroy();
    const elapsed = (performance.now() - start) / 1000;
    loop.disable();
    const q = (xs: number[], p: number) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN);
    };
    return {
      requestsPerSecond: ok2xx / elapsed,
      totalRequests: latencies.length,
      p50: q(latencies, 0.5),
      p99: q(latencies, 0.99),
      latencyMax: q(latencies, 1),
      ok2xx,
      non2xx,
      errors,
      timeouts: 0,
      durationSeconds: elapsed,
      sendLateP99: q(lateness, 0.99),
      sendLateMax: q(lateness, 1),
      afterSendP99: q(afterSend, 0.99),
      loopDelayP99: Math.round(loop.percentile(99) / 1e6),
      loopDelayMax: Math.round(loop.max / 1e6),
    };
  };

  const run = (duration: number) =>
    autocannon({
      url: spec.url,
      method: 'POST',
      connections: spec.connections,
      duration,
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => {
            const d = delivery();
            return { ...req, method: 'POST', body: d.body, headers: d.headers };
          },
        },
      ],
    });
  const measure = async (duration: number): Promise<LoadResult> => {
    if (spec.overallRate) return paced(duration);
    const r = await run(duration);
    return { requestsPerSecond: r.requests.average, totalRequests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, latencyMax: r.latency.max, ok2xx: r['2xx'], non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, durationSeconds: r.duration };
  };
  (async () => {
    if (spec.warmupSeconds > 0) await measure(spec.warmupSeconds);
    process.send?.({ type: 'measuring' });
    process.send?.({ type: 'result', result: await measure(spec.durationSeconds) });
  })().catch((err: unknown) => process.send?.({ type: 'error', message: String((err as Error)?.stack ?? err) }));
});
