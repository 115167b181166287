import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadSpec {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  headers: Record<string, string>;
  body: string;
  /**
   * Optional: bodies sent in turn instead of `body`, each with every `__N__` replaced by a running
   * counter (so repeated mutations really change something).
   */
  bodies?: string[];
  /** A substring every good response body contains. */
  expect: string;
}

export interface LoadResult {
  requestsPerSecond: number;
  totalRequests: number;
  p50: number;
  p99: number;
  latencyAvg: number;
  latencyMax: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  durationSeconds: number;
}

type ChildMessage = { type: 'measuring' } | { type: 'result'; result: LoadResult } | { type: 'error'; message: string };

const childFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-child.ts');

/**
 * Warm-up then a measured autocannon run, in a child process (same tsx loader). `onMeasuring` is
 * called when the measured window starts, `onDone` when it ends (e.g. to bracket RSS sampling).
 */
export function runLoad(spec: LoadSpec, hooks: { onMeasuring?: () => void } = {}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(childFile, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const finish = (err: Error | null, result?: LoadResult) => {
      if (settled) return;
      settled = true;
      if (child.connected) child.disconnect();
      if (child.exitCode === null) child.kill('SIGTERM');
      if (err) reject(err);
      else resolve(result!);
    };
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'measuring') hooks.onMeasuring?.();
      else if (msg.type === 'result') finish(null, msg.result);
      else finish(new Error(`load generator failed: ${msg.message}`));
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code) => finish(new Error(`load generator exited early (code ${code})`)));
    child.send(spec);
  });
}
