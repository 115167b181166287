/**
 * The production topology as OS processes on this machine, for `npm run chaos` and the soak bench:
 * Postgres (the embedded binaries, run by pg_ctl as a process of its own), the mock providers, the
 * migrate step, API processes (PROCESS_ROLE=api) and a worker (PROCESS_ROLE=worker), configured as
 * compose.yaml configures them (NODE_ENV=production, no owner credentials at run time). Each process
 * logs to DATA_DIR/logs/<name>.log. A process that exits without being told to is restarted and
 * counted: an operator would have had to lend it a hand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { ensureDatabase } from '../../src/bootstrap.js';
import { freePort, postmasterOf, promoteEmbeddedPostgres, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Exits nobody asked for (each was followed by a restart). */
  readonly unexpectedExits: { at: number; code: number | null; signal: string | null }[];
  /** Starts it (again) and resolves once it logs "Tessera ready" (or `readyPattern`). */
  start(): Promise<void>;
  /** Kills it on purpose (no restart): SIGKILL for chaos, SIGTERM for a clean stop; resolves at exit. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
  /** Lines at pino level error or above in its log so far. */
  errorLines(): string[];
}

export interface Deployment {
  dataDir: string;
  ownerUrl: string;
  apiUrls: string[];
  apis: ManagedProcess[];
  worker: ManagedProcess;
  mock: ManagedProcess;
  mockUrl: string;
  /** The tenant and integration the run works on (created through GraphQL). */
  tenant: { token: string; integrationId: string; secret: string; ownerEmail: string; ownerPassword: string };
  postgres: {
    /** Crash-stops Postgres (immediate shutdown, like a failover or an OOM kill); resolves when it is gone. */
    crash(): Promise<void>;
    /**
     * Starts it again on the same port and data; resolves when it accepts connections. With
     * `recoverySeconds`, it is held in recovery that long first (every connection refused with 57P03,
     * as during a slow crash recovery), `onRecovering` told when that phase begins. `readyAt` is
     * when Postgres itself logged it accepts connections (this process's own clock may lag).
     */
    start(opts?: { recoverySeconds?: number; onRecovering?: () => void }): Promise<{ readyAt: number }>;
  };
  /** Every unexpected exit of every process. */
  hands(): { process: string; at: number; code: number | null; signal: string | null }[];
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  /** Folder of its own under .data (wiped at start). */
  dataDir: string;
  apis?: number;
  /** Extra environment for the API and worker processes. */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  log?: (msg: string) => void;
}

export async function startDeployment(opts: DeploymentOptions): Promise<Deployment> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
  fs.chmodSync(dataDir, 0o755); // as root, Postgres runs as the postgres user and must reach its folder

  const pgDir = path.join(dataDir, 'postgres');
  const pgPort = await freePortBelowEphemeral();
  let pg: EmbeddedDatabase = await startEmbeddedPostgres(pgDir, { port: pgPort });
  await ensureDatabase(pg.ownerUrl('postgres'), 'tessera');
  const ownerUrl = pg.ownerUrl('tessera');
  log(`Postgres on port ${pgPort} (${pgDir})`);

  // Production secrets, fresh for the run.
  const passwords = Object.fromEntries(['APP', 'INGEST', 'PLATFORM', 'SYSTEM', 'QUEUE', 'RATE_LIMIT'].map((p) => [`${p}_DATABASE_PASSWORD`, `${p.toLowerCase()}-${crypto.randomBytes(12).toString('hex')}`]));
  const appUrl = new URL(ownerUrl);
  appUrl.username = 'tessera_app';
  appUrl.password = passwords.APP_DATABASE_PASSWORD!;
  const operatorPassword = `operator-${crypto.randomBytes(8).toString('hex')}`;
  const runtime: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    APP_DATABASE_URL: appUrl.toString(),
    ...passwords,
    JWT_PRIVATE_JWK: JSON.stringify(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })),
    PLATFORM_OPERATOR_PASSWORD: operatorPassword,
    INTEGRATION_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    METRICS_TOKEN: crypto.randomBytes(16).toString('hex'),
    OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1', // the mock providers
    SYNC_INCREMENTAL_CRON: 'off', // a full sync would sweep the run's users (the mock provider doesn't hold them)
    SYNC_FULL_CRON: 'off',
    DATA_DIR: path.join(dataDir, 'run'),
    ...opts.env,
  };

  const processes: ManagedProcess[] = [];
  const stopAll = async () => {
    for (const p of processes) if (p.pid !== undefined) await p.kill('SIGTERM');
    await pg.stop().catch((err: unknown) => log(`stopping Postgres: ${String(err)}`));
  };
  try {
    return await startProcesses();
  } catch (err) {
    await stopAll(); // nothing left running after a failed start
    throw err;
  }

  async function startProcesses(): Promise<Deployment> {
    const managed = (name: string, command: string[], env: Record<string, string>, readyPattern?: RegExp) => {
      const p = manage(name, command, env, path.join(dataDir, 'logs', `${name}.log`), readyPattern, log);
      processes.push(p);
      return p;
    };
    const server = ['node', '--import', 'tsx', 'src/main.ts'];
    const READY = /"msg":"Tessera ready"/;

    const mockPort = await freePort();
    const mock = managed('mock-services', ['node', '--import', 'tsx', 'src/mock-services/main.ts'], { PORT: String(mockPort) }, /Mock services listening/);
    // The one step with the owner's credentials; it exits when done.
    const migrate = managed('migrate', ['node', '--import', 'tsx', 'src/migrate-cli.ts'], { NODE_ENV: 'production', DATABASE_URL: ownerUrl, ...passwords, LOG_LEVEL: 'info' });
    await Promise.all([mock.start(), migrate.start()]);
    log('migrated; mock providers up');

    const apiPorts = await Promise.all(Array.from({ length: opts.apis ?? 1 }, () => freePort()));
    const apis = apiPorts.map((port, i) => managed(`api-${i + 1}`, server, { ...runtime, PROCESS_ROLE: 'api', PORT: String(port) }, READY));
    const worker = managed('worker', server, { ...runtime, PROCESS_ROLE: 'worker', ...opts.workerEnv }, READY);
    await Promise.all([...apis.map((a) => a.start()), worker.start()]);
    const apiUrls = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    log(`${apis.length} API process(es) and a worker ready`);

    // The tenant and its user-service integration, through the API as an operator and an admin would.
    const gql = async (query: string, variables: Record<string, unknown>, token?: string) => {
      const res = await fetch(`${apiUrls[0]}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(`set-up failed: ${JSON.stringify(body.errors)}`);
      return body.data;
    };
    const operator = await gql(`mutation($p: String!) { platformLogin(email: "operator@tessera.local", password: $p) { accessToken } }`, { p: operatorPassword });
    const ownerEmail = 'owner@run.test';
    const ownerPassword = `owner-${crypto.randomBytes(8).toString('hex')}`;
    await gql(
      `mutation($e: EmailAddress!, $p: String!) { createTenant(input: { slug: "run", name: "Run", plan: ENTERPRISE, ownerEmail: $e, ownerName: "Owner", ownerPassword: $p }) { id } }`,
      { e: ownerEmail, p: ownerPassword },
      operator.platformLogin.accessToken,
    );
    const token = (await gql(`mutation($e: EmailAddress!, $p: String!) { login(input: { tenantSlug: "run", email: $e, password: $p }) { accessToken } }`, { e: ownerEmail, p: ownerPassword })).login.accessToken;
    const created = await gql(
      `mutation($u: String!) { createIntegration(input: { provider: USER_SERVICE, name: "Users", baseUrl: $u, apiKey: "run-api-key" }) { webhookSecret integration { id } } }`,
      { u: `http://127.0.0.1:${mockPort}/user-service` },
      token,
    );

    return {
      dataDir,
      ownerUrl,
      apiUrls,
      apis,
      worker,
      mock,
      mockUrl: `http://127.0.0.1:${mockPort}`,
      tenant: { token, integrationId: created.createIntegration.integration.id, secret: created.createIntegration.webhookSecret, ownerEmail, ownerPassword },
      postgres: {
        async crash() {
          const running = postmasterOf(path.join(pgDir, 'pg'));
          if (!running) throw new Error('Postgres is not running');
          process.kill(running.pid, 'SIGQUIT'); // immediate shutdown: no checkpoint, every backend ends at once
          const deadline = Date.now() + 30_000;
          while (postmasterOf(path.join(pgDir, 'pg')) && Date.now() < deadline) await sleep(50);
        },
        async start({ recoverySeconds = 0, onRecovering }: { recoverySeconds?: number; onRecovering?: () => void } = {}) {
          // Crash recovery under load can outlast pg_ctl's default 60 s.
          pg = await startEmbeddedPostgres(pgDir, { port: pgPort, holdInRecovery: recoverySeconds > 0, startTimeoutSeconds: 600 });
          if (recoverySeconds) {
            onRecovering?.();
            await sleep(recoverySeconds * 1000);
            await promoteEmbeddedPostgres(pgDir);
          }
          return { readyAt: readyInLog(path.join(pgDir, 'pg', 'postgres.log')) ?? Date.now() };
        },
      },
      hands: () => processes.flatMap((p) => p.unexpectedExits.map((e) => ({ process: p.name, ...e }))),
      stop: stopAll,
    };
  }
}

/** `readyPattern` unset: a one-shot step, done when it exits 0. */
function manage(name: string, command: string[], env: Record<string, string>, logFile: string, readyPattern: RegExp | undefined, log: (msg: string) => void): ManagedProcess {
  let child: ChildProcess | undefined;
  let intended = false;
  const unexpectedExits: ManagedProcess['unexpectedExits'] = [];
  const out = fs.createWriteStream(logFile, { flags: 'a' });
  const self: ManagedProcess = {
    name,
    get pid() {
      return child?.pid;
    },
    logFile,
    unexpectedExits,
    start() {
      intended = false;
      const c = spawn(command[0]!, command.slice(1), {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      let seen = '';
      return new Promise<void>((resolve, reject) => {
        let ready = false;
        const onData = (d: Buffer) => {
          out.write(d);
          if (ready) return;
          seen = (seen + d.toString()).slice(-4096);
          if (readyPattern?.test(seen)) {
            ready = true;
            resolve();
          }
        };
        c.stdout!.on('data', onData);
        c.stderr!.on('data', onData);
        c.on('exit', (code, signal) => {
          if (child === c) child = undefined;
          if (!readyPattern) return code === 0 ? resolve() : reject(new Error(`${name} failed (${code ?? signal}); see ${logFile}`));
          if (intended) return;
          if (!ready) return reject(new Error(`${name} exited before it was ready (${code ?? signal}); see ${logFile}`));
          unexpectedExits.push({ at: Date.now(), code, signal });
          log(`${name} exited by itself (${code ?? signal}): restarting it`);
          void self.start().catch((err: unknown) => log(`${name} restart failed: ${String(err)}`));
        });
      });
    },
    kill(signal) {
      const c = child;
      if (!c) return Promise.resolve({ code: null, signal: null });
      intended = true;
      return new Promise((resolve) => {
        c.once('exit', (code, sig) => resolve({ code, signal: sig }));
        c.kill(signal);
      });
    },
    errorLines() {
      return fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => /^\{"level":(5|6)0,/.test(l));
    },
  };
  return self;
}

/**
 * A free port below Linux's ephemeral range (32768–60999): Postgres restarts during a run, and a
 * client reconnecting meanwhile could be given an ephemeral port as its own and connect to itself.
 */
async function freePortBelowEphemeral(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** When Postgres last logged that it accepts connections (its log's default prefix: "2026-12-01 16:23:13.185 UTC [pid] LOG: ..."). */
function readyInLog(logFile: string): number | undefined {
  const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('database system is ready to accept connections'));
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC/.exec(lines.at(-1) ?? '');
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An owner connection for the run's own checks (never the app path), tolerant of a database restart. */
export function ownerClient(url: string) {
  return postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 30, idle_timeout: 5 });
}
