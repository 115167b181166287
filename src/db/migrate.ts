import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { installJobSchema } from '../jobs/schema.js';
import { DB_PATHS, DB_ROLES, devPassword, withRole, type DbPath } from './roles.js';

export const APP_ROLE = DB_ROLES.app;
const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies migrations as the owner role. First makes sure every login role exists (src/db/roles.ts)
 * with its configured password and none of the powers that would let it escape RLS. `passwords`:
 * every role's, or (older callers) the app role's alone, the others keeping development passwords.
 */
export async function migrateDatabase(ownerUrl: string, passwords: Record<DbPath, string | undefined> | string): Promise<void> {
  const all = typeof passwords === 'string' ? ({ ...Object.fromEntries(DB_PATHS.map((p) => [p, devPassword(p)])), app: passwords } as Record<DbPath, string>) : passwords;
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    await owner`select pg_advisory_lock(7355608)`; // one migrator at a time across processes
    for (const p of DB_PATHS) await ensureLoginRole(owner, DB_ROLES[p], all[p]);
    await installJobSchema(owner);
    await migrate(drizzle({ client: owner }), { migrationsFolder, migrationsSchema: 'drizzle' });
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
