/**
 * The current standing of the principals behind this process's open WebSockets (ARCHITECTURE
 * invariant 11: credentials stay live), so that every event delivered to a subscriber can be
 * checked against it without a query per event per subscriber.
 *
 * Three facts are kept, each only while a socket needs it: a tenant's status, a user's status and
 * role, and whether a session (refresh-token family, the access token's `sid`) is still live.
 *
 *  1. A socket `track`s its principal when it connects: the facts it lacks are read in one
 *     transaction (app_begin returns tenant and user; one more statement reads the session).
 *  2. Triggers on tenants, users and refresh_tokens NOTIFY channel `tessera_principals` with ids only
 *     (migration 0012) when a status or role changes or a session is revoked. A notification is a
 *     hint, never a fact: the fact it names is marked stale and read again from the tables, so a
 *     forged notification costs one read and changes nothing.
 *  3. While a fact is being read again, `standing()` waits for it (an event committed after a
 *     deactivation is never delivered on the old standing); then every socket that depends on it
 *     hears the new standing (and closes itself if it must).
 *  4. After the LISTEN connection reconnects, notifications sent meanwhile are lost: every fact is
 *     read again.
 */
import { eq, and, isNull, sql } from 'drizzle-orm';
import type { AppDb } from '../db/client.js';
import { refreshTokens } from '../db/schema.js';
import { actors, inTenant, type SessionState } from '../db/tenant-transaction.js';
import type { Logger } from '../logger.js';
import type { TenantRole } from '../auth/tokens.js';
import type { PubSub } from './pubsub.js';

export const PRINCIPALS_CHANNEL = 'tessera_principals';

export interface Principal {
  tenantId: string;
  /** The user, or the API key's id when `apiKey` (its standing is read like a user's: app_begin). */
  userId: string;
  apiKey?: boolean;
  /** The session the access token belongs to; without one, logout can't be told apart. */
  sessionId?: string;
}

export type Standing = { ok: true; role: TenantRole } | { ok: false; reason: string };

type Notification = { kind: 'tenant'; tenantId: string } | { kind: 'user'; tenantId: string; userId: string } | { kind: 'session'; tenantId: string; sessionId: string };

interface Fact<T> {
  value: T;
  refs: number;
  /** Set while the fact is read again; standing() waits for it. */
  reading?: Promise<void>;
  /** A notification arrived during the read: read once more when it ends. */
  again?: boolean;
}

type FactKind = 'tenant' | 'user' | 'session';

interface Watcher {
  principal: Principal;
  onChange(standing: Standing): void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PrincipalWatch {
  private readonly tenants = new Map<string, Fact<SessionState['tenantStatus']>>();
  private readonly users = new Map<string, Fact<{ status: SessionState['userStatus']; role: SessionState['userRole'] }>>();
  private readonly sessions = new Map<string, Fact<boolean>>();
  private readonly watchers = new Set<Watcher>();
  /** The user facts that are API keys' (read through the key, not a user). */
  private readonly apiKeys = new Set<string>();
  private stopListening?: () => void;
  private stopReconnect?: () => void;
  private closed = false;

  constructor(
    private readonly db: AppDb,
    private readonly log: Logger,
    private readonly pubsub: PubSub,
  ) {}

  /**
   * LISTENs on the principals channel on the pubsub's connection: one connection, so a deactivation's
   * hint is seen before any event committed after it (or in the same transaction). The pubsub
   * listens again after a lost connection; then every fact is read again.
   */
  async start(): Promise<void> {
    this.closed = false;
    this.stopListening = await this.pubsub.listenAlso(PRINCIPALS_CHANNEL, (payload) => this.onNotification(payload));
    this.stopReconnect = this.pubsub.onReconnect(() => this.refreshAll());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    this.stopReconnect?.();
    this.watchers.clear();
  }

  /**
   * Starts watching a socket's principal: returns its standing now and a function that stops
   * watching. `onChange` is called with the new standing whenever a fact it depends on changes.
   */
  async track(principal: Principal, onChange: (s: Standing) => void): Promise<{ standing: Standing; untrack(): void }> {
    const watcher: Watcher = { principal, onChange };
    this.watchers.add(watcher);
    const keys = factKeys(principal);
    const t = ref(this.tenants, keys.tenant, null);
    const u = ref(this.users, keys.user, { status: null, role: null });
    if (principal.apiKey) this.apiKeys.add(keys.user);
    const s = keys.session ? ref(this.sessions, keys.session, false) : undefined;
    if (t.refs === 1 || u.refs === 1 || (s && s.refs === 1)) {
      // First socket of this principal here: read all of it in one transaction.
      const reading = this.readPrincipal(principal).catch((err: unknown) => {
        this.log.warn({ err }, 'could not read a principal');
      });
      for (const f of [t, u, s]) if (f && f.refs === 1) f.reading = reading;
      await reading;
      // A notification that arrived during this first read asked for another one.
      for (const [kind, key, f] of [['tenant', keys.tenant, t], ['user', keys.user, u], ['session', keys.session, s]] as const) {
        if (!f || f.reading !== reading) continue;
        f.reading = undefined;
        if (f.again && key) this.reread(kind, key);
      }
    }
    let tracked = true;
    return {
      standing: await this.standing(principal),
      untrack: () => {
        if (!tracked) return;
        tracked = false;
        this.watchers.delete(watcher);
        unref(this.tenants, keys.tenant);
        unref(this.users, keys.user);
        if (!this.users.has(keys.user)) this.apiKeys.delete(keys.user);
        if (keys.session) unref(this.sessions, keys.session);
      },
    };
  }

  /** The principal's standing from the kept facts; waits only while one of them is being read again. */
  standing(principal: Principal): Standing | Promise<Standing> {
    const keys = factKeys(principal);
    const facts = [this.tenants.get(keys.tenant), this.users.get(keys.user), keys.session ? this.sessions.get(keys.session) : undefined];
    const pending = facts.map((f) => f?.reading).filter((p): p is Promise<void> => !!p);
    if (pending.length) return Promise.all(pending).then(() => this.standing(principal));
    const tenant = this.tenants.get(keys.tenant)?.value;
    const user = this.users.get(keys.user)?.value;
    if (tenant !== 'ACTIVE') return { ok: false, reason: tenant ? 'tenant suspended' : 'unknown tenant' };
    if (user?.status !== 'ACTIVE' || !user.role) return { ok: false, reason: 'account not active' };
    if (keys.session && this.sessions.get(keys.session)?.value !== true) return { ok: false, reason: 'session ended' };
    return { ok: true, role: user.role };
  }

  /** How many sockets are watched (tests and metrics). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  private onNotification(payload: string): void {
    let n: Notification;
    try {
      n = JSON.parse(payload) as Notification;
    } catch {
      return;
    }
    if (typeof n?.tenantId !== 'string' || !UUID.test(n.tenantId)) return;
    if (n.kind === 'tenant') this.reread('tenant', n.tenantId);
    else if (n.kind === 'user' && typeof n.userId === 'string' && UUID.test(n.userId)) this.reread('user', `${n.tenantId}/${n.userId}`);
    else if (n.kind === 'session' && typeof n.sessionId === 'string' && UUID.test(n.sessionId)) this.reread('session', `${n.tenantId}/${n.sessionId}`);
  }

  private facts(kind: FactKind): Map<string, Fact<unknown>> {
    return (kind === 'tenant' ? this.tenants : kind === 'user' ? this.users : this.sessions) as Map<string, Fact<unknown>>;
  }

  private read(kind: FactKind, key: string): Promise<void> {
    const [tenantId, id] = key.split('/') as [string, string];
    return kind === 'tenant' ? this.readTenant(tenantId) : kind === 'user' ? this.readUser(tenantId, id) : this.readSession(tenantId, id);
  }

  /** Reads a watched fact again (untracked facts cost nothing), then tells the sockets that depend on it. */
  private reread(kind: FactKind, key: string): void {
    const fact = this.facts(kind).get(key);
    if (!fact) return;
    if (fact.reading) {
      fact.again = true; // read once more when the current read ends
      return;
    }
    const run = async (): Promise<void> => {
      do {
        fact.again = false;
        try {
          await this.read(kind, key);
        } catch (err) {
          // Keep the last known value; try again shortly (a notification must not be lost to a blip).
          this.log.warn({ err }, 'could not re-read a principal; retrying');
          await new Promise((r) => setTimeout(r, 500));
          if (!this.closed && this.facts(kind).get(key) === fact) fact.again = true;
        }
      } while (fact.again && !this.closed);
    };
    fact.reading = run().finally(() => {
      fact.reading = undefined;
      this.notifyWatchers(kind, key);
    });
  }

  private notifyWatchers(kind: FactKind, key: string): void {
    for (const w of [...this.watchers]) {
      if (factKeys(w.principal)[kind] !== key) continue;
      void Promise.resolve(this.standing(w.principal)).then((standing) => {
        try {
          w.onChange(standing);
        } catch (err) {
          this.log.error({ err }, 'principal watcher failed');
        }
      });
    }
  }

  private refreshAll(): void {
    for (const kind of ['tenant', 'user', 'session'] as const) for (const key of this.facts(kind).keys()) this.reread(kind, key);
  }

  private async readPrincipal(p: Principal): Promise<void> {
    const keys = factKeys(p);
    const { state, live } = await inTenant(this.db, { ...actors.system('principals', p.tenantId), ...subject(p.userId, p.apiKey) }, async (tx, state) => ({
      state,
      live: p.sessionId ? await sessionLive(tx, p.sessionId) : false,
    }));
    this.set(this.tenants, keys.tenant, state.tenantStatus);
    this.set(this.users, keys.user, { status: state.userStatus, role: state.userRole });
    if (keys.session) this.set(this.sessions, keys.session, live);
  }

  private async readTenant(tenantId: string): Promise<void> {
    const state = await inTenant(this.db, actors.system('principals', tenantId), async (_tx, s) => s);
    this.set(this.tenants, tenantId, state.tenantStatus);
  }

  private async readUser(tenantId: string, userId: string): Promise<void> {
    const state = await inTenant(this.db, { ...actors.system('principals', tenantId), ...subject(userId, this.apiKeys.has(`${tenantId}/${userId}`)) }, async (_tx, s) => s);
    this.set(this.users, `${tenantId}/${userId}`, { status: state.userStatus, role: state.userRole });
  }

  private async readSession(tenantId: string, sessionId: string): Promise<void> {
    const live = await inTenant(this.db, actors.system('principals', tenantId), (tx) => sessionLive(tx, sessionId));
    this.set(this.sessions, `${tenantId}/${sessionId}`, live);
  }

  private set<T>(facts: Map<string, Fact<T>>, key: string, value: T): void {
    const f = facts.get(key);
    if (f) f.value = value;
  }
}

/** A session is live while one of its refresh tokens is unrevoked (logout and reuse detection revoke them all). */
async function sessionLive(tx: Parameters<Parameters<typeof inTenant>[2]>[0], sessionId: string): Promise<boolean> {
  const [row] = await tx
    .select({ one: sql<number>`1` })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.familyId, sessionId), isNull(refreshTokens.revokedAt)))
    .limit(1);
  return !!row;
}

/** Whose standing app_begin reads: a user's, or an API key's. */
const subject = (id: string, apiKey: boolean | undefined) => (apiKey ? { apiKeyId: id } : { userId: id });

function factKeys(p: Principal) {
  return { tenant: p.tenantId, user: `${p.tenantId}/${p.userId}`, session: p.sessionId ? `${p.tenantId}/${p.sessionId}` : undefined };
}

function ref<T>(facts: Map<string, Fact<T>>, key: string, initial: T): Fact<T> {
  let f = facts.get(key);
  if (!f) facts.set(key, (f = { value: initial, refs: 0 }));
  f.refs++;
  return f;
}

function unref<T>(facts: Map<string, Fact<T>>, key: string): void {
  const f = facts.get(key);
  if (f && --f.refs <= 0) facts.delete(key);
}
