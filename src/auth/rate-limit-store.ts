import crypto from 'node:crypto';
import type postgres from 'postgres';
import { Store, type Identity } from 'graphql-rate-limit';

export interface RateLimitStoreOptions {
  /** Separates the counters of different limits sharing the table. */
  namespace: string;
  /** Fixed window length; windows are aligned to the epoch, so every process agrees on them. */
  windowMs: number;
  /** false: one counter for the identity across all fields (e.g. all mutations of a user). */
  perField: boolean;
  /** Normalizes the library's field identity (field name + identity args) into the counter's key. */
  fieldKey?: (fieldIdentity: string) => string;
}

/**
 * graphql-rate-limit's Store, backed by the UNLOGGED table rate_limit_counters, shared by every
 * process on the database.
 *
 * The library reads the timestamps (getForIdentity), decides, then writes (setForIdentity): two
 * concurrent calls can both read "4 of 5" and both pass. Here getForIdentity records the call and
 * reads the window's count in ONE statement (an upsert that increments the counter row and returns
 * it; the row lock orders concurrent callers), and setForIdentity does nothing. The 50-concurrent
 * test against a limit of 5 lets exactly 5 through.
 *
 * The library also adds this request's own calls of the field (its batch-request cache, which stops
 * aliases from sharing one read) to what the store returns. Those calls are already in our counter,
 * so we return the count minus this request's calls of the field: the library's sum is then exactly
 * the counter. To know "this request", the context identity starts with a per-request key
 * (`requestKey|identity`, see rate-limits.ts), which is never sent to the database; a request's
 * aliases of one field are sent one after another, so the k-th of them always sees a count ≥ k.
 *
 * Budgets of 100 calls or more (the tenant budgets) are claimed in leases of 1 % instead (see
 * takeFromLease), so a tenant's counter row is not a point every request of the tenant queues on.
 */
/** Limits below 100 are counted exactly, call by call; larger budgets in leases of 1 %. */
export const leaseSize = (max: number) => (max >= 100 ? Math.floor(max / 100) : 1);

/** `requestKey|max|identity` (see rate-limits.ts); the identity may itself contain '|'. */
function splitIdentity(contextIdentity: string): [string, string, string] {
  const a = contextIdentity.indexOf('|');
  const b = contextIdentity.indexOf('|', a + 1);
  return [contextIdentity.slice(0, a), contextIdentity.slice(a + 1, b), contextIdentity.slice(b + 1)];
}

interface OwnCalls {
  count: number;
  tail: Promise<unknown>;
}

export class PostgresRateLimitStore extends Store {
  private leases = new Map<string, { window: number; granted: number; used: number; pending: Promise<boolean> | undefined }>();
  private current = new Map<string, OwnCalls>();
  private previous = new Map<string, OwnCalls>();
  private rotatedAt = Date.now();
  private prunedAt = Date.now();

  constructor(
    private readonly sql: postgres.Sql,
    readonly options: RateLimitStoreOptions,
  ) {
    super();
  }

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    const [requestKey, maxText, who] = splitIdentity(identity.contextIdentity);
    const max = Number(maxText);
    const field = this.options.perField ? (this.options.fieldKey?.(identity.fieldIdentity) ?? identity.fieldIdentity) : '*';
    const key = `${who}\n${field}`;
    const now = Date.now();
    const lease = leaseSize(max);
    if (lease > 1) {
      // Large budgets: admitted or not, decided here; the library adds this request's own calls (k,
      // at most the alias limit) to what we return, which stays within max when admitted.
      return (await this.takeFromLease(key, max, lease, now)) ? [] : new Array<number>(max).fill(now);
    }
    const own = this.ownCalls(`${requestKey}\n${identity.fieldIdentity}`);
    const k = ++own.count;
    // One request's calls of a field (aliases) go to the database one after another, so the k-th
    // of them gets a count of at least k and `hits - k` is never negative.
    const hit = own.tail.then(() => this.hit(key, now));
    own.tail = hit.catch(() => undefined);
    const hits = await hit;
    return new Array<number>(Math.max(0, hits - k)).fill(now);
  }

  /**
   * Budgets of 100 and more are handed out in leases of 1 %: a process claims `lease` calls in one
   * statement (the counter grows by the lease; what it grants is what was left under max), then admits
   * that many locally. So a tenant's hot counter row is touched once per lease, not once per request,
   * and the processes together never admit more than max. The price: up to one lease per process per
   * window may go unused (≤ 1 % of the budget each).
   */
  private async takeFromLease(key: string, max: number, lease: number, now: number): Promise<boolean> {
    const window = Math.floor(now / this.options.windowMs);
    let state = this.leases.get(key);
    if (!state || state.window !== window) {
      state = { window, granted: 0, used: 0, pending: undefined };
      this.leases.set(key, state);
      if (this.leases.size > 10_000) for (const [k, v] of this.leases) if (v.window !== window) this.leases.delete(k);
    }
    while (state.used >= state.granted) {
      // One claim in flight per key and process; concurrent callers wait for it instead of claiming more.
      state.pending ??= this.hit(key, now, lease)
        .then((hits) => {
          const before = hits - lease;
          state!.granted += Math.max(0, Math.min(lease, max - before));
          return hits - lease < max;
        })
        .finally(() => (state!.pending = undefined));
      const more = await state.pending;
      if (!more && state.used >= state.granted) return false;
    }
    state.used += 1;
    return true;
  }

  /** Recorded atomically in getForIdentity already. */
  setForIdentity(): void {}

  /** Seconds until the current window ends (windows are aligned, so this is the same in every process). */
  retryAfterSeconds(now = Date.now()): number {
    const w = this.options.windowMs;
    return Math.max(1, Math.ceil((Math.floor(now / w) * w + w - now) / 1000));
  }

  /** Counts `n` calls and returns the window's total, in one statement. */
  async hit(identity: string, now = Date.now(), n = 1): Promise<number> {
    // Hashed: no emails or IPs at rest. The namespace stays readable so each limit prunes its own rows.
    const key = `${this.options.namespace}:${crypto.createHash('sha256').update(identity).digest('base64url')}`;
    const windowStart = new Date(Math.floor(now / this.options.windowMs) * this.options.windowMs).toISOString();
    const [row] = await this.sql<{ hits: number }[]>`
      insert into rate_limit_counters (key, window_start, hits) values (${key}, ${windowStart}::timestamptz, ${n})
      on conflict (key, window_start) do update set hits = rate_limit_counters.hits + excluded.hits
      returning hits`;
    this.pruneOccasionally(now);
    return row!.hits;
  }

  /** This request's calls of the field (mirrors the library's batch cache). */
  private ownCalls(key: string): OwnCalls {
    const now = Date.now();
    if (now - this.rotatedAt > 30_000) {
      // Two generations: a request's entries live 30–60 s, far longer than a request, then go.
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    let own = this.current.get(key);
    if (!own) {
      own = this.previous.get(key) ?? { count: 0, tail: Promise.resolve() };
      this.current.set(key, own);
    }
    return own;
  }

  /** Old windows are deleted about once a minute per process; best effort, off the request path. */
  private pruneOccasionally(now: number) {
    if (now - this.prunedAt < 60_000) return;
    this.prunedAt = now;
    const before = new Date(now - this.options.windowMs * 2).toISOString();
    this.sql`delete from rate_limit_counters where key like ${`${this.options.namespace}:%`} and window_start < ${before}::timestamptz`.catch(() => undefined);
  }
}
