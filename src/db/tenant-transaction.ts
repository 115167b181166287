/**
 * The one way into tenant data (ARCHITECTURE invariant 2). Every transaction that touches a tenant's
 * rows starts with app_begin, which sets the transaction-local settings RLS and the audit trigger read,
 * in one parameterised call; they die with the transaction, so nothing leaks into the next user of a
 * pooled connection.
 *
 * Glossary
 *  - tenant:    the isolation boundary; `app.tenant_id` decides which rows RLS shows.
 *  - actor:     who causes the changes, recorded by the audit trigger: a USER (a tenant user's request),
 *               an API_KEY (a tenant's service account; app_begin checks the key's hash), an
 *               INTEGRATION (webhooks, sync and push of one integration), the SYSTEM (a named
 *               background part: 'sync-scheduler', 'circuit-breaker', 'seed'…), the tenant's
 *               directory through SCIM (named by its token) or the PLATFORM operator. Built only by
 *               `actors.*` below; carries the request (id, IP, user agent).
 *  - session:   what app_begin read in the same round trip: the tenant's and the user's status and role.
 *  - operation: one GraphQL operation (an HTTP request); it runs in one tenant transaction.
 *  - scope:     where services run their SQL (`Scope`); hides whether that is one transaction for the
 *               operation or one short transaction per call.
 *
 * The ways in, by purpose:
 *  - `inTenant(db, actor, fn)`: one tenant transaction (jobs' steps, auth, scripts).
 *  - `new OperationScope(db, actor, jobs)`: a GraphQL request; one transaction for the whole operation.
 *  - `new ShortTransactionScope(db, actor, jobs)`: sockets, jobs, seeds; one transaction per call.
 *  - `inTenantOneTrip(db, actor, statements)`: the webhook accept hot path; a whole transaction in one
 *    round trip.
 *  - `inPlatform(db, actors.platform(operatorId), fn)`: the platform operator; no tenant set.
 *  - `appBegin(sql, actor)`: the app_begin statement for a raw postgres.js transaction (the one-trip
 *    form, and tests and benchmarks that speak SQL as a given role). Nothing else sets `app.*`.
 */
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { pipelinedTransaction, releaseAtCommit, type AppDb, type Tx } from './client.js';
import { databaseErrorOf } from '../errors.js';
import { runStatement } from './statements.js';

/** Who caused a change; read by RLS policies and the audit trigger from transaction settings. */
export type ActorType = 'USER' | 'API_KEY' | 'PLATFORM' | 'INTEGRATION' | 'SYSTEM' | 'SCIM';

/** The request a transaction serves, recorded on its audit entries. */
export interface RequestInfo {
  requestId?: string | undefined;
  clientIp?: string | undefined;
  userAgent?: string | undefined;
}

/** A tenant and who acts in it: what app_begin sets. Build with `actors.*`. */
export interface TenantActor extends RequestInfo {
  readonly tenantId: string;
  readonly actorType: Exclude<ActorType, 'PLATFORM'>;
  readonly actorId: string;
  /** The tenant user, for USER actors: app_begin reports their status and role. */
  readonly userId?: string;
  /** The session an access token was issued for (claim sid): app_begin reports no user once it has ended. */
  readonly sessionId?: string;
  /** An API key: app_begin reports its standing and role in the user columns (instead of a user's). */
  readonly apiKeyId?: string;
  /** The key's SHA-256, for API_KEY actors: app_begin answers "unknown" unless it matches. */
  readonly apiKeyHash?: string;
}

/** The platform operator: no tenant is set, so RLS shows no tenant rows. Build with `actors.platform`. */
export interface PlatformActor {
  readonly actorType: 'PLATFORM';
  readonly actorId: string;
}

/** The actor builders: the only place an actor type is named. */
export const actors = {
  /** A tenant user acting through a request (GraphQL, login, refresh). */
  user: (userId: string, tenantId: string, request: RequestInfo = {}, sessionId?: string): TenantActor => ({ ...request, tenantId, actorType: 'USER', actorId: userId, userId, ...(sessionId ? { sessionId } : {}) }),
  /** A request authenticated by an API key (`tsk_…`, src/auth/api-keys.ts); the audit trail names the key. */
  apiKey: (keyId: string, keyHash: string, tenantId: string, request: RequestInfo = {}): TenantActor => ({ ...request, tenantId, actorType: 'API_KEY', actorId: keyId, apiKeyId: keyId, apiKeyHash: keyHash }),
  /** An integration's webhooks, sync or pushes; `request.requestId` names the delivery or job. */
  integration: (integrationId: string, tenantId: string, request: RequestInfo = {}): TenantActor => ({ ...request, tenantId, actorType: 'INTEGRATION', actorId: integrationId }),
  /** The tenant's directory provisioning through SCIM, named by the bearer token it used. */
  scim: (tokenId: string, tenantId: string, request: RequestInfo = {}): TenantActor => ({ ...request, tenantId, actorType: 'SCIM', actorId: tokenId }),
  /** A named background part of Tessera ('sync-scheduler', 'auth', 'seed'…) acting in a tenant. */
  system: (name: string, tenantId: string, request: RequestInfo = {}): TenantActor => ({ ...request, tenantId, actorType: 'SYSTEM', actorId: name }),
  /** The platform operator (creates, lists, suspends tenants through platform.* functions). */
  platform: (operatorId: string): PlatformActor => ({ actorType: 'PLATFORM', actorId: operatorId }),
};

/** What app_begin read in the same round trip: the tenant and (if any) the user as they are now. */
export interface SessionState {
  tenantStatus: 'ACTIVE' | 'SUSPENDED' | null;
  userStatus: 'ACTIVE' | 'INVITED' | 'DEACTIVATED' | null;
  userRole: 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER' | null;
}

function appBeginSettings(a: TenantActor): string {
  return JSON.stringify({
    tenant_id: a.tenantId,
    user_id: a.userId ?? null,
    actor_type: a.actorType,
    actor_id: a.actorId,
    request_id: a.requestId ?? null,
    client_ip: a.clientIp ?? null,
    user_agent: a.userAgent?.slice(0, 256) ?? null,
    ...(a.apiKeyId ? { api_key_id: a.apiKeyId, api_key_hash: a.apiKeyHash ?? null } : {}),
    ...(a.sessionId ? { session_id: a.sessionId } : {}),
  });
}

/**
 * The app_begin statement for a raw postgres.js transaction, not yet sent (postgres.js sends a query
 * when it is first awaited). For code that speaks SQL on its own connection: the one-trip form below,
 * and tests and benchmarks acting as a given database role. `::text::json`: a plain postgres.js client
 * would JSON-encode a string bound as json a second time (the app client, under drizzle, would not).
 */
export function appBegin(raw: postgres.Sql | postgres.TransactionSql, actor: TenantActor): postgres.PendingQuery<postgres.Row[]> {
  return raw`select app_begin(${appBeginSettings(actor)}::text::json)`;
}

const APP_BEGIN = 'select tenant_status, user_status, user_role from app_begin($1::text::json)';

async function begin(tx: Tx, actor: TenantActor): Promise<SessionState> {
  // A constant text run prepared on the raw client: nothing is built per transaction.
  const [row] = await runStatement<{ tenant_status: SessionState['tenantStatus']; user_status: SessionState['userStatus']; user_role: SessionState['userRole'] }>(tx, APP_BEGIN, [appBeginSettings(actor)]);
  return { tenantStatus: row?.tenant_status ?? null, userStatus: row?.user_status ?? null, userRole: row?.user_role ?? null };
}

/** One tenant transaction: BEGIN, app_begin, `fn`, COMMIT (ROLLBACK if `fn` throws). */
export function inTenant<T>(db: AppDb, actor: TenantActor, fn: (tx: Tx, session: SessionState) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => fn(tx, await begin(tx, actor)));
}

/**
 * The platform operator's transaction (on app.platformDb, role tessera_platform_api): no tenant is
 * set, so RLS shows no tenant rows; the operator acts only through platform.* functions, and is
 * recorded as the PLATFORM actor. Its role may not run app_begin (which reads tenant rows), so the
 * actor settings are made here, in one statement: the only settings made outside app_begin.
 */
export function inPlatform<T>(db: AppDb, actor: PlatformActor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.actor_type', ${actor.actorType}, true), set_config('app.actor_id', ${actor.actorId}, true)`);
    return fn(tx);
  });
}

/**
 * inTenant for the hottest path (webhook accept): the whole transaction in ONE round trip —
 * BEGIN, app_begin, the statements and COMMIT pipelined on one connection (pipelinedTransaction in
 * client.ts, which also bounds it: a lost connection or a silent database fails this transaction
 * with a connection failure, 503, and never the process or the pool). Statements must not depend
 * on each other's results. Returns their results in order.
 *
 * Each statement must be a lazy postgres.js query (a tagged template or `sql.unsafe(...)`, not yet
 * awaited): postgres.js sends a query when it is first awaited, in array order here. Anything that
 * runs its query on its own (an async function) would go out before BEGIN, outside the transaction.
 */
export async function inTenantOneTrip(db: AppDb, actor: TenantActor, statements: ((sql: postgres.Sql) => postgres.PendingQuery<postgres.Row[]>)[]): Promise<postgres.RowList<postgres.Row[]>[]> {
  const all = await pipelinedTransaction(db.$client, (sql) => [appBegin(sql, actor), ...statements.map((f) => f(sql))]);
  return all.slice(1);
}

/** Enqueues jobs inside a transaction (src/jobs/boss.ts implements it): they exist if it commits. */
export interface JobEnqueuer {
  enqueue<T extends object>(tx: Tx, queue: string, data: T[], opts?: { startAfterSeconds?: number }): Promise<string[]>;
}

/**
 * Where services run their SQL, the same way whatever the scope kind:
 *  - `read(fn)`: queries that change nothing. They see the tenant's data, including the scope's own
 *    earlier writes.
 *  - `write(fn)`: one change, all or nothing: if `fn` throws, everything it did is undone and nothing
 *    else is; once it resolves, the change stands and commits with the scope (an operation scope at the
 *    end of the operation; a short-transaction scope at once).
 */
export interface Scope {
  readonly actor: TenantActor;
  /** The job queue, for services that enqueue in the scope's transaction (e.g. pushes of a user's change). */
  readonly jobs?: JobEnqueuer;
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** A scope a request context holds: it can also report the session and be finished. */
export interface RequestScope extends Scope {
  /** Reads may start before the session is known (one transaction, app_begin first): see OperationScope.open. */
  readonly readsAhead: boolean;
  /** What app_begin read about the tenant and user. */
  session(): Promise<SessionState>;
  /** Commits (`commit`) or rolls back what the scope still holds open. */
  finish(commit: boolean): Promise<void>;
}

const ROLLBACK = Symbol('rollback');

/**
 * A GraphQL operation's scope: one tenant transaction, opened on first use and finished by the server
 * after execution (commit, or rollback when the operation failed as a whole). Every resolver and
 * DataLoader batch of the operation shares it, so an operation costs BEGIN + app_begin + its queries
 * + COMMIT round trips, independent of how many resolvers run. A write is a savepoint, so a failed
 * mutation undoes only itself.
 */
export class OperationScope implements RequestScope {
  /**
   * Only for access tokens, whose signature was verified before anything ran: an API key is checked
   * by app_begin itself, so a made-up key must cost that one statement, not the reads behind it.
   */
  readonly readsAhead: boolean;
  private opened?: Promise<{ tx: Tx; session: Promise<SessionState> }>;
  private release?: (commit: boolean) => void;
  private finished?: Promise<void>;
  private aborted = false;
  private wrote = false;

  constructor(
    private readonly db: AppDb,
    readonly actor: TenantActor,
    readonly jobs?: JobEnqueuer,
  ) {
    this.readsAhead = actor.actorType === 'USER';
  }

  /** Opens the transaction (once) and reports what app_begin read about the tenant and user. */
  async session(): Promise<SessionState> {
    return (await this.open()).session;
  }

  async read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const { tx } = await this.open();
    try {
      return await fn(tx);
    } catch (err) {
      // A failed statement outside a savepoint aborts the transaction: Postgres would turn our COMMIT
      // into a silent ROLLBACK, so remember it and make finish() say so.
      if (databaseErrorOf(err)) this.aborted = true;
      throw err;
    }
  }

  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.wrote = true;
    const { tx } = await this.open();
    return tx.transaction((sp) => fn(sp as unknown as Tx));
  }

  /**
   * Commits (or rolls back) if the transaction was ever opened. Rejects if the commit fails. A user's
   * operation that only read (no write(); read() changes nothing by contract) ends with a COMMIT whose
   * answer nobody waits for, and its connection goes back to the pool as COMMIT leaves: there is
   * nothing to commit or undo.
   */
  async finish(commit: boolean): Promise<void> {
    if (!this.opened) return;
    const opened = await this.opened.catch(() => undefined);
    // Not for API keys: their app_begin records the key's use (a write).
    const readOnly = opened !== undefined && !this.wrote && !this.aborted && this.actor.actorType === 'USER';
    if (readOnly) releaseAtCommit(opened.tx);
    this.release?.(readOnly || (commit && !this.aborted));
    await this.finished;
    if (commit && this.aborted) throw new Error('The operation\'s transaction was aborted by a failed statement and rolled back');
  }

  /**
   * BEGIN and app_begin go out at once, and the transaction is handed out without waiting for
   * app_begin's answer: reads issued meanwhile (read-ahead, src/graphql/read-ahead.ts) are pipelined
   * behind it on the connection, and Postgres runs them after it, with its settings (RLS) in force.
   * Whatever decides on the session (the permission rules) waits for the answer. If app_begin fails,
   * the statements behind it fail (the transaction is aborted) and so does the transaction.
   */
  private open() {
    this.opened ??= new Promise((resolveOpen, rejectOpen) => {
      this.finished = this.db.transaction(async (tx) => {
        const session = begin(tx, this.actor);
        session.catch(() => undefined); // awaited below; reported by session() to whoever asks
        const released = new Promise<void>((resolve, reject) => {
          this.release = (commit) => (commit ? resolve() : reject(ROLLBACK));
        });
        released.catch(() => undefined); // (once app_begin has failed, nobody waits for the release)
        resolveOpen({ tx, session });
        await session;
        return released;
      }).catch((err: unknown) => {
        if (err === ROLLBACK) return;
        rejectOpen(err); // no-op if it had opened; then finish() rethrows below
        throw err;
      });
      this.finished.catch(() => undefined); // surfaced by finish(), not as an unhandled rejection
    });
    return this.opened;
  }
}

/**
 * A scope of short transactions: every session check, read and write is its own tenant transaction.
 * For long-lived callers (WebSocket subscriptions, jobs, seeds) that must not hold a transaction open.
 */
export class ShortTransactionScope implements RequestScope {
  readonly readsAhead = false;
  constructor(
    private readonly db: AppDb,
    readonly actor: TenantActor,
    readonly jobs?: JobEnqueuer,
  ) {}
  session(): Promise<SessionState> {
    return inTenant(this.db, this.actor, async (_tx, session) => session);
  }
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return inTenant(this.db, this.actor, (tx) => fn(tx));
  }
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return inTenant(this.db, this.actor, (tx) => fn(tx));
  }
  async finish(): Promise<void> {}
}
