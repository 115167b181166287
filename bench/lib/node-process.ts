/**
 * A server as a Node process of its own, for benchmarks that measure it from outside (the production
 * build with the production image's flags; PostGraphile): start, wait until ready, stop; and what
 * /proc says of its CPU and memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLK_TCK } from '../platform/probes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface NodeProcess {
  pid: number;
  stop(): Promise<void>;
}

/**
 * Node's flags as the production image runs `dist/main.js` (the Dockerfile's NODE_OPTIONS and the V8
 * flags of its CMD) unless BENCH_NODE_FLAGS replaces them (e.g. '--max-semi-space-size=4'); glibc's
 * MALLOC_ARENA_MAX the same way (the image's unless the caller sets it; '0' = glibc's default).
 */
export function productionNodeFlags(): { nodeFlags: string[]; arenas: string } {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const cmdFlags = /^CMD \["node", (.*), "dist\/main\.js"\]$/m.exec(dockerfile)?.[1]?.split(', ').map((f) => JSON.parse(f) as string) ?? [];
  const imageFlags = [/NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1] ?? '', ...cmdFlags].join(' ');
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? imageFlags).split(' ').filter(Boolean);
  const arenas = process.env.MALLOC_ARENA_MAX ?? /MALLOC_ARENA_MAX=(\d+)/.exec(dockerfile)?.[1] ?? '0';
  return { nodeFlags, arenas };
}

/** Starts `node <args>` with `env` (and PATH/HOME), waits until `readyUrl` answers 200 (GET) or `graphql` answers a query. */
export async function startNodeProcess(
  name: string,
  log: (msg: string) => void,
  args: string[],
  env: Record<string, string>,
  readyUrl?: string,
  graphql?: { url: string; headers: Record<string, string> },
): Promise<NodeProcess> {
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => void (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => void (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const t0 = Date.now();
  while (Date.now() - t0 < 120_000) {
    if (child.exitCode !== null) throw new Error(`${name} exited (code ${child.exitCode}) before it was ready:\n${output}`);
    const ok = await (readyUrl
      ? fetch(readyUrl)
      : fetch(graphql!.url, { method: 'POST', headers: graphql!.headers, body: '{"query":"{ __typename }"}' })
    ).then(
      (r) => r.arrayBuffer().then(() => r.status === 200),
      () => false,
    );
    if (ok) {
      log(`${name} ready in ${Date.now() - t0} ms (pid ${child.pid})`);
      return { pid: child.pid!, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${name} not ready after 120 s:\n${output}`);
}

/** utime + stime of a process, ms (/proc, Linux). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
