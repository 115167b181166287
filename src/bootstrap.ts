import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import postgres from 'postgres';
import type { App } from './app.js';
import type { Config } from './config.js';
import { loadSigningKeys } from './auth/keys.js';
import { TokenService } from './auth/tokens.js';
import { createAppDb } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { deriveAppUrl, migrateDatabase } from './db/migrate.js';
import type { Logger } from './logger.js';

export interface DatabaseUrls {
  ownerUrl: string;
  appUrl: string;
  embedded?: EmbeddedDatabase;
}

/** DATABASE_URL when given; otherwise an embedded Postgres under DATA_DIR. Then migrations, as the owner. */
export async function prepareDatabase(config: Config, log: Logger): Promise<DatabaseUrls> {
  let ownerUrl = config.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!ownerUrl) {
    const t0 = Date.now();
    embedded = await startEmbeddedPostgres(config.DATA_DIR, { port: config.EMBEDDED_PG_PORT });
    await ensureDatabase(embedded.ownerUrl('postgres'), 'tessera');
    ownerUrl = embedded.ownerUrl('tessera');
    log.info({ ms: Date.now() - t0, port: embedded.port }, 'embedded Postgres started');
  }
  await migrateDatabase(ownerUrl, config.APP_DATABASE_PASSWORD);
  return { ownerUrl, appUrl: config.APP_DATABASE_URL ?? deriveAppUrl(ownerUrl, config.APP_DATABASE_PASSWORD), embedded };
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

/** Builds the process-wide services over the app-role connection. */
export async function createApp(config: Config, appUrl: string, log: Logger, opts: { onQuery?: () => void } = {}): Promise<App> {
  const keys = await loadSigningKeys(config);
  return {
    config,
    db: createAppDb({ url: appUrl, max: config.DATABASE_POOL_SIZE, statementTimeoutMs: config.STATEMENT_TIMEOUT_MS, onQuery: opts.onQuery }),
    keys,
    tokens: new TokenService(keys, config),
    log,
    platformOperator: { email: config.PLATFORM_OPERATOR_EMAIL, password: config.PLATFORM_OPERATOR_PASSWORD ?? devSecret(config.DATA_DIR, 'platform-operator-password') },
  };
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
