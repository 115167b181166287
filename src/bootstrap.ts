import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import postgres from 'postgres';
import type { App } from './app.js';
import type { Config } from './config.js';
import { loadSigningKeys } from './auth/keys.js';
import { TokenService } from './auth/tokens.js';
import { createAppDb } from './db/client.js';
import { EMBEDDED_OWNER, postmasterOf, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { deriveAppUrl, migrateDatabase, waitForMigrations } from './db/migrate.js';
import { withStartupLock } from './db/startup-lock.js';
import type { Logger } from './logger.js';
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
  ownerUrl: string;
  appUrl: string;
  /** Set when this process started the embedded Postgres (and so must stop it, last). */
  embedded?: EmbeddedDatabase;
}

/**
 * The database this process runs on, ready for its role:
 *  - `all` and `migrate`: DATABASE_URL, or an embedded Postgres under DATA_DIR; migrations applied as the owner;
 *  - `api` and `worker`: never migrate; they wait until the migrate step has run. Without DATABASE_URL
 *    (development) they join the embedded Postgres that `npm start` runs on the same DATA_DIR.
 */
export async function prepareDatabase(config: Config, log: Logger): Promise<DatabaseUrls> {
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
  } else if (!ownerUrl) {
    const running = postmasterOf(path.resolve(config.DATA_DIR, 'pg'));
    if (!running) {
      throw new Error(`PROCESS_ROLE=${config.PROCESS_ROLE} needs DATABASE_URL, or a running \`npm start\` on the same DATA_DIR (${path.resolve(config.DATA_DIR)}) whose embedded Postgres it joins`);
    }
    ownerUrl = `postgres://${EMBEDDED_OWNER.user}:${EMBEDDED_OWNER.password}@127.0.0.1:${running.port}/tessera`;
  }
  const appUrl = config.APP_DATABASE_URL ?? deriveAppUrl(ownerUrl, config.APP_DATABASE_PASSWORD);
  try {
    if (migrates) await migrateDatabase(ownerUrl, config.APP_DATABASE_PASSWORD);
    else await waitForMigrations(appUrl, config.MIGRATIONS_WAIT_SECONDS, () => log.info('waiting for the migrate step (npm run db:migrate, or PROCESS_ROLE=migrate)'));
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

/** Builds the process-wide services over the app-role connection, and starts its LISTEN connection. */
export async function createApp(config: Config, appUrl: string, log: Logger, opts: { onQuery?: () => void; ownerUrl?: string } = {}): Promise<App> {
  const ownerUrl = opts.ownerUrl ?? config.DATABASE_URL;
  if (!ownerUrl) throw new Error('createApp needs the owner database URL (pg-boss runs on it)');
  const keys = await loadSigningKeys(config);
  const db = createAppDb({ url: appUrl, max: config.DATABASE_POOL_SIZE, statementTimeoutMs: config.STATEMENT_TIMEOUT_MS, onQuery: opts.onQuery });
  const processId = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const metrics = createMetrics();
  const pubsub = new PubSub(db.$client, log);
  await pubsub.start();
  const principals = new PrincipalWatch(db, log);
  await principals.start();
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
    jobs: new Jobs(config, ownerUrl, log),
    secrets: loadSecretBox(config),
    rateLimits: new RateLimits(config, createRateLimitClient(config, appUrl)),
  };
  circuits.onChanged = async (tenantId, integrationId) => void (await reevaluateHealth(app, tenantId, integrationId));
  // Queue set-up from processes started together would deadlock in pg-boss's createQueue: take turns.
  await withStartupLock(ownerUrl, () => app.jobs.start());
  metrics.setQueueDepthSource(() => app.jobs.queueDepths());
  await startJobWorkers(app);
  return app;
}

/**
 * The rate limiter's own small pool. A request checks its limits while it holds its operation's
 * transaction (and so a connection of the main pool); taking a second connection from that same pool
 * would deadlock once every connection is held by a request waiting for another. Each rate-limit
 * statement is one autocommit upsert, so a few connections serve many requests.
 */
function createRateLimitClient(config: Config, appUrl: string): postgres.Sql {
  return postgres(appUrl, {
    max: Math.max(2, Math.ceil(config.DATABASE_POOL_SIZE / 2)),
    idle_timeout: 30,
    connect_timeout: 5,
    prepare: true,
    onnotice: () => {},
    connection: { statement_timeout: config.STATEMENT_TIMEOUT_MS, application_name: 'tessera-rate-limit' },
  });
}

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
  await app.db.$client.end({ timeout: 5 });
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
