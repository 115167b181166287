import net from 'node:net';
// The patched driver (vendor/postgres/README.md): postgres.js 3.4.9 with fixes for lost connections.
import postgres from '../../vendor/postgres/src/index.js';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { DB_ACQUIRE_TIMEOUT, DB_RESPONSE_TIMEOUT, DB_UNREACHABLE } from '../errors.js';

/**
 * An RLS-bound client of one database role (src/db/roles.ts): `app.db` is tessera_app, which every
 * tenant request and job uses; `ingestDb`, `platformDb` and `systemDb` are the narrow paths' own
 * pools. None is superuser, has BYPASSRLS or owns a table. Postgres decides what each may see.
 */
export type AppDb = PostgresJsDatabase & { $client: postgres.Sql };
export type Tx = Parameters<Parameters<AppDb['transaction']>[0]>[0];

export interface PoolOptions {
  url: string;
  max: number;
  statementTimeoutMs: number;
  /** How long opening a connection may take (default 2 s): an unreachable database answers 503 promptly. */
  connectTimeoutMs?: number;
  /** How long a statement or transaction may wait for a busy pool's connection before it fails with a 503 (default 10 s; an unreachable database fails waiters at once instead). */
  acquireTimeoutMs?: number;
  /** Called once per statement sent; used by metrics and the round-trip benchmark. */
  onQuery?: () => void;
  /** Shown in pg_stat_activity: which pool a connection belongs to. */
  applicationName?: string;
}
/** @deprecated name kept for callers; same as PoolOptions. */
export type DbOptions = PoolOptions;

export function createAppDb(opts: PoolOptions): AppDb {
  // No schema: relational queries (db.query.*) are not used, and with a schema drizzle builds a query
  // builder per table for every transaction and savepoint it opens (~8 % of a request's CPU).
  return drizzle({ client: createPool({ applicationName: 'tessera', ...opts }) }) as AppDb;
}

/**
 * A postgres.js pool as every path of the app uses it: prepared statements (below), bounded waits,
 * fast reconnects, and safe behaviour when a connection dies (see "Lost connections").
 */
export function createPool(opts: PoolOptions): postgres.Sql {
  const reachability = new Reachability();
  const client = postgres(opts.url, {
    socket: (o: { host: string[]; port: number[]; path?: string }) => openSocket(o, reachability),
    max: opts.max,
    idle_timeout: 30,
    connect_timeout: (opts.connectTimeoutMs ?? 2000) / 1000,
    // postgres.js waits up to 20 s between reconnect attempts after failures (3^n/100 s): after an
    // outage that is up to 20 s of 503s while Postgres is already back. Retry quickly instead.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5),
    prepare: true,
    onnotice: () => {},
    // Generic plans for prepared statements: under the default ('auto') Postgres kept planning the hot
    // reads anew on every run (their estimated generic cost, with `limit $n` and `= any($1)` unknown,
    // never beat a custom plan's), ~0.3 ms of Postgres CPU per list request. Every statement here is
    // tenant-scoped by RLS and index-driven; the audit filters keep the same plans (bench/audit-queries.ts).
    connection: { statement_timeout: opts.statementTimeoutMs, application_name: opts.applicationName ?? 'tessera', plan_cache_mode: 'force_generic_plan' },
    debug: opts.onQuery ? () => opts.onQuery!() : undefined,
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  reachability.probe = () => client`select 1`.execute();
  return guarded(client, {
    reachability,
    acquireTimeoutMs: opts.acquireTimeoutMs ?? 10_000,
    // Past statement_timeout Postgres has cancelled the work itself; silence beyond that is the network.
    responseBoundMs: opts.statementTimeoutMs + 1500,
  });
}

/**
 * Opens the TCP connection for postgres.js, and tells `reachability` when the database can't be
 * reached: refused, or closed before the server said anything (a proxy or load balancer in front of
 * a stopped Postgres accepts and resets; postgres.js would retry that silently until its connect
 * timeout, restarted at every retry, so callers waited without bound).
 */
function openSocket(o: { host: string[]; port: number[]; path?: string }, reachability: Reachability): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = o.path ? net.connect(o.path) : net.connect(Number(o.port[0] ?? 5432), o.host[0] ?? 'localhost');
    let heard = false;
    socket.once('data', () => (heard = true));
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      socket.once('close', () => heard || reachability.down(Object.assign(new Error('connection closed before the server answered'), { code: 'ECONNRESET' })));
      resolve(socket);
    });
    const onError = (err: Error) => {
      reachability.down(err);
      reject(err);
    };
    socket.once('error', onError);
  });
}

/**
 * A dedicated connection for LISTEN (never pooled, never idle-closed): `onclose` fires when it is
 * lost, so the listener can LISTEN again on a fresh one (postgres.js's own `listen()` re-listens
 * once and gives up if Postgres is still down).
 */
export function createNotificationConnection(url: string, handlers: { onnotify: (channel: string, payload: string) => void; onclose: () => void; connectTimeoutMs?: number }): postgres.Sql {
  return postgres(url, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: 0,
    fetch_types: false,
    connect_timeout: (handlers.connectTimeoutMs ?? 1000) / 1000,
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5),
    onnotice: () => {},
    onnotify: handlers.onnotify,
    onclose: handlers.onclose,
    connection: { application_name: 'tessera-listen' },
  } as postgres.Options<Record<string, postgres.PostgresType>>);
}

/*
 * ── Lost connections ──────────────────────────────────────────────────────────────────────────────
 * postgres.js 3.4.9 (the latest) mishandles a connection that dies under a transaction or a
 * reserve() (porsager/postgres #1208, #1186, #1195; fixes #1168/#1209 unmerged). The vendored copy
 * fixes what only the driver can (vendor/postgres/README.md); the rest is handled here:
 *  - any statement issued on it after it closed (sql.begin's own ROLLBACK in its catch block, a
 *    reserved connection's next query, `release()` putting the dead connection back in the pool)
 *    was written from a setImmediate to a null socket: an uncaught TypeError in `nextWrite` that
 *    killed the process (now it fails, but it must not be attempted at all);
 *  - statements still queued in the transaction (not yet sent) never settle: the caller hangs.
 * So every transaction and reservation here runs on a "line" that watches its statements: the
 * first one that fails because the connection is gone marks the line dead and fails everything
 * still pending on it; after that nothing is written on it (no ROLLBACK, no COMMIT, no release —
 * postgres.js has already retired the connection, and Postgres rolls back a dead session itself),
 * and the transaction rejects with the connection failure (503 to clients).
 * Waits are bounded: a statement or transaction waiting for a connection longer than
 * acquireTimeoutMs fails with DB_ACQUIRE_TIMEOUT, a pipelined transaction that gets no answer within
 * statement_timeout + 1.5 s fails with DB_RESPONSE_TIMEOUT (its connection is released only once
 * it has answered). Both are connection failures (errors.ts), answered 503.
 */

/** Errors that mean this connection is gone (not: the database refused a statement). */
function isConnectionLost(err: unknown): boolean {
  const code = String((err as { code?: unknown } | undefined)?.code ?? '');
  return ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08');
}

/**
 * Failures of a statement that was never sent (it was waiting for a connection, which closed while
 * opening): safe to try once more on another connection, whatever the statement does. A refused or
 * timed-out connect is not retried: the database is unreachable (see Reachability).
 */
function isRetryableBeforeSend(err: unknown): boolean {
  const code = String((err as { code?: unknown } | undefined)?.code ?? '');
  return ['CONNECTION_CLOSED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03'].includes(code);
}

/**
 * Whether a failure before sending means the database could not be reached. Not DB_ACQUIRE_TIMEOUT:
 * a caller that waited long for a pooled connection met a busy pool (every connection in a slow
 * transaction, a lock queue), not an unreachable database; taking it for an outage failed every
 * caller at once until a probe got through that same busy pool (`npm run bench -- soak` on a loaded
 * machine: thousands of 503s with Postgres up). An unreachable database fails the connect itself.
 */
function isUnreachable(err: unknown): boolean {
  const code = String((err as { code?: unknown } | undefined)?.code ?? '');
  return isRetryableBeforeSend(err) || ['ECONNREFUSED', 'CONNECT_TIMEOUT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code) || code.startsWith('08');
}

/** How long a background probe of a database that is down may take before the next one starts. */
const PROBE_BOUND_MS = 3000;

/** A couple of tries (the acquire bound still applies). */
const MAX_RETRIES_BEFORE_SEND = 2;

function failure(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The parts of a postgres.js Query this module relies on (src/query.js). */
interface RawQuery {
  handler: ((q: RawQuery) => unknown) & { debug?: unknown };
  resolve: (x: unknown) => void;
  reject: (e: unknown) => void;
  state: unknown;
}
const isQuery = (q: unknown): q is RawQuery => q instanceof Promise && typeof (q as Partial<RawQuery>).handler === 'function' && typeof (q as Partial<RawQuery>).reject === 'function';

/** One connection held by a transaction or reservation, and what is pending on it. */
class Line {
  dead?: Error;
  private readonly pending = new Set<RawQuery>();
  private onDeath!: (err: Error) => void;
  /** Resolves (with the error) when the connection is lost. */
  readonly died = new Promise<Error>((resolve) => (this.onDeath = resolve));

  kill(err: unknown) {
    if (this.dead) return;
    this.dead = err instanceof Error ? err : failure('CONNECTION_CLOSED', String(err));
    this.onDeath(this.dead);
    const pending = [...this.pending];
    this.pending.clear();
    for (const q of pending) q.reject(this.dead);
  }

  track(q: RawQuery) {
    const { handler, resolve, reject } = q;
    const guard = ((query: RawQuery) => (this.dead ? query.reject(this.dead) : handler(query))) as RawQuery['handler'];
    guard.debug = handler.debug;
    q.handler = guard;
    q.resolve = (x) => {
      this.pending.delete(q);
      resolve(x);
    };
    q.reject = (e) => {
      this.pending.delete(q);
      if (isConnectionLost(e)) this.kill(e);
      reject(e);
    };
    this.pending.add(q);
  }
}

/**
 * Whether the database answers, shared by everything on one pool. After a connection could not be
 * opened, the pool is "down": while one caller's attempt (the probe) is under way, every other
 * caller fails at once with DB_UNREACHABLE instead of queueing behind connect timeouts; the first
 * success ends it, so recovery is as fast as one connect.
 */
class Reachability {
  private downSince?: number;
  private probing = false;
  /** Callers waiting for a connection: failed at once when the database turns out to be down. */
  private readonly waiting = new Set<(err: Error) => void>();

  private probeTimer?: NodeJS.Timeout;
  /** Checks the database in the background while it is down (set by createPool). */
  probe?: () => Promise<unknown>;

  /** A connection attempt failed (refused, reset before the server said anything, timed out). */
  down(cause: unknown) {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    // Probe every 250 ms until it answers, so the first requests after an outage find it up.
    this.probeTimer = setInterval(() => {
      if (this.probing || !this.probe) return;
      this.probing = true;
      // Bounded: a probe that never settles must not hold every caller off for good.
      let bound: NodeJS.Timeout | undefined;
      Promise.race([this.probe(), new Promise((_, reject) => (bound = setTimeout(reject, PROBE_BOUND_MS)))])
        .finally(() => clearTimeout(bound))
        .then(
          () => this.up(),
          () => (this.probing = false),
        );
    }, 250);
    this.probeTimer.unref();
    const err = failure(DB_UNREACHABLE, `the database is unreachable (${String((cause as { code?: unknown })?.code ?? cause)})`);
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const fail of waiting) fail(err);
  }

  private up() {
    this.downSince = undefined;
    this.probing = false;
    clearInterval(this.probeTimer);
  }

  /** Registers `fail` for as long as the caller waits for a connection. */
  wait(fail: (err: Error) => void): () => void {
    this.waiting.add(fail);
    return () => this.waiting.delete(fail);
  }

  /** Throws if the database is known down and a probe is already out; otherwise returns the settle callback of this attempt. */
  enter(): { ok(): void; failed(err: unknown): void } {
    let probe = false;
    if (this.downSince !== undefined) {
      if (this.probing) throw failure(DB_UNREACHABLE, `the database is unreachable (since ${new Date(this.downSince).toISOString()})`);
      this.probing = probe = true;
    }
    let settled = false;
    return {
      ok: () => {
        if (settled) return;
        settled = true;
        this.up();
      },
      failed: (err) => {
        if (settled) return;
        settled = true;
        if (probe) this.probing = false;
        if (isUnreachable(err)) this.down(err);
      },
    };
  }
}

interface GuardContext {
  reachability: Reachability;
  acquireTimeoutMs: number;
  responseBoundMs: number;
  /** Set inside a transaction or reservation. */
  line?: Line;
}

const LINE = Symbol('line');
const CONTEXT = Symbol('context');

/**
 * A pool statement (no line) must get a connection within the bound; after that Postgres'
 * statement_timeout applies. If it fails before it was sent, it is queued once more.
 */
function boundAcquire(q: RawQuery, ctx: GuardContext) {
  const ms = ctx.acquireTimeoutMs;
  const { handler, resolve, reject } = q;
  let timer: NodeJS.Timeout | undefined;
  let attempt: ReturnType<Reachability['enter']> | undefined;
  let stopWaiting: () => void = () => {};
  let retries = 0;
  const guard = ((query: RawQuery) => {
    try {
      attempt = ctx.reachability.enter();
    } catch (err) {
      return reject(err);
    }
    // Still waiting for a connection (not sent) when the bound passes or the database turns out to
    // be down: fail it. If a connection comes later, postgres.js may still run it and its result is
    // dropped; pool statements are single autocommit statements.
    const giveUp = (err: Error) => {
      if (query.state) return;
      clearTimeout(timer);
      unwait();
      attempt?.failed(err);
      reject(err);
    };
    const unwait = ctx.reachability.wait(giveUp);
    timer = setTimeout(() => giveUp(failure(DB_ACQUIRE_TIMEOUT, `no database connection within ${ms} ms`)), ms);
    stopWaiting = unwait;
    return handler(query);
  }) as RawQuery['handler'];
  guard.debug = handler.debug;
  q.handler = guard;
  q.resolve = (x) => {
    clearTimeout(timer);
    stopWaiting();
    attempt?.ok();
    resolve(x);
  };
  q.reject = (e) => {
    if (retries < MAX_RETRIES_BEFORE_SEND && !q.state && isRetryableBeforeSend(e)) {
      retries++;
      handler(q);
      return;
    }
    clearTimeout(timer);
    stopWaiting();
    if (q.state) attempt?.ok(); // it reached the database
    else attempt?.failed(e);
    reject(e);
  };
}

function instrument<Q>(q: Q, ctx: GuardContext): Q {
  if (!isQuery(q)) return q;
  if (ctx.line) ctx.line.track(q);
  else boundAcquire(q, ctx);
  return q;
}

/** Runs a transaction body; once the line is dead it never settles, so postgres.js writes no ROLLBACK/COMMIT on the dead connection. */
async function guardedBody<T>(line: Line, body: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (err) {
    if (line.dead) return new Promise<T>(() => {});
    throw err;
  }
  if (line.dead) return new Promise<T>(() => {});
  return result;
}

/** Settles with `work`, or rejects as soon as the line dies (postgres.js also rejects on close, but not always). */
function orDeath<T>(line: Line, work: Promise<T>): Promise<T> {
  return Promise.race([work, line.died.then((err) => Promise.reject(err))]);
}

/**
 * drizzle's postgres-js driver sends every statement through `unsafe()` unprepared (drizzle-orm
 * #6096), and postgres.js sends an unprepared statement with parameters as Parse/Describe, waits
 * for the answer, then Bind/Execute: two round trips per statement, and a stall in any pipeline.
 * This view of the client prepares them instead (named, once per connection; later runs are one
 * Bind/Execute), also inside transactions, savepoints and reserved connections. Each connection
 * keeps one server-side statement per distinct SQL text (an IN list of another length is another
 * text); postgres.js's default max_lifetime retires connections after 30–60 min, which bounds it.
 * The same view applies the lost-connection rules above.
 */
type Preparable = postgres.Sql | postgres.TransactionSql | postgres.ReservedSql;
function guarded<T extends Preparable>(sql: T, ctx: GuardContext): T {
  return new Proxy(sql, {
    // Tagged-template statements: sql`...`.
    apply(target, thisArg, args) {
      return instrument(Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args), ctx);
    },
    get(target, prop) {
      if (prop === LINE) return ctx.line;
      if (prop === CONTEXT) return ctx;
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      switch (prop) {
        case 'unsafe':
          // Only a statement with parameters is described first; other call forms pass through as they are.
          return (...params: unknown[]) => {
            const [text, args, options] = params as [string, unknown, postgres.UnsafeQueryOptions | undefined];
            if (Array.isArray(args) && args.length > 0) return instrument(target.unsafe(text, args as never, { ...options, prepare: true }), ctx);
            return instrument((target.unsafe as (...a: unknown[]) => unknown)(...params), ctx);
          };
        case 'begin':
          return (...params: unknown[]) => {
            const fn = params[params.length - 1];
            if (typeof fn !== 'function') return (value as (...a: unknown[]) => unknown).apply(target, params);
            return begin(target as postgres.Sql, params.slice(0, -1) as string[], fn as (sql: postgres.TransactionSql) => unknown, ctx);
          };
        case 'savepoint':
          // With a callback — (fn) or (name, fn) — the callback gets the guarded client; the
          // tagged-template form has no callback and passes through.
          return (...params: unknown[]) => {
            const fn = params[params.length - 1];
            const line = ctx.line;
            if (typeof fn !== 'function' || !line) return (value as (...a: unknown[]) => unknown).apply(target, params);
            if (line.dead) return Promise.reject(line.dead);
            const work = (value as (...a: unknown[]) => Promise<unknown>).call(target, ...params.slice(0, -1), (inner: postgres.TransactionSql) =>
              guardedBody(line, async () => (fn as (i: postgres.TransactionSql) => unknown)(guarded(inner, ctx))),
            );
            return orDeath(line, work);
          };
        case 'reserve':
          return () => reserve(target as postgres.Sql, ctx);
        case 'release':
          // A dead reserved connection was already retired by postgres.js; releasing it would put a
          // socket-less connection back in the pool (porsager/postgres #1208).
          return () => {
            if (!ctx.line?.dead) (value as () => void).call(target);
          };
        default:
          return (value as (...a: unknown[]) => unknown).bind(target);
      }
    },
  });
}

function begin(target: postgres.Sql, options: string[], fn: (sql: postgres.TransactionSql) => unknown, ctx: GuardContext): Promise<unknown> {
  let entered = false;
  let abandoned: Error | undefined;
  let unwait: () => void = () => {};
  const attempt = (): Promise<unknown> => {
    const line = new Line();
    const work = target.begin(...(options as [string]), (inner) => {
      entered = true;
      unwait();
      gate.ok();
      // The caller stopped waiting for a connection: end at once (the connection is alive, so the ROLLBACK is safe).
      if (abandoned) throw abandoned;
      return guardedBody(line, async () => fn(guarded(inner, { ...ctx, line })));
    }) as Promise<unknown>;
    work.catch((err: unknown) => isConnectionLost(err) && line.kill(err));
    return orDeath(line, work);
  };
  let gate: ReturnType<Reachability['enter']>;
  try {
    gate = ctx.reachability.enter();
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const giveUp = (err: Error) => {
      if (entered || abandoned) return;
      abandoned = err;
      clearTimeout(timer);
      unwait();
      gate.failed(err);
      reject(err);
    };
    unwait = ctx.reachability.wait(giveUp);
    const timer = setTimeout(() => giveUp(failure(DB_ACQUIRE_TIMEOUT, `no database connection within ${ctx.acquireTimeoutMs} ms`)), ctx.acquireTimeoutMs);
    // BEGIN failed before the callback ran (nothing of the caller's was sent): again, on another connection.
    const run = (tries: number): Promise<unknown> =>
      attempt().catch((err: unknown) => (!entered && !abandoned && tries < MAX_RETRIES_BEFORE_SEND && isRetryableBeforeSend(err) ? run(tries + 1) : Promise.reject(err)));
    run(0).then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e) => {
          clearTimeout(timer);
          unwait();
          if (!entered) gate.failed(e);
          reject(e);
        },
      );
  });
}

async function reserve(target: postgres.Sql, ctx: GuardContext): Promise<postgres.ReservedSql> {
  const gate = ctx.reachability.enter();
  // A reservation that fails while connecting sent nothing: again, on another connection.
  const tryReserve = (tries: number): Promise<postgres.ReservedSql> =>
    target.reserve().catch((err: unknown) => (tries < MAX_RETRIES_BEFORE_SEND && isRetryableBeforeSend(err) ? tryReserve(tries + 1) : Promise.reject(err)));
  const pending = tryReserve(0);
  let timer: NodeJS.Timeout | undefined;
  let unwait: () => void = () => {};
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure(DB_ACQUIRE_TIMEOUT, `no database connection within ${ctx.acquireTimeoutMs} ms`)), ctx.acquireTimeoutMs);
    unwait = ctx.reachability.wait(reject);
  });
  try {
    const reserved = await Promise.race([pending, timeout]);
    gate.ok();
    return guarded(reserved, { ...ctx, line: new Line() });
  } catch (err) {
    gate.failed(err);
    // A reservation that arrives after we gave up goes straight back.
    pending.then((r) => r.release(), () => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
    unwait();
  }
}

/**
 * A whole transaction in ONE round trip: BEGIN, `build(sql)`'s statements and COMMIT are written
 * back to back on a reserved connection (postgres.js executes a connection's queries in the order
 * they are issued) and awaited together. If a statement fails, Postgres aborts the transaction
 * and turns the pipelined COMMIT into a rollback; the first failure is rethrown. Statements must
 * not depend on each other's results, and must be lazy postgres.js queries (a tagged template or
 * `sql.unsafe(...)`, not yet awaited): postgres.js sends a query when it is first awaited.
 * Returns the statements' results in order.
 *
 * Failure bounds: a lost connection fails the transaction at once (nothing more is written on it,
 * the connection is not released); no answer within statement_timeout + 1.5 s fails it with
 * DB_RESPONSE_TIMEOUT, and the connection goes back to the pool only once everything on it settled.
 */
export async function pipelinedTransaction(pool: postgres.Sql, build: (sql: postgres.Sql) => postgres.PendingQuery<postgres.Row[]>[]): Promise<postgres.RowList<postgres.Row[]>[]> {
  const ctx = (pool as unknown as { [CONTEXT]?: GuardContext })[CONTEXT];
  if (!ctx) throw new Error('pipelinedTransaction needs a pool made by createPool');
  const sql = (await pool.reserve()) as unknown as postgres.Sql & { release(): void; [LINE]: Line };
  const line = sql[LINE];
  const queries = [sql`begin`, ...build(sql), sql`commit`];
  const settled = Promise.allSettled(queries);
  const finish = async (results: PromiseSettledResult<unknown>[]) => {
    if (line.dead) return; // retired by postgres.js; Postgres rolled the session back
    // COMMIT answered (COMMIT, or ROLLBACK after a failed statement): the transaction is over.
    if (results[results.length - 1]!.status !== 'fulfilled') await orDeath(line, sql`rollback`).catch(() => undefined);
    sql.release();
  };
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    settled,
    line.died.then(() => 'dead' as const),
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ctx.responseBoundMs))),
  ]);
  clearTimeout(timer);
  if (outcome === 'dead') throw line.dead;
  if (outcome === 'timeout') {
    void Promise.race([settled, line.died]).then((r) => (Array.isArray(r) ? finish(r) : undefined));
    throw failure(DB_RESPONSE_TIMEOUT, `no answer from the database within ${ctx.responseBoundMs} ms`);
  }
  await finish(outcome);
  if (line.dead) throw line.dead;
  const failed = outcome.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return (outcome as PromiseFulfilledResult<postgres.RowList<postgres.Row[]>>[]).slice(1, -1).map((r) => r.value);
}

/**
 * For a transaction that changed nothing: when it ends, its COMMIT is written and its connection goes
 * back to the pool at once, without waiting for COMMIT's answer; the pool's next statements on that
 * connection are pipelined behind it (vendor/postgres, "release at COMMIT").
 */
export function releaseAtCommit(tx: Tx): void {
  (rawClientOf(tx) as unknown as { releaseAtCommit(): void }).releaseAtCommit();
}

/** The raw postgres.js transaction under a drizzle transaction, for libraries that take SQL text (pg-boss). */
export function rawClientOf(tx: Tx): postgres.TransactionSql {
  return (tx as unknown as { session: { client: postgres.TransactionSql } }).session.client;
}
