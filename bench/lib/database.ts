/**
 * A fresh database for one benchmark: on DATABASE_URL's server when set, else on an embedded
 * Postgres in `dataDir` (returned, so the caller stops it). Dropped and created anew on every run.
 */
import postgres from 'postgres';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';

export async function freshBenchDatabase(dataDir: string, name: string, opts: { settings?: string[] } = {}): Promise<{ ownerUrl: string; embedded?: EmbeddedDatabase }> {
  let baseUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!baseUrl) {
    embedded = await startEmbeddedPostgres(dataDir, { port: await freePort(), settings: opts.settings });
    baseUrl = embedded.ownerUrl('postgres');
  }
  const admin = postgres(withDatabase(baseUrl, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return { ownerUrl: withDatabase(baseUrl, name), embedded };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
