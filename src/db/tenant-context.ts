import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { pipelinedTransaction, type AppDb, type Tx } from './client.js';

/** Who caused a change; read by RLS policies and the audit trigger from transaction settings. */
export type ActorType = 'USER' | 'PLATFORM' | 'INTEGRATION' | 'SYSTEM';

export interface TenantSettings {
  tenantId: string;
  userId?: string | null;
  actorType: ActorType;
  actorId?: string | null;
  requestId?: string;
  clientIp?: string;
  userAgent?: string;
}

/** What app_begin read in the same round trip: the tenant and (if any) the user as they are now. */
export interface SessionState {
  tenantStatus: 'ACTIVE' | 'SUSPENDED' | null;
  userStatus: 'ACTIVE' | 'INVITED' | 'DEACTIVATED' | null;
  userRole: 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER' | null;
}

/**
 * The one way into tenant data (ARCHITECTURE invariant 2): opens a transaction, sets the
 * transaction-local settings with one parameterised call, and runs `fn` inside. Settings die with
 * the transaction, so nothing leaks into the next user of the pooled connection.
 */
export function withTenant<T>(db: AppDb, settings: TenantSettings, fn: (tx: Tx, session: SessionState) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const session = await beginSession(tx, settings);
    return fn(tx, session);
  });
}

function sessionSettings(s: TenantSettings) {
  return {
    tenant_id: s.tenantId,
    user_id: s.userId ?? null,
    actor_type: s.actorType,
    actor_id: s.actorId ?? s.userId ?? null,
    request_id: s.requestId ?? null,
    client_ip: s.clientIp ?? null,
    user_agent: s.userAgent?.slice(0, 256) ?? null,
  };
}

async function beginSession(tx: Tx, s: TenantSettings): Promise<SessionState> {
  const settings = sessionSettings(s);
  const rows = (await tx.execute(
    sql`select tenant_status, user_status, user_role from app_begin(${JSON.stringify(settings)}::json)`,
  )) as unknown as { tenant_status: SessionState['tenantStatus']; user_status: SessionState['userStatus']; user_role: SessionState['userRole'] }[];
  const row = rows[0];
  return { tenantStatus: row?.tenant_status ?? null, userStatus: row?.user_status ?? null, userRole: row?.user_role ?? null };
}

/**
 * The platform operator's transaction (on app.platformDb, role tessera_platform_api): no tenant is
 * set, so RLS shows no tenant rows; the operator acts only through platform.* functions, and is
 * recorded as the PLATFORM actor. Its role may not run app_begin (which reads tenant rows), so the
 * actor settings are made directly, in one statement.
 */
export function withPlatformActor<T>(db: AppDb, operatorId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.actor_type', 'PLATFORM', true), set_config('app.actor_id', ${operatorId}, true)`);
    return fn(tx);
  });
}

/**
 * withTenant for the hottest path (webhook accept): the whole transaction in ONE round trip —
 * BEGIN, app_begin, the statements and COMMIT pipelined on one connection (pipelinedTransaction in
 * client.ts, which also bounds it: a lost connection or a silent database fails this transaction
 * with a connection failure, 503, and never the process or the pool). Statements must not depend
 * on each other's results. Returns their results in order.
 *
 * Each statement must be a lazy postgres.js query (a tagged template or `sql.unsafe(...)`, not yet
 * awaited): postgres.js sends a query when it is first awaited, in array order here. Anything that
 * runs its query on its own (an async function) would go out before BEGIN, outside the transaction.
 */
export async function withTenantOneTrip(db: AppDb, s: TenantSettings, statements: ((sql: postgres.Sql) => postgres.PendingQuery<postgres.Row[]>)[]): Promise<postgres.RowList<postgres.Row[]>[]> {
  const all = await pipelinedTransaction(db.$client, (sql) => [sql`select app_begin(${JSON.stringify(sessionSettings(s))}::json)`, ...statements.map((f) => f(sql))]);
  return all.slice(1);
}
