/**
 * Runs autocannon (programmatic API) in its own process, so the load generator does not share an
 * event loop (or RSS) with the server it measures. Driven by bench/lib/load.ts over IPC.
 */
import { createRequire } from 'node:module';
import type { LoadResult, LoadSpec } from './load.js';

/** What autocannon's programmatic API resolves to (the fields we read). */
export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  '2xx': number;
  duration: number;
}
export type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function send(msg: unknown) {
  process.send?.(msg);
}

process.once('message', (spec: LoadSpec) => {
  let n = 0;
  const bodies = spec.bodies;
  const requests = bodies?.length
    ? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[n % bodies.length]!.replaceAll('__N__', String(n++)) }) }]
    : undefined;
  const run = (duration: number) =>
    autocannon({
      url: spec.url,
      method: 'POST',
      connections: spec.connections,
      duration,
      headers: spec.headers,
      body: spec.body,
      ...(requests ? { requests } : {}),
      // A GraphQL error comes back as 200: count any response carrying "errors" as a mismatch.
      verifyBody: (body: string) => !body.includes('"errors"') && body.includes(spec.expect),
    });
  (async () => {
    if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
    send({ type: 'measuring' });
    const r = await run(spec.durationSeconds);
    const result: LoadResult = {
      requestsPerSecond: r.requests.average,
      totalRequests: r.requests.total,
      p50: r.latency.p50,
      p99: r.latency.p99,
      latencyAvg: r.latency.average,
      latencyMax: r.latency.max,
      ok2xx: r['2xx'],
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      mismatches: r.mismatches,
      durationSeconds: r.duration,
    };
    send({ type: 'result', result });
  })().catch((err: unknown) => send({ type: 'error', message: String((err as Error)?.stack ?? err) }));
});
