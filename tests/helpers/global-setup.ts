import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { rolePasswords } from '../../src/db/roles.js';
import { loadConfig } from '../../src/config.js';

export const TEMPLATE_DB = 'tessera_test_template';
export const APP_PASSWORD = 'tessera_app_test_password';
/** Every login role's password in tests (src/db/roles.ts): set by the migrator, used by each server. */
export const ROLE_PASSWORDS_ENV = {
  APP_DATABASE_PASSWORD: APP_PASSWORD,
  INGEST_DATABASE_PASSWORD: 'tessera_ingest_test_password',
  PLATFORM_DATABASE_PASSWORD: 'tessera_platform_test_password',
  SYSTEM_DATABASE_PASSWORD: 'tessera_system_test_password',
  QUEUE_DATABASE_PASSWORD: 'tessera_queue_test_password',
  RATE_LIMIT_DATABASE_PASSWORD: 'tessera_rate_limit_test_password',
};

declare module 'vitest' {
  export interface ProvidedContext {
    ownerBaseUrl: string;
  }
}

let embedded: EmbeddedDatabase | undefined;

/** One Postgres for the run; a freshly migrated template database that each test file clones. */
export async function setup(project: TestProject) {
  let base = process.env.DATABASE_URL;
  if (!base) {
    embedded = await startEmbeddedPostgres(path.resolve('.data/test'));
    base = embedded.ownerUrl('postgres');
  }
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    // Leftovers of earlier runs (kept for inspection when a run fails) are dropped here.
    const stale = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'tessera_test_%'`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.unsafe(`create database "${TEMPLATE_DB}"`);
  } finally {
    await admin.end();
  }
  await migrateDatabase(withDatabase(base, TEMPLATE_DB), rolePasswords(loadConfig({ NODE_ENV: 'test', ...ROLE_PASSWORDS_ENV })));
  project.provide('ownerBaseUrl', base);
}

export async function teardown() {
  await embedded?.stop();
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
