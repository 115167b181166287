/** Start-up time of `npm start`'s process, cold and warm, and a check that it stops its Postgres. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.js';
import { log, ROOT, sleep } from './common.js';

export interface StartupResult {
  cold: StartRun;
  warm: StartRun;
  warmDirect: StartRun;
}

const NPX_TSX: [string, string[]] = ['npx', ['tsx', 'src/main.ts']];

/**
 * `npx tsx src/main.ts` on a fresh temporary DATA_DIR (cold: initdb, migrate, demo seed), then
 * again on the same folder (warm). Time from spawn to the first 200 from /readyz, then SIGTERM
 * and a check that the embedded Postgres it started has stopped.
 */
export async function measureStartup(): Promise<StartupResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-startup-'));
  fs.chmodSync(dataDir, 0o755); // the embedded Postgres runs as user "postgres" when we are root
  try {
    const cold = await startOnce(dataDir, 'cold', NPX_TSX);
    const warm = await startOnce(dataDir, 'warm', NPX_TSX);
    // The same warm start without the npx and tsx CLI wrappers (one node process with tsx's loader).
    const warmDirect = await startOnce(dataDir, 'warm, node --import tsx', ['node', ['--import', 'tsx', 'src/main.ts']]);
    return { cold, warm, warmDirect };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface StartRun {
  totalMs: number;
  /** From main() entry to 'Tessera ready' (the rest is npx, tsx and module loading). */
  mainMs?: number | undefined;
  pgMs?: number | undefined;
}

async function startOnce(dataDir: string, label: string, [command, args]: [string, string[]]): Promise<StartRun> {
  const [port, pgPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info', HOST: '127.0.0.1' };
  for (const k of ['DATABASE_URL', 'APP_DATABASE_URL', 'JWT_PRIVATE_JWK', 'SEED_DEMO']) delete env[k];
  const t0 = performance.now();
  // Own process group, so a stuck tree can be ended as a whole (npx → tsx → node → postgres).
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => void (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Its own process group does not get our Ctrl-C: if we end early, take it down with us.
  const onExit = () => signalGroup(child, 'SIGTERM');
  process.once('exit', onExit);
  try {
    const totalMs = await waitReady(`http://127.0.0.1:${port}/readyz`, t0, child, 180_000);
    // main.ts logs (pino JSON) how long its own part took and how long the embedded Postgres took.
    const logged = (msg: string) => {
      for (const line of stdout.split('\n')) {
        try {
          const entry = JSON.parse(line) as { msg?: string; ms?: number };
          if (entry.msg === msg && typeof entry.ms === 'number') return entry.ms;
        } catch {
          // the demo banner is plain text
        }
      }
      return undefined;
    };
    const run = { totalMs, mainMs: logged('Tessera ready'), pgMs: logged('embedded Postgres started') };
    log(`start-up (${label}): ready in ${totalMs.toFixed(0)} ms (main() ${run.mainMs ?? '?'} ms, of which embedded Postgres ${run.pgMs ?? '?'} ms)`);
    return run;
  } catch (err) {
    throw new Error(`start-up (${label}) failed: ${(err as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    await stopTree(child, exited, path.join(dataDir, 'pg'), pgPort, label);
    process.off('exit', onExit);
  }
}

async function waitReady(url: string, t0: number, child: ChildProcess, timeoutMs: number): Promise<number> {
  while (performance.now() - t0 < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}

/** SIGTERM (main stops its embedded Postgres), then verify postmaster.pid is gone and the port is closed. */
async function stopTree(child: ChildProcess, exited: Promise<number | null>, pgDir: string, pgPort: number, label: string) {
  // The whole group, as a terminal's Ctrl-C or a container stop would: `npm exec` does not pass
  // SIGTERM on to its child, so signalling only the npx process leaves the server running.
  if (child.exitCode === null) signalGroup(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))]);
  clearTimeout(timer);
  const pgGone = async () => !fs.existsSync(path.join(pgDir, 'postmaster.pid')) && !(await portOpen(pgPort));
  let stopped = false;
  for (let i = 0; i < 100 && !(stopped = await pgGone()); i++) await sleep(100);
  if (code === 'timeout' || !stopped) {
    log(`start-up (${label}): did not stop cleanly (exit ${code}, postgres stopped: ${stopped}); ending the process group`);
    signalGroup(child, 'SIGKILL');
    const pidFile = path.join(pgDir, 'postmaster.pid');
    if (fs.existsSync(pidFile)) {
      const pgPid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
      try {
        process.kill(pgPid, 'SIGINT'); // the postmaster our child started: fast shutdown
      } catch {
        // already gone
      }
    }
    throw new Error(`start-up (${label}): server or its embedded Postgres did not stop on SIGTERM`);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

function portOpen(port: number): Promise<boolean> {
  return import('node:net').then(
    (net) =>
      new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      }),
  );
}
