import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { ROLE_PASSWORDS_ENV } from './global-setup.js';
import { waitFor } from './wait.js';

/**
 * The server as an operator runs it: a real OS process (`node --import tsx src/main.ts`, `npm start`,
 * or the built `node dist/main.js`), configured by environment variables only, with its output
 * collected so a test can wait for a line and read the JSON log.
 */
export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** pino's JSON lines of stdout. */
  logLines(): { level: number; msg: string; [k: string]: unknown }[];
  /** Lines at error level or above (pino: 50 error, 60 fatal). */
  errorLines(): { level: number; msg: string; [k: string]: unknown }[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export interface Ports {
  PORT: string;
  MOCK_SERVICES_PORT: string;
  EMBEDDED_PG_PORT: string;
}

/**
 * A test file's server processes with one data folder of their own (an embedded Postgres may live
 * there) and three free ports, taken before the file's tests. After them every process still
 * running is killed, the folder's Postgres is stopped, and the folder removed.
 */
export interface ProcessSandbox {
  readonly dataDir: string;
  readonly ports: Ports;
  /** Every process started so far. */
  readonly running: ServerProcess[];
  /** Starts a server (or `command`) with the sandbox's ports and DATA_DIR, overridden by `env`. */
  start(env?: Record<string, string>, command?: string[]): ServerProcess;
}

export function processSandbox(name: string): ProcessSandbox {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-${name}-`));
  fs.chmodSync(dataDir, 0o755); // as root, Postgres runs as the postgres user and must reach its folder
  let ports: Ports | undefined;
  const running: ServerProcess[] = [];
  beforeAll(async () => {
    ports = await freePorts();
  });
  afterAll(async () => {
    for (const p of running) if (isAlive(p.pid)) p.child.kill('SIGKILL');
    const pg = postmasterPid(dataDir);
    if (pg && isAlive(pg)) process.kill(pg, 'SIGINT');
    if (pg) await waitUntilDead(pg, 10_000);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    get ports() {
      if (!ports) throw new Error('processSandbox: ports are taken in beforeAll');
      return ports;
    },
    running,
    start(env = {}, command) {
      const p = startProcess({ env: { ...this.ports, DATA_DIR: dataDir, ...env }, command });
      running.push(p);
      return p;
    },
  };
}

/** Three free ports for one server's listeners (none of the defaults: other worktrees run tests too). */
export async function freePorts(): Promise<Ports> {
  const [a, b, c] = await Promise.all([freePort(), freePort(), freePort()]);
  return { PORT: String(a), MOCK_SERVICES_PORT: String(b), EMBEDDED_PG_PORT: String(c) };
}

export function startProcess(opts: { env: Record<string, string>; command?: string[] }): ServerProcess {
  const command = opts.command ?? [process.execPath, '--import', 'tsx', 'src/main.ts'];
  const child = spawn(command[0]!, command.slice(1), {
    // Only what the test gives (plus PATH/HOME for npm): nothing of the test runner's own environment.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    waiters.forEach((w) => w());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal, at: Date.now() });
      waiters.forEach((w) => w());
    }),
  );
  const logLines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
  return {
    child,
    pid: child.pid!,
    output: () => out,
    logLines,
    errorLines: () => logLines().filter((l) => l.level >= 50),
    exited,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) return finish(() => resolve(m));
          if (done) finish(() => reject(new Error(`process exited before ${pattern}:\n${out.slice(-3000)}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${pattern}:\n${out.slice(-3000)}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      }),
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a data folder's postmaster.pid (the embedded Postgres), if the file exists. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(`${dataDir}/pg/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Whether the process exited within `timeoutMs`. */
export async function waitUntilDead(pid: number, timeoutMs = 30_000): Promise<boolean> {
  return waitFor(() => !isAlive(pid), { timeoutMs, intervalMs: 100, message: `process ${pid} to exit` }).then(
    () => true,
    () => false,
  );
}

/** TCP ports a process listens on (Linux: its socket inodes matched against /proc/net/tcp{,6} in LISTEN state). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/**
 * What every run-time process (API, worker) of a deployment gets, as in compose.yaml: the app role's
 * URL on the owner's database and the roles' passwords, never the owner's credentials; production
 * mode, fresh signing and encryption keys, and no schedules that would act on their own in a test.
 */
export function runtimeProcessEnv(ownerUrl: string, name: string) {
  const appUrl = new URL(ownerUrl);
  appUrl.username = 'tessera_app';
  appUrl.password = ROLE_PASSWORDS_ENV.APP_DATABASE_PASSWORD;
  return {
    NODE_ENV: 'production',
    APP_DATABASE_URL: appUrl.toString(),
    ...ROLE_PASSWORDS_ENV,
    JWT_PRIVATE_JWK: JSON.stringify(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })),
    PLATFORM_OPERATOR_PASSWORD: `operator-password-${name}`,
    INTEGRATION_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    METRICS_TOKEN: `metrics-token-${name}-0123456789`,
    OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1', // the mock providers
    HEALTH_CHECK_CRON: 'off',
    SYNC_INCREMENTAL_CRON: 'off',
    SYNC_FULL_CRON: 'off',
  };
}
