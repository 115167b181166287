/**
 * One circuit breaker per integration per process, reconciled with the state every process shares
 * in `integration_circuits`.
 *
 * Reconciliation rule (why each process does not simply trust its own breaker):
 *  1. Each process runs a cockatiel ConsecutiveBreaker per integration. Its transitions
 *     (OPEN / HALF_OPEN / CLOSED) are written to the shared row through inTenant as the SYSTEM
 *     actor, with a NOTIFY in the same transaction.
 *  2. Before every call attempt a process consults the shared row (cached for CIRCUIT_CACHE_TTL_MS;
 *     the NOTIFY updates the cache at once):
 *       - ISOLATED (manual hold-open by an admin): no process calls, until an admin resets it.
 *       - OPEN written by another process (or by a trial): OPEN anywhere means open everywhere until
 *         opened_at + halfOpenAfter; calls fail fast with CircuitOpenError and never reach the provider.
 *         After that, ONE process claims the half-open trial with a conditional UPDATE (state and
 *         updated_at unchanged since it read them); the others keep failing fast while the shared
 *         row says HALF_OPEN. The trial's outcome is written back: success → CLOSED, failure → OPEN
 *         with a fresh opened_at. A HALF_OPEN row older than the trial timeout (the trialling process
 *         died) can be claimed again.
 *       - OPEN/HALF_OPEN written by this process's own breaker, or CLOSED: the local breaker decides.
 *  3. Reset (manual close) and every transition to CLOSED carry `resetLocal`: each process replaces
 *     its local breaker for that integration with a fresh, closed one.
 *  4. Automatic transitions never overwrite a manual hold (`manual = true`); only reset clears it.
 * Times are compared with each process's clock, so hosts need NTP (skew shortens or stretches the
 * open window by the skew; it never lets an ISOLATED circuit call).
 */
import { eq, and, sql } from 'drizzle-orm';
import { CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { AppDb } from '../db/client.js';
import { integrationCallStats, integrationCircuits, type IntegrationCircuitRow } from '../db/schema.js';
import { actors, inTenant } from '../db/tenant-transaction.js';
import type { Logger } from '../logger.js';
import { CIRCUIT_VALUES, type Metrics } from '../metrics.js';
import { publish, type CircuitChangedEvent, type PubSub } from '../realtime/pubsub.js';
import { CircuitOpenError, failureMessage, isProviderFailure } from './errors.js';
import type { CircuitStateName, IntegrationTarget } from './types.js';

export interface CircuitOptions {
  threshold: number;
  halfOpenAfterMs: number;
  cacheTtlMs: number;
  /** A claimed trial that has not reported back after this long is considered abandoned. */
  trialTimeoutMs: number;
}

interface SharedState {
  state: CircuitStateName;
  openedAt: number | null;
  updatedAt: number;
  manual: boolean;
  process: string | null;
  fetchedAt: number;
}

interface LocalBreaker {
  tenantId: string;
  policy: CircuitBreakerPolicy;
  dispose(): void;
}

/** 'local': the local breaker governs the call. 'trial': this call is the cluster's half-open trial. */
export type Admission = 'local' | 'trial';

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'CLOSED',
  [CircuitState.Open]: 'OPEN',
  [CircuitState.HalfOpen]: 'HALF_OPEN',
  [CircuitState.Isolated]: 'ISOLATED',
};

export interface CircuitRegistryDeps {
  db: AppDb;
  pubsub: PubSub;
  processId: string;
  log: Logger;
  metrics: Metrics;
  options: CircuitOptions;
}

export class CircuitRegistry {
  private local = new Map<string, LocalBreaker>();
  private shared = new Map<string, SharedState>();
  private loading = new Map<string, Promise<SharedState>>();
  private chains = new Map<string, Promise<void>>();
  /** Set at wiring time: re-evaluates health after a shared circuit change this process wrote. */
  onChanged?: (tenantId: string, integrationId: string) => Promise<void>;

  constructor(private readonly deps: CircuitRegistryDeps) {
    deps.pubsub.on((event) => {
      if (event.topic === 'integration_circuit_changed') this.applyNotification(event);
    });
    // Notifications may have been missed while the LISTEN connection was down.
    deps.pubsub.onReconnect(() => this.shared.clear());
  }

  /** The process-wide breaker of one integration, reused by every request and job. */
  breaker(target: IntegrationTarget): CircuitBreakerPolicy {
    const existing = this.local.get(target.id);
    if (existing && existing.tenantId === target.tenantId) return existing.policy;
    return this.createLocal(target).policy;
  }

  /** Throws CircuitOpenError when the shared state forbids calling; see the rule at the top. */
  async admit(target: IntegrationTarget): Promise<Admission> {
    const s = await this.sharedState(target);
    if (s.state === 'ISOLATED') throw new CircuitOpenError(target.id, 'ISOLATED');
    // Our own local breaker governs only the OPEN/HALF_OPEN it wrote itself; an OPEN written by a
    // trial (ours or another process's) leaves local breakers closed, so the window applies.
    const local = this.localState(target.id);
    const localGoverns = s.process === this.deps.processId && local !== undefined && local !== 'CLOSED';
    if ((s.state === 'OPEN' || s.state === 'HALF_OPEN') && !localGoverns) {
      const since = s.state === 'OPEN' ? (s.openedAt ?? s.updatedAt) : s.updatedAt;
      const wait = s.state === 'OPEN' ? this.deps.options.halfOpenAfterMs : this.deps.options.trialTimeoutMs;
      if (Date.now() - since < wait) throw new CircuitOpenError(target.id, s.state);
      if (await this.claimTrial(target, s)) {
        // The cluster's trial supersedes a local breaker that opened on its own meanwhile.
        if (local && local !== 'CLOSED') this.createLocal(target);
        return 'trial';
      }
      throw new CircuitOpenError(target.id, 'HALF_OPEN');
    }
    return 'local';
  }

  trialSucceeded(target: IntegrationTarget): void {
    this.write(target, 'CLOSED', 'Half-open trial succeeded');
  }

  trialFailed(target: IntegrationTarget, err: unknown): void {
    this.write(target, 'OPEN', `Half-open trial failed: ${describe(err)}`);
  }

  /** Resolves when pending shared-state writes (and their health re-evaluations) are done: one integration's, or all. */
  async settled(integrationId?: string): Promise<void> {
    if (integrationId) {
      while (this.chains.has(integrationId)) await this.chains.get(integrationId);
      return;
    }
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }

  /** This process's view, for metrics and tests. */
  localState(integrationId: string): CircuitStateName | undefined {
    const l = this.local.get(integrationId);
    return l && STATE_NAMES[l.policy.state];
  }

  dispose(): void {
    for (const l of this.local.values()) l.dispose();
    this.local.clear();
  }

  private createLocal(target: IntegrationTarget): LocalBreaker {
    this.local.get(target.id)?.dispose();
    const policy = circuitBreaker(handleWhen(isProviderFailure), {
      halfOpenAfter: this.deps.options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.deps.options.threshold),
    });
    const sub = policy.onStateChange((state) => {
      const name = STATE_NAMES[state];
      this.deps.metrics.circuitState.set({ integration_id: target.id }, CIRCUIT_VALUES[name]);
      const failure = policy.lastFailure;
      const reason = name === 'OPEN' ? `Opened after failures: ${failure && 'error' in failure ? describe(failure.error) : 'unknown'}` : name === 'HALF_OPEN' ? 'Half-open trial' : 'Closed after a successful trial';
      this.write(target, name, reason);
    });
    const local = { tenantId: target.tenantId, policy, dispose: () => sub.dispose() };
    this.local.set(target.id, local);
    return local;
  }

  private async sharedState(target: IntegrationTarget): Promise<SharedState> {
    const cached = this.shared.get(target.id);
    if (cached && Date.now() - cached.fetchedAt < this.deps.options.cacheTtlMs) return cached;
    let pending = this.loading.get(target.id);
    if (!pending) {
      const startedAt = Date.now();
      pending = inTenant(this.deps.db, actors.system('circuit-breaker', target.tenantId), (tx) =>
        tx.select().from(integrationCircuits).where(eq(integrationCircuits.integrationId, target.id)),
      )
        .then(([row]) => {
          const fresh = row ? toShared(row, startedAt) : { state: 'CLOSED' as const, openedAt: null, updatedAt: 0, manual: false, process: null, fetchedAt: startedAt };
          return this.remember(target.id, fresh);
        })
        .catch((err: unknown) => {
          // Database unreachable: fall back to what we knew (or to the local breaker alone) rather
          // than failing every outbound call; retry the read after one TTL.
          this.deps.log.warn({ err, integrationId: target.id }, 'shared circuit state unavailable; using the local breaker');
          const stale = this.shared.get(target.id);
          return this.remember(target.id, { ...(stale ?? { state: 'CLOSED' as const, openedAt: null, updatedAt: 0, manual: false, process: null }), fetchedAt: Date.now() });
        })
        .finally(() => this.loading.delete(target.id));
      this.loading.set(target.id, pending);
    }
    return pending;
  }

  /** Keeps the newer of the cached and the given state (a NOTIFY may beat a slower read). */
  private remember(integrationId: string, next: SharedState): SharedState {
    const current = this.shared.get(integrationId);
    if (current && current.updatedAt > next.updatedAt) {
      current.fetchedAt = Math.max(current.fetchedAt, next.fetchedAt);
      return current;
    }
    this.shared.set(integrationId, next);
    return next;
  }

  private applyNotification(e: CircuitChangedEvent) {
    this.remember(e.integrationId, {
      state: e.state,
      openedAt: e.openedAt ? Date.parse(e.openedAt) : null,
      updatedAt: Date.parse(e.updatedAt),
      manual: e.manual,
      process: e.process,
      fetchedAt: Date.now(),
    });
    this.deps.metrics.circuitState.set({ integration_id: e.integrationId }, CIRCUIT_VALUES[e.state]);
    const local = this.local.get(e.integrationId);
    if (e.resetLocal && local && local.tenantId === e.tenantId && local.policy.state !== CircuitState.Closed) {
      local.dispose();
      this.local.delete(e.integrationId);
    }
  }

  /** The conditional UPDATE that lets exactly one process run the cluster's half-open trial. */
  private async claimTrial(target: IntegrationTarget, seen: SharedState): Promise<boolean> {
    const now = new Date();
    const claimed = await inTenant(this.deps.db, actors.system('circuit-breaker', target.tenantId), async (tx) => {
      const [row] = await tx
        .update(integrationCircuits)
        .set({ state: 'HALF_OPEN', reason: 'Half-open trial', updatedAt: now, updatedByProcess: this.deps.processId })
        .where(
          and(
            eq(integrationCircuits.integrationId, target.id),
            eq(integrationCircuits.manual, false),
            eq(integrationCircuits.state, seen.state),
            eq(integrationCircuits.updatedAt, new Date(seen.updatedAt)),
          ),
        )
        .returning();
      if (row) await publish(tx, circuitEvent(row, this.deps.processId));
      return row;
    }).catch((err: unknown) => {
      this.deps.log.warn({ err, integrationId: target.id }, 'could not claim the half-open trial');
      return undefined; // not claimed: the caller fails fast, as while open
    });
    if (claimed) this.remember(target.id, toShared(claimed, Date.now()));
    if (claimed) this.enqueue(target.id, () => this.onChanged?.(target.tenantId, target.id) ?? Promise.resolve());
    return !!claimed;
  }

  /** Records a transition in the shared row (in order per integration) unless an admin holds it. */
  private write(target: IntegrationTarget, state: CircuitStateName, reason: string): void {
    this.enqueue(target.id, async () => {
      const now = new Date();
      const row = await inTenant(this.deps.db, actors.system('circuit-breaker', target.tenantId), async (tx) => {
        const values = {
          state,
          reason,
          updatedAt: now,
          updatedByProcess: this.deps.processId,
          ...(state === 'OPEN' ? { openedAt: now } : state === 'CLOSED' ? { openedAt: null } : {}),
        };
        const [r] = await tx
          .insert(integrationCircuits)
          .values({ tenantId: target.tenantId, integrationId: target.id, ...values })
          .onConflictDoUpdate({ target: [integrationCircuits.tenantId, integrationCircuits.integrationId], set: values, setWhere: sql`${integrationCircuits.manual} = false` })
          .returning();
        if (!r) return undefined;
        // Recovery ends the outage: its failures must not keep the failure ratio (and health) down.
        if (state === 'CLOSED') await tx.delete(integrationCallStats).where(eq(integrationCallStats.integrationId, target.id));
        await publish(tx, circuitEvent(r, this.deps.processId));
        return r;
      });
      if (!row) return;
      this.remember(target.id, toShared(row, Date.now()));
      await this.onChanged?.(target.tenantId, target.id);
    });
  }

  private enqueue(integrationId: string, fn: () => Promise<void>): void {
    const next = (this.chains.get(integrationId) ?? Promise.resolve())
      .then(fn)
      .catch((err: unknown) => this.deps.log.error({ err, integrationId }, 'circuit state write failed'));
    this.chains.set(integrationId, next);
    void next.finally(() => {
      if (this.chains.get(integrationId) === next) this.chains.delete(integrationId);
    });
  }
}

export function circuitEvent(row: IntegrationCircuitRow, processId: string): CircuitChangedEvent {
  return {
    topic: 'integration_circuit_changed',
    tenantId: row.tenantId,
    integrationId: row.integrationId,
    state: row.state,
    openedAt: row.openedAt ? new Date(row.openedAt).toISOString() : null,
    updatedAt: new Date(row.updatedAt).toISOString(),
    manual: row.manual,
    process: processId,
    resetLocal: row.state === 'CLOSED',
  };
}

function toShared(row: IntegrationCircuitRow, fetchedAt: number): SharedState {
  return {
    state: row.state,
    openedAt: row.openedAt ? new Date(row.openedAt).getTime() : null,
    updatedAt: new Date(row.updatedAt).getTime(),
    manual: row.manual,
    process: row.updatedByProcess,
    fetchedAt,
  };
}

function describe(err: unknown): string {
  return failureMessage(err).slice(0, 200);
}
