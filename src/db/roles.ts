import type { Config } from '../config.js';

/**
 * The database roles, one per path (ARCHITECTURE invariant 10; grants in
 * migrations/0011_least_privilege.sql, checked by tests/roles-catalog.test.ts). Each runs on a pool
 * of its own; none can SET ROLE to another. The owner (DATABASE_URL) only migrates.
 */
export const DB_ROLES = {
  /** Tenant requests and tenant-scoped job work: app_begin, the login lookup, its tenant's rows (RLS). */
  app: 'tessera_app',
  /** The webhook receiver: which tenant owns an integration, and storing its events and jobs. */
  ingest: 'tessera_ingest',
  /** The platform operator's functions (create, list, suspend, re-plan tenants). */
  platform: 'tessera_platform_api',
  /** System jobs over every tenant: the cron fan-outs' integration list, the audit prune. */
  system: 'tessera_system',
  /** pg-boss: owns the pgboss schema. */
  queue: 'tessera_queue',
  /** The rate-limit counters. */
  rateLimit: 'tessera_rate_limit',
} as const;

export type DbPath = keyof typeof DB_ROLES;
export const DB_PATHS = Object.keys(DB_ROLES) as DbPath[];

/** The configuration variables of each path: `<P>_DATABASE_URL` and `<P>_DATABASE_PASSWORD`. */
const ENV: Record<DbPath, 'APP' | 'INGEST' | 'PLATFORM' | 'SYSTEM' | 'QUEUE' | 'RATE_LIMIT'> = {
  app: 'APP',
  ingest: 'INGEST',
  platform: 'PLATFORM',
  system: 'SYSTEM',
  queue: 'QUEUE',
  rateLimit: 'RATE_LIMIT',
};

/** Development's password of a role (what the config defaults to); production refuses it. */
export const devPassword = (path: DbPath) => `${DB_ROLES[path]}_dev_password`;

type RoleConfig = Pick<Config, `${(typeof ENV)[DbPath]}_DATABASE_URL` | `${(typeof ENV)[DbPath]}_DATABASE_PASSWORD` | 'isProduction'>;

/**
 * The passwords the migrator sets on the login roles. In production a role left at its development
 * password gets none (undefined): the migrator then leaves its password as it is (a new role can't
 * log in with a password until one is set), never a known one.
 */
export function rolePasswords(config: RoleConfig): Record<DbPath, string | undefined> {
  return Object.fromEntries(
    DB_PATHS.map((p) => {
      const password = config[`${ENV[p]}_DATABASE_PASSWORD`];
      return [p, config.isProduction && password === devPassword(p) ? undefined : password];
    }),
  ) as Record<DbPath, string | undefined>;
}

/** `base` (any URL of the database: host, port, name) with the role's user and password. */
export function withRole(base: string, role: string, password: string): string {
  const u = new URL(base);
  u.username = role;
  u.password = password;
  return u.toString();
}

/**
 * The connection URL of one path: `<P>_DATABASE_URL` when set, otherwise `base` with the path's role
 * and `<P>_DATABASE_PASSWORD`. Production refuses a development password.
 */
export function roleUrl(config: RoleConfig, path: DbPath, base: string): string {
  const explicit = config[`${ENV[path]}_DATABASE_URL`];
  if (explicit) return explicit;
  const password = config[`${ENV[path]}_DATABASE_PASSWORD`];
  if (config.isProduction && password === devPassword(path)) {
    throw new Error(`Invalid configuration: production requires ${ENV[path]}_DATABASE_PASSWORD (or ${ENV[path]}_DATABASE_URL) for role ${DB_ROLES[path]}`);
  }
  return withRole(base, DB_ROLES[path], password);
}

/** Which paths a process runs, by PROCESS_ROLE: an API serves requests and webhooks; a worker runs jobs. */
export function pathsOf(processRole: Config['PROCESS_ROLE']): DbPath[] {
  if (processRole === 'api') return ['app', 'ingest', 'platform', 'queue', 'rateLimit'];
  if (processRole === 'worker') return ['app', 'system', 'queue'];
  return [...DB_PATHS];
}
