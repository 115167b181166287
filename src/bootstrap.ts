import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import postgres from 'postgres';
import type { App } from './app.js';
import type { Config } from './config.js';
import { loadSigningKeys } from './auth/keys.js';
import { TokenService } from './auth/tokens.js';
import { createAppDb, createNotificationConnection, createPool } from './db/client.js';
import { EMBEDDED_OWNER, postmasterOf, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrateDatabase, waitForMigrations } from './db/migrate.js';
import { DB_ROLES, pathsOf, rolePasswords, roleUrl, withRole, type DbPath } from './db/roles.js';
import { withStartupLock } from './db/startup-lock.js';
import type { Logger } from './logger.js';
import { isDatabaseUnavailable } from './errors.js';
import { CallStatsRecorder } from './integrations/call-stats.js';
import { CircuitRegistry } from './integrations/circuit-registry.js';
import { OutboundClients } from './integrations/http-client.js';
import { OutboundPolicy } from './integrations/outbound-policy.js';
import { createMetrics, HEALTH_VALUES } from './metrics.js';
import { reevaluateHealth } from './integrations/health-monitor.js';
import { PubSub } from './realtime/pubsub.js';
import { PrincipalWatch } from './realtime/principals.js';
import { Jobs } from './jobs/boss.js';
import { startJobWorkers } from './workers.js';
import { loadSecretBox } from './integrations/secrets.js';
import { RateLimits } from './auth/rate-limits.js';

export interface DatabaseUrls {
  /** Only where this process has the owner's credentials (migrating, development). */
  ownerUrl?: string;
  appUrl: string;
  /** Set when this process started the embedded Postgres (and so must stop it, last). */
  embedded?: EmbeddedDatabase;
}

/**
 * The database this process runs on, ready for its role:
 *  - `all` and `migrate`: DATABASE_URL, or an embedded Postgres under DATA_DIR; migrations applied as the owner;
 *  - `api` and `worker`: never migrate; they wait until the migrate step has run, and need no owner
 *    credentials: APP_DATABASE_URL (and the other roles' passwords) is enough. Without either URL
 *    (development) they join the embedded Postgres that `npm start` runs on the same DATA_DIR.
 */
export async function prepareDatabase(config: Config, log: Logger, opts: { signal?: AbortSignal } = {}): Promise<DatabaseUrls> {
  const migrates = config.PROCESS_ROLE === 'all' || config.PROCESS_ROLE === 'migrate';
  let ownerUrl = config.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!ownerUrl && migrates) {
    const t0 = Date.now();
    embedded = await startEmbeddedPostgres(config.DATA_DIR, {
      port: config.EMBEDDED_PG_PORT,
      onRecover: (info) => log.warn(info, 'stopping the embedded Postgres that a previous process left running (it was killed); starting it again'),
    });
    try {
      await ensureDatabase(embedded.ownerUrl('postgres'), 'tessera');
    } catch (err) {
      await embedded.stop().catch(() => undefined);
      throw err;
    }
    ownerUrl = embedded.ownerUrl('tessera');
    log.info({ ms: Date.now() - t0, port: embedded.port }, 'embedded Postgres started');
  } else if (!ownerUrl && !config.APP_DATABASE_URL) {
    const running = postmasterOf(path.resolve(config.DATA_DIR, 'pg'));
    if (!running) {
      throw new Error(`PROCESS_ROLE=${config.PROCESS_ROLE} needs DATABASE_URL, or a running \`npm start\` on the same DATA_DIR (${path.resolve(config.DATA_DIR)}) whose embedded Postgres it joins`);
    }
    ownerUrl = `postgres://${EMBEDDED_OWNER.user}:${EMBEDDED_OWNER.password}@127.0.0.1:${running.port}/tessera`;
  }
  const appUrl = roleUrl(config, 'app', ownerUrl ?? config.APP_DATABASE_URL!);
  try {
    if (migrates) await migrateDatabase(ownerUrl!, rolePasswords(config)); // migrating always has one (above)
    else
      await waitForMigrations(
        appUrl,
        config.MIGRATIONS_WAIT_SECONDS,
        (unreachable) => log.info(unreachable ? 'waiting for the database (unreachable), then for the migrate step' : 'waiting for the migrate step (npm run db:migrate, or PROCESS_ROLE=migrate)'),
        opts,
      );
  } catch (err) {
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
  return { ownerUrl, appUrl, embedded };
}

export async function ensureDatabase(maintenanceUrl: string, name: string) {
  const sql = postgres(maintenanceUrl, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${name}`;
    if (!exists) await sql.unsafe(`create database "${name.replace(/"/g, '')}"`);
  } finally {
    await sql.end();
  }
}

/**
 * Builds the process-wide services, one pool per database role this process's paths use (src/db/roles.ts;
 * each URL is the base URL with that role's credentials unless configured), and starts its LISTEN connection.
 * No owner credentials: migrations ran before, as their own step.
 */
export async function createApp(config: Config, appUrl: string, log: Logger, opts: { onQuery?: () => void } = {}): Promise<App> {
  const keys = await loadSigningKeys(config);
  // Only the paths this process runs need credentials; the others' pools exist but never connect.
  const used = new Set(pathsOf(config.PROCESS_ROLE));
  // The base of the other roles' URLs: DATABASE_URL where this process has it (development, tests), else the app's.
  const base = config.DATABASE_URL ?? appUrl;
  const urlOf = (p: DbPath) => (p === 'app' ? appUrl : used.has(p) ? roleUrl(config, p, base) : withRole(base, DB_ROLES[p], 'not-held-by-this-process'));
  // onQuery counts what requests and jobs send; the system pool's background passes (audit sealing
  // every AUDIT_SEAL_INTERVAL_MS) run on their own clock and would make the counts random.
  const pool = (p: DbPath, max: number) =>
    createAppDb({ url: urlOf(p), max, ...poolTimeouts(config), onQuery: p === 'system' ? undefined : opts.onQuery, applicationName: p === 'app' ? 'tessera' : `tessera-${p}` });
  const db = pool('app', config.DATABASE_POOL_SIZE);
  const processId = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const metrics = createMetrics();
  const secrets = loadSecretBox(config);
  const pubsub = new PubSub((handlers) => createNotificationConnection(appUrl, handlers), log, secrets.deriveKey('realtime-notify/v1'));
  const principals = new PrincipalWatch(db, log, pubsub);
  // Every process's health gauge follows the shared history, whichever process made the change.
  pubsub.on((e) => {
    if (e.topic === 'integration_health_changed') metrics.integrationHealth.set({ integration_id: e.integrationId }, HEALTH_VALUES[e.status]);
  });
  const circuits = new CircuitRegistry({
    db,
    pubsub,
    processId,
    log,
    metrics,
    options: {
      threshold: config.OUTBOUND_BREAKER_THRESHOLD,
      halfOpenAfterMs: config.OUTBOUND_HALF_OPEN_AFTER_MS,
      cacheTtlMs: config.CIRCUIT_CACHE_TTL_MS,
      trialTimeoutMs: config.OUTBOUND_TIMEOUT_MS * 2,
    },
  });
  const stats = new CallStatsRecorder(db, log);
  const policy = new OutboundPolicy({ allowedNetworks: config.OUTBOUND_ALLOWED_NETWORKS, allowedHosts: config.OUTBOUND_ALLOWED_HOSTS, connectTimeoutMs: config.OUTBOUND_TIMEOUT_MS });
  const clients = new OutboundClients({
    policy,
    circuits,
    stats,
    metrics,
    options: {
      timeoutMs: config.OUTBOUND_TIMEOUT_MS,
      maxRetries: config.OUTBOUND_MAX_RETRIES,
      retryBaseMs: config.OUTBOUND_RETRY_BASE_MS,
      retryMaxMs: config.OUTBOUND_RETRY_MAX_MS,
      retryAfterCapMs: config.OUTBOUND_RETRY_AFTER_CAP_SECONDS * 1000,
      bulkheadLimit: config.OUTBOUND_BULKHEAD_LIMIT,
      bulkheadQueue: config.OUTBOUND_BULKHEAD_QUEUE,
    },
  });
  const app: App = {
    config,
    db,
    keys,
    tokens: new TokenService(keys, config),
    log,
    platformOperator: { email: config.PLATFORM_OPERATOR_EMAIL, password: config.PLATFORM_OPERATOR_PASSWORD ?? devSecret(config.DATA_DIR, 'platform-operator-password') },
    processId,
    pubsub,
    principals,
    metrics,
    integrations: { clients, circuits, stats, policy },
    ingestDb: pool('ingest', config.DATABASE_POOL_SIZE),
    platformDb: pool('platform', 2),
    systemDb: pool('system', 2),
    jobs: new Jobs(config, urlOf('queue'), log),
    secrets,
    rateLimits: new RateLimits(config, createRateLimitClient(config, urlOf('rateLimit'))),
  };
  circuits.onChanged = async (tenantId, integrationId) => void (await reevaluateHealth(app, tenantId, integrationId));
  try {
    await pubsub.start();
    await principals.start();
    // Queue set-up from processes started together would deadlock in pg-boss's createQueue: take turns.
    await withStartupLock(urlOf('queue'), () => app.jobs.start());
    metrics.setQueueDepthSource(() => app.jobs.queueDepths());
    await startJobWorkers(app);
  } catch (err) {
    // Nothing of a failed start keeps running (pools, LISTEN, pg-boss): the caller may start again.
    await closeApp(app).catch((e: unknown) => log.warn({ err: e }, 'closing a failed start failed'));
    throw err;
  }
  return app;
}

/**
 * createApp for `api` and `worker` processes, which Postgres may leave while they start (a restart,
 * a failover, a long crash recovery): if the database goes away during start-up, what was started
 * is closed, the process waits for the database as it waits at first (waitForMigrations: without
 * limit while it is unreachable), and starts again. It never exits for an outage. `signal` ends the
 * wait (SIGTERM).
 */
export async function createAppWhenReachable(config: Config, appUrl: string, log: Logger, opts: { signal?: AbortSignal } = {}): Promise<App> {
  for (;;) {
    try {
      return await createApp(config, appUrl, log);
    } catch (err) {
      if (!isDatabaseUnavailable(err) || opts.signal?.aborted) throw err;
      log.warn({ err }, 'the database went away during start-up; starting again once it is back');
      await waitForMigrations(appUrl, config.MIGRATIONS_WAIT_SECONDS, (unreachable) => unreachable && log.info('waiting for the database (unreachable)'), opts);
    }
  }
}

/**
 * The rate limiter's own small pool, as its own role (tessera_rate_limit: the counters and nothing else). A request checks its limits while it holds its operation's
 * transaction (and so a connection of the main pool); taking a second connection from that same pool
 * would deadlock once every connection is held by a request waiting for another. Each rate-limit
 * statement is one autocommit upsert, so a few connections serve many requests.
 */
function createRateLimitClient(config: Config, url: string): postgres.Sql {
  return createPool({ url, max: Math.max(2, Math.ceil(config.DATABASE_POOL_SIZE / 2)), ...poolTimeouts(config), applicationName: 'tessera-rate-limit' });
}

const poolTimeouts = (config: Config) => ({
  statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
  connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
});

/** Stops what createApp started: job workers (running jobs finish), pending circuit writes, buffered stats, LISTEN, then the pool. */
export async function closeApp(app: App): Promise<void> {
  await app.jobs.stop().catch((err: unknown) => app.log.warn({ err }, 'job queue stop failed'));
  await app.integrations.circuits.settled().catch(() => undefined);
  app.integrations.circuits.dispose();
  await app.integrations.stats.close().catch(() => undefined);
  await app.pubsub.close();
  await app.principals.close();
  await app.integrations.policy.close();
  await app.rateLimits.close();
  await Promise.all([app.db, app.ingestDb, app.platformDb, app.systemDb].map((d) => d.$client.end({ timeout: 5 })));
}

/** A development secret generated once and kept in the data folder (never used in production). */
export function devSecret(dataDir: string, name: string): string {
  const file = path.resolve(dataDir, 'secrets', name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = crypto.randomBytes(18).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, value, { mode: 0o600 });
  return value;
}
