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
  return drizzle({ client: preparedByDefault(client), schema }) as AppDb;
}

/**
 * drizzle's postgres-js driver sends every statement through `unsafe()` unprepared (drizzle-orm
 * #6096), and postgres.js sends an unprepared statement with parameters as Parse/Describe, waits
 * for the answer, then Bind/Execute: two round trips per statement, and a stall in any pipeline.
 * This view of the client prepares them instead (named, once per connection; later runs are one
 * Bind/Execute), also inside transactions, savepoints and reserved connections. postgres.js
 * recycles connections (max_lifetime), which bounds the per-connection statement cache.
 */
type Preparable = postgres.Sql | postgres.TransactionSql | postgres.ReservedSql;
function preparedByDefault<T extends Preparable>(sql: T): T {
  return new Proxy(sql, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      switch (prop) {
        case 'unsafe':
          return (text: string, args?: unknown[], options?: postgres.UnsafeQueryOptions) => target.unsafe(text, args as never, { ...options, prepare: true });
        case 'begin':
        case 'savepoint':
          // The callback comes last: (fn), (options, fn) or (name, fn).
          return (...params: unknown[]) => {
            const fn = params.pop() as (inner: postgres.TransactionSql) => unknown;
            return (value as (...a: unknown[]) => unknown).call(target, ...params, (inner: postgres.TransactionSql) => fn(preparedByDefault(inner)));
          };
        case 'reserve':
          return async () => preparedByDefault(await (target as postgres.Sql).reserve());
        default:
          return (value as (...a: unknown[]) => unknown).bind(target);
      }
    },
  });
}

/** The raw postgres.js transaction under a drizzle transaction, for libraries that take SQL text (pg-boss). */
export function rawClientOf(tx: Tx): postgres.TransactionSql {
  return (tx as unknown as { session: { client: postgres.TransactionSql } }).session.client;
}
