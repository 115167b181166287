import type { Config } from './config.js';
import type { AppDb } from './db/client.js';
import type { SigningKeys } from './auth/keys.js';
import type { TokenService } from './auth/tokens.js';
import type { Logger } from './logger.js';
import type { CallStatsRecorder } from './integrations/call-stats.js';
import type { CircuitRegistry } from './integrations/circuit-registry.js';
import type { OutboundClients } from './integrations/http-client.js';
import type { OutboundPolicy } from './integrations/outbound-policy.js';
import type { Metrics } from './metrics.js';
import type { PubSub } from './realtime/pubsub.js';
import type { PrincipalWatch } from './realtime/principals.js';
import type { Jobs } from './jobs/boss.js';
import type { SecretBox } from './integrations/secrets.js';
import type { RateLimits } from './auth/rate-limits.js';

/** Process-wide services, built once at start-up and handed to every request and job. */
export interface App {
  config: Config;
  /** Tenant requests and tenant-scoped job work (role tessera_app). */
  db: AppDb;
  /** The webhook receiver's pool (tessera_ingest): the integration lookup, storing events and jobs. */
  ingestDb: AppDb;
  /** The platform operator's pool (tessera_platform_api): platform.* tenant functions only. */
  platformDb: AppDb;
  /** System jobs' pool (tessera_system): the cron fan-outs' integration list and the audit prune. */
  systemDb: AppDb;
  keys: SigningKeys;
  tokens: TokenService;
  log: Logger;
  platformOperator: { email: string; password: string };
  /** Random per process: names who wrote shared circuit state. */
  processId: string;
  /** This process's LISTEN connection and in-process fan-out. */
  pubsub: PubSub;
  /** The standing of the users behind open WebSockets, kept current by NOTIFY (credentials stay live). */
  principals: PrincipalWatch;
  /** This app's own Prometheus registry. */
  metrics: Metrics;
  /** Outbound calls to providers: per-integration clients and breakers, call outcome stats, where calls may go (SSRF). */
  integrations: { clients: OutboundClients; circuits: CircuitRegistry; stats: CallStatsRecorder; policy: OutboundPolicy };
  /** pg-boss: queues, in-transaction enqueue, this process's workers (if its role runs them). */
  jobs: Jobs;
  /** Encrypts and decrypts integration credentials and webhook secrets. */
  secrets: SecretBox;
  /** The rate limits the permission map applies, counted in Postgres (shared by every process). */
  rateLimits: RateLimits;
}
