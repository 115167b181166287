import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema.js';

/**
 * The RLS-bound app client: every request and job uses this one, as the role tessera_app
 * (not superuser, no BYPASSRLS, owns nothing). Postgres decides what it may see.
 */
export type AppDb = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
export type Tx = Parameters<Parameters<AppDb['transaction']>[0]>[0];

export interface DbOptions {
  url: string;
  max: number;
  statementTimeoutMs: number;
  /** Called once per statement sent; used by metrics and the round-trip benchmark. */
  onQuery?: () => void;
}

export function createAppDb(opts: DbOptions): AppDb {
  const client = postgres(opts.url, {
    max: opts.max,
    idle_timeout: 30,
    connect_timeout: 5,
    prepare: true,
    onnotice: () => {},
    connection: { statement_timeout: opts.statementTimeoutMs, application_name: 'tessera' },
    debug: opts.onQuery ? () => opts.onQuery!() : undefined,
  });
  return drizzle({ client, schema }) as AppDb;
}

/** The raw postgres.js transaction under a drizzle transaction, for libraries that take SQL text (pg-boss). */
export function rawClientOf(tx: Tx): postgres.TransactionSql {
  return (tx as unknown as { session: { client: postgres.TransactionSql } }).session.client;
}
