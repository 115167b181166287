import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { installJobSchema } from './job-schema.js';
import { DB_PATHS, DB_ROLES, withRole, type DbPath } from './roles.js';
import { LOCKS } from './startup-lock.js';
import { isDatabaseUnavailable } from '../errors.js';

export const APP_ROLE = DB_ROLES.app;
const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies migrations as the owner role. First makes sure every login role exists (src/db/roles.ts)
 * with its configured password (rolePasswords(config)) and none of the powers that would let it escape
 * RLS. Roles are cluster-wide: every process migrating one cluster must pass the same passwords.
 */
export async function migrateDatabase(ownerUrl: string, passwords: Record<DbPath, string | undefined>): Promise<void> {
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    await owner`select pg_advisory_lock(${LOCKS.migrations})`; // one migrator at a time across processes
    for (const p of DB_PATHS) await ensureLoginRole(owner, DB_ROLES[p], passwords[p]);
    await installJobSchema(owner);
    await migrate(drizzle({ client: owner }), { migrationsFolder, migrationsSchema: 'drizzle' });
    // Processes without the owner's credentials (api, worker) read which migrations are applied
    // before they start (waitForMigrations); the list holds only file hashes and timestamps.
    // (the app role, which both hold; tests/roles-catalog.test.ts lists it).
    await owner.unsafe(`revoke all on schema drizzle from public; revoke all on drizzle.__drizzle_migrations from public; grant usage on schema drizzle to ${APP_ROLE}; grant select on drizzle.__drizzle_migrations to ${APP_ROLE}`);
  } finally {
    await owner.end();
  }
}

async function ensureLoginRole(owner: postgres.Sql, role: string, password: string | undefined) {
  const [exists] = await owner`select 1 from pg_roles where rolname = ${role}`;
  // Role DDL takes no bind parameters; the password is quoted by format() inside Postgres. No
  // password given (production without one): an existing role keeps its own.
  const attributes = 'LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION' + (password === undefined ? '' : ' PASSWORD %L');
  const [{ ddl }] = (await owner`select format(${exists ? 'ALTER' : 'CREATE'} || ' ROLE %I ' || ${attributes}, ${role}::text, ${password ?? null}::text) as ddl`) as unknown as [{ ddl: string }];
  await owner.unsafe(ddl);
  // A transaction left open by a crashed process must not hold a connection and its locks forever.
  const [{ timeout }] = (await owner`select format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', ${role}::text, '60s') as timeout`) as unknown as [{ timeout: string }];
  await owner.unsafe(timeout);
}

/** The app-role URL: the owner URL with the app role's credentials. */
export function deriveAppUrl(ownerUrl: string, appPassword: string): string {
  return withRole(ownerUrl, APP_ROLE, appPassword);
}

/**
 * Whether the database has every migration this build knows (drizzle records each applied file's
 * journal timestamp; a newer database, during a rolling deploy, also counts as current).
 */
export async function migrationsApplied(url: string): Promise<boolean> {
  const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as { entries: { when: number }[] };
  const latest = Math.max(...journal.entries.map((e) => e.when));
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [row] = await sql<{ latest: string | null }[]>`select max(created_at)::text as latest from drizzle.__drizzle_migrations`;
    return Number(row?.latest ?? 0) >= latest;
  } catch (err) {
    // Nothing migrated yet: the schema or table does not exist (or is not readable yet).
    if (['3F000', '42P01', '42501'].includes((err as { code?: string }).code ?? '')) return false;
    throw err;
  } finally {
    await sql.end();
  }
}

/**
 * Waits (polling each second) until the migrate step has run; `onWait` is told whenever what it
 * waits for changes (the database unreachable, or the migrate step). While the database is
 * unreachable (stopped, restarting, in crash recovery answering 57P03 "starting up", failing over)
 * it waits without limit: a process started during an outage comes up when it ends, with no one to
 * restart it, however long Postgres' recovery takes. `timeoutSeconds` bounds only the wait for the
 * migrate step on a database that answers. `signal` ends the wait (SIGTERM during start-up).
 */
export async function waitForMigrations(
  url: string,
  timeoutSeconds: number,
  onWait: (unreachable: boolean, lastError?: unknown) => void,
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  let notMigratedSince: number | undefined;
  let told: boolean | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    let lastError: unknown;
    try {
      if (await migrationsApplied(url)) return;
    } catch (err) {
      // Before the first migration the app role may not exist yet (28P01): that is waiting too.
      if ((err as { code?: string }).code !== '28P01' && !isDatabaseUnavailable(err)) throw err;
      lastError = err;
    }
    const unreachable = isDatabaseUnavailable(lastError);
    if (unreachable) notMigratedSince = undefined;
    else notMigratedSince ??= Date.now();
    if (notMigratedSince !== undefined && Date.now() - notMigratedSince >= timeoutSeconds * 1000) {
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`The database is not migrated (waited ${timeoutSeconds} s, MIGRATIONS_WAIT_SECONDS): run the migrate step first (npm run db:migrate, or PROCESS_ROLE=migrate) with the owner's credentials${cause}`);
    }
    if (told !== unreachable) onWait(unreachable, lastError);
    told = unreachable;
    await sleep(1000, opts.signal);
  }
}

/** setTimeout as a promise that an abort ends early (rejecting with the signal's reason). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
