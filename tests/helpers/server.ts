import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { App } from '../../src/app.js';
import { closeApp, createApp } from '../../src/bootstrap.js';
import { loadConfig, type Config } from '../../src/config.js';
import { deriveAppUrl } from '../../src/db/migrate.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { APP_PASSWORD, ROLE_PASSWORDS_ENV, TEMPLATE_DB, withDatabase } from './global-setup.js';
import { createSeed, type Seed } from './seed.js';

export const OPERATOR = { email: 'operator@tessera.test', password: 'operator-password-123' };

export interface GraphQLResult<T = any> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }[];
  headers: Headers;
}

export interface TestServer {
  url: string;
  app: App;
  http: HttpServer;
  /** Owner connection to this file's database: for catalog checks and tampering, never for the app path. */
  ownerSql: postgres.Sql;
  /** App-role connection (RLS applies), for raw-SQL isolation tests. */
  appSql: postgres.Sql;
  databaseUrl: { owner: string; app: string };
  seed: Seed;
  /**
   * Seals every committed audit entry into its tenant's chain (what the worker does every
   * AUDIT_SEAL_INTERVAL_MS, and every GraphQL read of the trail first): call it before reading or
   * tampering with audit_logs directly.
   */
  sealAudit(): Promise<void>;
  /** Round trips (statements) the app's pool has sent so far. */
  queryCount(): number;
  gql<T = any>(query: string, variables?: Record<string, unknown>, opts?: { token?: string; headers?: Record<string, string> }): Promise<GraphQLResult<T>>;
  close(): Promise<void>;
}

/**
 * A real server on a random port over this test file's own database (cloned from the migrated
 * template), with a fluent seed. `database` lets a second server share the first one's database.
 */
export async function startTestServer(opts: { env?: Record<string, string>; database?: string; port?: number } = {}): Promise<TestServer> {
  const base = inject('ownerBaseUrl');
  const database = opts.database ?? `tessera_test_${crypto.randomBytes(4).toString('hex')}`;
  const ownerUrl = withDatabase(base, database);
  if (!opts.database) {
    const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${database}" template "${TEMPLATE_DB}"`);
    await admin.end();
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-test-'));
  const config: Config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: ownerUrl,
    ...ROLE_PASSWORDS_ENV,
    DATA_DIR: dataDir,
    PLATFORM_OPERATOR_EMAIL: OPERATOR.email,
    PLATFORM_OPERATOR_PASSWORD: OPERATOR.password,
    // Background health checks would change health states under the tests' feet; tests run checks themselves.
    HEALTH_CHECK_CRON: 'off',
    // Likewise scheduled syncs: tests trigger the runs they count.
    SYNC_INCREMENTAL_CRON: 'off',
    SYNC_FULL_CRON: 'off',
    // One key for every test server, so two servers on one database read each other's secrets.
    INTEGRATION_ENCRYPTION_KEY: Buffer.alloc(32, 'tessera-test-key').toString('base64'),
    // Generous limits: suites log in and mutate far more than a person would. tests/rate-limits.test.ts
    // sets tight ones through `env`.
    RATE_LIMIT_LOGIN_MAX: '10000',
    RATE_LIMIT_REFRESH_MAX: '10000',
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    RATE_LIMIT_SCIM_PER_MINUTE: '100000',
    RATE_LIMIT_TENANT_FREE_PER_MINUTE: '1000000',
    ...opts.env,
  });
  const appUrl = config.APP_DATABASE_URL ?? deriveAppUrl(ownerUrl, APP_PASSWORD);
  let queries = 0;
  const app = await createApp(config, appUrl, createLogger('silent'), { onQuery: () => void queries++ });
  const http = await startHttpServer(app, { host: '127.0.0.1', port: opts.port ?? 0 });
  const ownerSql = postgres(ownerUrl, { max: 2, onnotice: () => {} });
  const appSql = postgres(appUrl, { max: 2, onnotice: () => {} });
  const url = http.url;

  const gql: TestServer['gql'] = async (query, variables, o = {}) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    let body: { data?: unknown; errors?: GraphQLResult['errors'] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`Non-JSON response ${res.status}: ${text.slice(0, 200)}`);
    }
    return { status: res.status, data: body.data as never, errors: body.errors, headers: res.headers };
  };

  return {
    url,
    app,
    http,
    ownerSql,
    appSql,
    databaseUrl: { owner: ownerUrl, app: appUrl },
    seed: createSeed(app),
    sealAudit: async () => void (await ownerSql`select audit.seal_all()`),
    queryCount: () => queries,
    gql,
    close: async () => {
      await http.close();
      await closeApp(app);
      await ownerSql.end({ timeout: 2 });
      await appSql.end({ timeout: 2 });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The stable error code of the first error, for terse assertions. */
export function errorCode(res: GraphQLResult): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}
