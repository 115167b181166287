import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { installJobSchema } from './job-schema.js';
import { LOCKS } from './startup-lock.js';

export const APP_ROLE = 'tessera_app';
const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies migrations as the owner role. First makes sure the app role exists with the configured
 * password and none of the powers that would let it escape RLS.
 */
export async function migrateDatabase(ownerUrl: string, appPassword: string): Promise<void> {
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    await owner`select pg_advisory_lock(${LOCKS.migrations})`; // one migrator at a time across processes
    await ensureAppRole(owner, appPassword);
    await installJobSchema(owner);
    await migrate(drizzle({ client: owner }), { migrationsFolder, migrationsSchema: 'drizzle' });
    // Processes without the owner's credentials (api, worker) read which migrations are applied
    // before they start (waitForMigrations); the list holds only file hashes and timestamps.
    await owner.unsafe('grant usage on schema drizzle to public; grant select on drizzle.__drizzle_migrations to public');
  } finally {
    await owner.end();
  }
}

async function ensureAppRole(owner: postgres.Sql, password: string) {
  const [exists] = await owner`select 1 from pg_roles where rolname = ${APP_ROLE}`;
  // Role DDL takes no bind parameters; the password is quoted by format() inside Postgres.
  const [{ ddl }] = (await owner`select format(${exists ? 'ALTER' : 'CREATE'} || ' ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD %L', ${APP_ROLE}::text, ${password}::text) as ddl`) as unknown as [{ ddl: string }];
  await owner.unsafe(ddl);
}

/** The app-role URL: explicit, or the owner URL with the app role's credentials. */
export function deriveAppUrl(ownerUrl: string, appPassword: string): string {
  const u = new URL(ownerUrl);
  u.username = APP_ROLE;
  u.password = appPassword;
  return u.toString();
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

/** Waits (polling each second, up to timeoutSeconds) until the migrate step has run; `onWait` is told once. */
export async function waitForMigrations(url: string, timeoutSeconds: number, onWait: () => void): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let told = false;
  let lastError: unknown;
  for (;;) {
    try {
      if (await migrationsApplied(url)) return;
    } catch (err) {
      // Before the first migration the app role may not exist yet (28P01): that is waiting too.
      if ((err as { code?: string }).code !== '28P01') throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`The database is not migrated (waited ${timeoutSeconds} s): run the migrate step first (npm run db:migrate, or PROCESS_ROLE=migrate) with the owner's credentials${cause}`);
    }
    if (!told) onWait();
    told = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
