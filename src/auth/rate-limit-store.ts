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
 */
interface OwnCalls {
  count: number;
  tail: Promise<unknown>;
}

export class PostgresRateLimitStore extends Store {
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
    const sep = identity.contextIdentity.indexOf('|');
    const requestKey = identity.contextIdentity.slice(0, sep);
    const who = identity.contextIdentity.slice(sep + 1);
    const field = this.options.perField ? (this.options.fieldKey?.(identity.fieldIdentity) ?? identity.fieldIdentity) : '*';
    const own = this.ownCalls(`${requestKey}\n${identity.fieldIdentity}`);
    const k = ++own.count;
    const now = Date.now();
    // One request's calls of a field (aliases) go to the database one after another, so the k-th
    // of them gets a count of at least k and `hits - k` is never negative.
    const hit = own.tail.then(() => this.hit(`${who}\n${field}`, now));
    own.tail = hit.catch(() => undefined);
    const hits = await hit;
    return new Array<number>(Math.max(0, hits - k)).fill(now);
  }

  /** Recorded atomically in getForIdentity already. */
  setForIdentity(): void {}

  /** Seconds until the current window ends (windows are aligned, so this is the same in every process). */
  retryAfterSeconds(now = Date.now()): number {
    const w = this.options.windowMs;
    return Math.max(1, Math.ceil((Math.floor(now / w) * w + w - now) / 1000));
  }

  /** Counts one call and returns the window's total, in one statement. */
  async hit(identity: string, now = Date.now()): Promise<number> {
    // Hashed: no emails or IPs at rest. The namespace stays readable so each limit prunes its own rows.
    const key = `${this.options.namespace}:${crypto.createHash('sha256').update(identity).digest('base64url')}`;
    const windowStart = new Date(Math.floor(now / this.options.windowMs) * this.options.windowMs).toISOString();
    const [row] = await this.sql<{ hits: number }[]>`
      insert into rate_limit_counters (key, window_start, hits) values (${key}, ${windowStart}::timestamptz, 1)
      on conflict (key, window_start) do update set hits = rate_limit_counters.hits + 1
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
