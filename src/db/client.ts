import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema.js';

/**
 * An RLS-bound client of one database role (src/db/roles.ts): `app.db` is tessera_app, which every
 * tenant request and job uses; `ingestDb`, `platformDb` and `systemDb` are the narrow paths' own
 * pools. None is superuser, has BYPASSRLS or owns a table. Postgres decides what each may see.
 */
export type AppDb = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
export type Tx = Parameters<Parameters<AppDb['transaction']>[0]>[0];

export interface DbOptions {
  url: string;
  max: number;
  statementTimeoutMs: number;
  /** Called once per statement sent; used by metrics and the round-trip benchmark. */
  onQuery?: () => void;
  /** Shown in pg_stat_activity: which pool a connection belongs to. */
  applicationName?: string;
}

export function createAppDb(opts: DbOptions): AppDb {
  const client = postgres(opts.url, {
    max: opts.max,
    idle_timeout: 30,
    connect_timeout: 5,
    prepare: true,
    onnotice: () => {},
    connection: { statement_timeout: opts.statementTimeoutMs, application_name: opts.applicationName ?? 'tessera' },
    debug: opts.onQuery ? () => opts.onQuery!() : undefined,
  });
  return drizzle({ client: preparedByDefault(client), schema }) as AppDb;
}

/**
 * drizzle's postgres-js driver sends every statement through `unsafe()` unprepared (drizzle-orm
 * #6096), and postgres.js sends an unprepared statement with parameters as Parse/Describe, waits
 * for the answer, then Bind/Execute: two round trips per statement, and a stall in any pipeline.
 * This view of the client prepares them instead (named, once per connection; later runs are one
 * Bind/Execute), also inside transactions, savepoints and reserved connections. Each connection
 * keeps one server-side statement per distinct SQL text (an IN list of another length is another
 * text); postgres.js's default max_lifetime retires connections after 30–60 min, which bounds it.
 */
type Preparable = postgres.Sql | postgres.TransactionSql | postgres.ReservedSql;
function preparedByDefault<T extends Preparable>(sql: T): T {
  return new Proxy(sql, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      switch (prop) {
        case 'unsafe':
          // Only a statement with parameters is described first; other call forms pass through as they are.
          return (...params: unknown[]) => {
            const [text, args, options] = params as [string, unknown, postgres.UnsafeQueryOptions | undefined];
            if (Array.isArray(args) && args.length > 0) return target.unsafe(text, args as never, { ...options, prepare: true });
            return (target.unsafe as (...a: unknown[]) => unknown)(...params);
          };
        case 'begin':
        case 'savepoint':
          // With a callback — (fn), (options, fn) or (name, fn) — the callback gets the wrapped client;
          // the tagged-template form has no callback and passes through.
          return (...params: unknown[]) => {
            const fn = params[params.length - 1];
            if (typeof fn !== 'function') return (value as (...a: unknown[]) => unknown).apply(target, params);
            return (value as (...a: unknown[]) => unknown).call(target, ...params.slice(0, -1), (inner: postgres.TransactionSql) => (fn as (i: postgres.TransactionSql) => unknown)(preparedByDefault(inner)));
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
