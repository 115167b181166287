import { z } from 'zod';
import { isNetwork } from './validation.js';

/**
 * The one configuration module: every setting comes from the environment, is validated here at
 * start-up, and nothing else reads process.env. Development needs no variables at all.
 */
/** Unset → undefined (the default applies); "" → []; "a, b" → ['a', 'b']. */
const commaList = z
  .string()
  .optional()
  .transform((v) => (v === undefined ? undefined : v.split(',').map((a) => a.trim()).filter(Boolean)));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Owner (migration) connection. Unset: an embedded Postgres is started under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /**
   * One database role per path (src/db/roles.ts): tenant requests (APP), webhook ingest (INGEST), the
   * platform operator (PLATFORM), system jobs (SYSTEM), pg-boss (QUEUE), rate limits (RATE_LIMIT).
   * Each connects with `<P>_DATABASE_URL`, or else the base URL (DATABASE_URL, or APP_DATABASE_URL)
   * with user tessera_<role> and `<P>_DATABASE_PASSWORD` (which the migrator sets). The defaults
   * are development passwords; production refuses them.
   */
  APP_DATABASE_URL: z.string().url().optional(),
  APP_DATABASE_PASSWORD: z.string().min(8).default('tessera_app_dev_password'),
  INGEST_DATABASE_URL: z.string().url().optional(),
  INGEST_DATABASE_PASSWORD: z.string().min(8).default('tessera_ingest_dev_password'),
  PLATFORM_DATABASE_URL: z.string().url().optional(),
  PLATFORM_DATABASE_PASSWORD: z.string().min(8).default('tessera_platform_api_dev_password'),
  SYSTEM_DATABASE_URL: z.string().url().optional(),
  SYSTEM_DATABASE_PASSWORD: z.string().min(8).default('tessera_system_dev_password'),
  QUEUE_DATABASE_URL: z.string().url().optional(),
  QUEUE_DATABASE_PASSWORD: z.string().min(8).default('tessera_queue_dev_password'),
  RATE_LIMIT_DATABASE_URL: z.string().url().optional(),
  RATE_LIMIT_DATABASE_PASSWORD: z.string().min(8).default('tessera_rate_limit_dev_password'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** How long opening a database connection may take before the caller gets a 503 (src/db/client.ts). */
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(2000),
  /** How long a statement or transaction may wait for a busy pool's connection before it fails with a 503. */
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  DATA_DIR: z.string().default('.data'),
  PUBLIC_URL: z.string().url().optional(),
  /**
   * The frontend people use: links in invitations, password resets and email confirmations (and SSO
   * redirects after login) point here. Default: http://localhost:3000 in development and tests, PUBLIC_URL in production.
   */
  APP_URL: z.string().url().refine((u) => /^https?:/.test(u), 'must be an http(s) URL').optional(),
  /**
   * Tenant by host: with `tessera.example.com`, requests to `acme.tessera.example.com` name tenant
   * "acme" (src/auth/tenant-address.ts documents the precedence with `X-Tenant` and `tenantSlug`). Unset: hosts name no tenant.
   */
  TENANT_BASE_DOMAIN: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'a domain name such as tessera.example.com')
    .optional(),
  JWT_ISSUER: z.string().default('https://tessera.local'),
  JWT_AUDIENCE: z.string().default('tessera-api'),
  /** Ed25519 private key as a JWK (JSON). Required in production; generated once into DATA_DIR in development. */
  JWT_PRIVATE_JWK: z.string().optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
  /** Platform operator credentials (not a tenant user). Required in production. */
  PLATFORM_OPERATOR_EMAIL: z.string().email().default('operator@tessera.local'),
  PLATFORM_OPERATOR_PASSWORD: z.string().min(12).optional(),
  SEED_DEMO: z.enum(['true', 'false']).optional(),
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  /**
   * Proxies whose X-Forwarded-For gives the client IP (rate limits, audit): unset trusts none;
   * otherwise a comma-separated list of addresses, CIDRs or `loopback`/`linklocal`/`uniquelocal`.
   */
  TRUST_PROXY: z
    .string()
    .regex(/^\s*([0-9a-fA-F.:/]+|loopback|linklocal|uniquelocal)(\s*,\s*([0-9a-fA-F.:/]+|loopback|linklocal|uniquelocal))*\s*$/, 'a comma-separated list of addresses, CIDRs or loopback/linklocal/uniquelocal')
    .optional()
    .transform((v) => (v === undefined ? false : v.split(',').map((a) => a.trim()))),
  /**
   * Outbound calls (src/integrations/outbound-policy.ts): networks (CIDRs or addresses) and host names
   * that integrations may call although they are not public unicast. Unset: 127.0.0.1 and ::1 outside
   * production (the mock providers), nothing in production. Empty string: nothing.
   */
  OUTBOUND_ALLOWED_NETWORKS: commaList.refine((l) => !l || l.every(isNetwork), 'a comma-separated list of CIDRs or IP addresses'),
  OUTBOUND_ALLOWED_HOSTS: commaList.refine((l) => !l || l.every((h) => /^[a-z0-9.-]{1,253}$/i.test(h)), 'a comma-separated list of host names'),
  /**
   * /metrics protection: a bearer token scrapers must send, and/or a listener of its own (then
   * /metrics is not served on PORT). Production requires one of them.
   */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Outbound calls to providers (src/integrations/http-client.ts). */
  OUTBOUND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(5000),
  /** Retries after the first attempt, for idempotent requests only. */
  OUTBOUND_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  OUTBOUND_RETRY_BASE_MS: z.coerce.number().int().min(1).max(10_000).default(200),
  OUTBOUND_RETRY_MAX_MS: z.coerce.number().int().min(1).max(60_000).default(5000),
  /** Longest Retry-After we wait for before retrying; longer hints are cut to this. */
  OUTBOUND_RETRY_AFTER_CAP_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** Consecutive provider failures that open an integration's circuit. */
  OUTBOUND_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(100).default(5),
  OUTBOUND_HALF_OPEN_AFTER_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Concurrent calls per provider per process, and how many more may wait. */
  OUTBOUND_BULKHEAD_LIMIT: z.coerce.number().int().min(1).max(1000).default(20),
  OUTBOUND_BULKHEAD_QUEUE: z.coerce.number().int().min(0).max(10_000).default(100),
  /** How long a process trusts its cached copy of the shared circuit state (NOTIFY refreshes it sooner). */
  CIRCUIT_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** AES-256-GCM key (32 bytes, base64) for integration credentials and webhook secrets. Required in production. */
  INTEGRATION_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  /**
   * Which parts this process runs: `all` (development: migrations, API, job workers, mock providers),
   * `api` (HTTP, no workers), `worker` (job workers, no listener) or `migrate` (applies migrations and exits).
   * `api` and `worker` never migrate: they wait for the migrate step.
   */
  PROCESS_ROLE: z.enum(['all', 'api', 'worker', 'migrate']).default('all'),
  /** How long `api`/`worker` processes wait at start-up for the migrate step before giving up. */
  MIGRATIONS_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(120),
  /**
   * Graceful shutdown (SIGTERM/SIGINT): how long requests in flight may take to finish, and running
   * jobs too (both drain at once); then connections are closed and unfinished jobs released for a retry.
   */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** Webhook jobs: attempts after the first, base delay (seconds, exponential with jitter), and how long a running job may take before it is retried. */
  WEBHOOK_RETRY_LIMIT: z.coerce.number().int().min(0).max(50).default(8),
  WEBHOOK_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  WEBHOOK_JOB_EXPIRE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Jobs each worker fetches at once, and workers per provider queue in this process. */
  JOB_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(25),
  JOB_WORKERS_PER_QUEUE: z.coerce.number().int().min(1).max(20).default(2),
  /** Jobs of one fetched batch handled at once (each needs a pooled connection while it runs). */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** How often workers poll when idle (in-process enqueues wake them at once), and pg-boss maintenance (expiry) interval. */
  JOB_POLL_INTERVAL_SECONDS: z.coerce.number().min(0.5).max(60).default(1),
  JOB_MAINTENANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** Connections of the pg-boss pool (role tessera_queue). */
  JOB_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(4),
  /** Per-integration webhook rate limit: sustained requests per second and burst, per process. */
  WEBHOOK_RATE_LIMIT_PER_SECOND: z.coerce.number().min(1).max(100_000).default(500),
  WEBHOOK_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(100_000).default(1000),
  /**
   * How long a receiver keeps an integration's secrets after looking it up (renewed behind deliveries
   * from half of it on; whether it may still receive is checked at every store regardless).
   */
  WEBHOOK_INTEGRATION_CACHE_SECONDS: z.coerce.number().min(0.1).max(300).default(10),
  /** Largest webhook body accepted (bytes). */
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
  /** How long the previous webhook secret keeps verifying after a rotation. */
  WEBHOOK_SECRET_OVERLAP_HOURS: z.coerce.number().min(0).max(720).default(24),
  /** Provider health checks (pg-boss cron, default every minute) for every enabled integration; `off` disables them. */
  HEALTH_CHECK_CRON: z.string().default('* * * * *'),
  /** Start the mock providers inside `npm start` (default: on in development) and point the demo integrations at them. */
  MOCK_SERVICES: z.enum(['true', 'false']).optional(),
  MOCK_SERVICES_PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  /** Pull sync (src/integrations/sync): records per provider page, schedules (cron, UTC; `off` disables) for every enabled integration. */
  SYNC_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
  SYNC_INCREMENTAL_CRON: z.string().default('*/15 * * * *'),
  SYNC_FULL_CRON: z.string().default('30 3 * * *'),
  /** A RUNNING sync whose last page is older than this was abandoned (worker died): a new request replaces it. */
  SYNC_STALE_AFTER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** How long a sync job may run before pg-boss hands it to another worker (which resumes it). */
  SYNC_JOB_EXPIRE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(1800),
  /** Push jobs (our changes sent to providers): attempts after the first, base delay in seconds (exponential). */
  PUSH_RETRY_LIMIT: z.coerce.number().int().min(0).max(50).default(6),
  PUSH_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /** Invitations, password resets and email changes (src/modules/invitations, src/modules/account): how long their single-use links live. */
  INVITATION_TTL_DAYS: z.coerce.number().min(0.001).max(90).default(7),
  PASSWORD_RESET_TTL_MINUTES: z.coerce.number().min(1).max(1440).default(30),
  EMAIL_CHANGE_TTL_HOURS: z.coerce.number().min(0.1).max(168).default(24),
  /** Outbound messages (src/integrations/communication): attempts after the first, base delay in seconds (exponential), then DEAD. */
  MESSAGE_RETRY_LIMIT: z.coerce.number().int().min(0).max(50).default(6),
  MESSAGE_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /**
   * Rate limits (src/auth/rate-limits.ts), counted in Postgres so every process shares them. Fixed
   * windows. `false` switches every limit off (benchmarks only).
   */
  RATE_LIMITS_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** login / platformLogin attempts per client IP + tenant + email, per window. */
  RATE_LIMIT_LOGIN_MAX: z.coerce.number().int().min(1).max(1_000_000).default(10),
  /** refreshSession calls per client IP + tenant, per window (an office behind one NAT shares it). */
  RATE_LIMIT_REFRESH_MAX: z.coerce.number().int().min(1).max(1_000_000).default(300),
  /** requestPasswordReset per client IP, and per tenant + email (whoever asks), per window. */
  RATE_LIMIT_PASSWORD_RESET_IP_MAX: z.coerce.number().int().min(1).max(1_000_000).default(20),
  RATE_LIMIT_PASSWORD_RESET_EMAIL_MAX: z.coerce.number().int().min(1).max(1_000_000).default(3),
  RATE_LIMIT_PASSWORD_RESET_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  RATE_LIMIT_AUTH_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** SCIM requests per SCIM token per minute (a directory's full sync pages through users and groups). */
  RATE_LIMIT_SCIM_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(1200),
  /** Mutations per user per minute. */
  RATE_LIMIT_MUTATIONS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(120),
  /** Root fields (queries and mutations) per tenant per minute, by plan. */
  RATE_LIMIT_TENANT_FREE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(600),
  RATE_LIMIT_TENANT_STARTER_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(3000),
  RATE_LIMIT_TENANT_PRO_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(15_000),
  RATE_LIMIT_TENANT_ENTERPRISE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(60_000),
  /**
   * Operations running at once on one graphql-ws socket (subscriptions, and queries or mutations
   * not yet answered); the next is refused with TOO_MANY_SUBSCRIPTIONS, the others keep running.
   */
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(10_000).default(100),
  /** How long the response of a mutation sent with an `Idempotency-Key` is kept and replayed (default 24 h). */
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(86_400),
  /** User imports (POST /imports/users): the largest file and the most rows one import may hold. */
  IMPORT_MAX_BYTES: z.coerce.number().int().min(1024).default(100 * 1024 * 1024),
  IMPORT_MAX_ROWS: z.coerce.number().int().min(1).default(1_000_000),
  /** Rows applied per batch (one transaction, with the job's progress). At most 500 (a bulk call). */
  IMPORT_BATCH_ROWS: z.coerce.number().int().min(1).max(500).default(500),
  /** pg-boss expiry of an import job: a job works for at most half of it; a crashed worker's job resumes after it. */
  IMPORT_JOB_EXPIRE_SECONDS: z.coerce.number().int().min(2).max(86_400).default(300),
  /** Audit retention prune (pg-boss cron, UTC; `off` disables): removes entries past each tenant's auditRetentionDays. */
  AUDIT_PRUNE_CRON: z.string().default('17 3 * * *'),
  /** How often worker processes seal committed audit entries into each tenant's hash chain (readers seal before reading anyway). */
  AUDIT_SEAL_INTERVAL_MS: z.coerce.number().int().min(10).max(3_600_000).default(250),
  /**
   * Port of the embedded Postgres (development only). Below Linux's ephemeral range (32768–60999):
   * there, a client reconnecting while Postgres is down can be given the port as its own local port
   * and connect to itself, and Postgres then can't bind it.
   */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(15439),
});

export type Config = Omit<z.infer<typeof schema>, 'OUTBOUND_ALLOWED_NETWORKS' | 'OUTBOUND_ALLOWED_HOSTS'> & {
  isProduction: boolean;
  publicUrl: string;
  /** APP_URL without a trailing slash, or its default. */
  appUrl: string;
  OUTBOUND_ALLOWED_NETWORKS: string[];
  OUTBOUND_ALLOWED_HOSTS: string[];
};

/** What development (and tests) may call without configuration: the mock providers on this machine. */
export const DEVELOPMENT_OUTBOUND_NETWORKS = ['127.0.0.1', '::1'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const isProduction = c.NODE_ENV === 'production';
  if (isProduction) {
    // The migrate step needs only the owner's connection; the processes serving requests and jobs need the secrets.
    // API and worker processes hold no owner credentials: APP_DATABASE_URL (with the roles' passwords) is enough.
    const required = c.PROCESS_ROLE === 'migrate' ? ([] as const) : (['JWT_PRIVATE_JWK', 'PLATFORM_OPERATOR_PASSWORD', 'INTEGRATION_ENCRYPTION_KEY'] as const);
    const missing: string[] = required.filter((k) => !c[k]);
    const servesOnly = c.PROCESS_ROLE === 'api' || c.PROCESS_ROLE === 'worker';
    if (!c.DATABASE_URL && !(servesOnly && c.APP_DATABASE_URL)) missing.unshift(servesOnly ? 'APP_DATABASE_URL (or DATABASE_URL)' : 'DATABASE_URL');
    if (missing.length) throw new Error(`Invalid configuration: production requires ${missing.join(', ')}`);
    // /metrics names every tenant's integrations: never open on the public listener in production.
    const servesHttp = c.PROCESS_ROLE === 'all' || c.PROCESS_ROLE === 'api';
    if (servesHttp && !c.METRICS_TOKEN && c.METRICS_PORT === undefined) throw new Error('Invalid configuration: production requires METRICS_TOKEN or METRICS_PORT (/metrics must not be public)');
  }
  return {
    ...c,
    isProduction,
    publicUrl: c.PUBLIC_URL ?? `http://localhost:${c.PORT}`,
    appUrl: (c.APP_URL ?? (isProduction ? (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`) : 'http://localhost:3000')).replace(/\/+$/, ''),
    OUTBOUND_ALLOWED_NETWORKS: c.OUTBOUND_ALLOWED_NETWORKS ?? (isProduction ? [] : DEVELOPMENT_OUTBOUND_NETWORKS),
    OUTBOUND_ALLOWED_HOSTS: c.OUTBOUND_ALLOWED_HOSTS ?? [],
  };
}
