import type { Config } from '../config.js';
import type { AppDb } from '../db/client.js';
import type { Jobs } from '../jobs/boss.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { CallStatsRecorder } from './call-stats.js';
import type { CircuitRegistry } from './circuit-registry.js';
import type { OutboundClients } from './http-client.js';
import type { SecretBox } from './secrets.js';
import type { OutboundPolicy } from './outbound-policy.js';

/**
 * What the integration engine takes from the process: the services it uses, not the whole App
 * container (src/app.ts satisfies this structurally). A function asks for the slice it needs
 * (`Pick<IntegrationDeps, …>`), so what it can touch is visible in its signature.
 */
export interface IntegrationDeps {
  config: Config;
  db: AppDb;
  /** The webhook receiver's pool (role tessera_ingest): the integration lookup, storing events and jobs. */
  ingestDb: AppDb;
  /** System jobs' pool (role tessera_system): the cron fan-outs' integration list. */
  systemDb: AppDb;
  log: Logger;
  metrics: Metrics;
  jobs: Jobs;
  secrets: SecretBox;
  /** Outbound calls to providers: per-integration clients and breakers, call outcome stats, where calls may go (SSRF). */
  integrations: { clients: OutboundClients; circuits: CircuitRegistry; stats: CallStatsRecorder; policy: OutboundPolicy };
}
