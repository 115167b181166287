import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { installJobSchema } from './job-schema.js';

export const APP_ROLE = 'tessera_app';
const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies migrations as the owner role. First makes sure the app role exists with the configured
 * password and none of the powers that would let it escape RLS.
 */
export async function migrateDatabase(ownerUrl: string, appPassword: string): Promise<void> {
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    await owner`select pg_advisory_lock(7355608)`; // one migrator at a time across processes
    await ensureAppRole(owner, appPassword);
    await installJobSchema(owner);
    await migrate(drizzle({ client: owner }), { migrationsFolder, migrationsSchema: 'drizzle' });
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
