/**
 * Fan-out through Postgres LISTEN/NOTIFY (ARCHITECTURE invariant 9).
 *
 * Path of one event:
 *  1. A service changes a row inside inTenant and, in the same transaction, calls `publish(tx, event)`
 *     (pg_notify). Postgres delivers notifications only at COMMIT, so a rolled-back change notifies nobody.
 *  2. Every process holds ONE LISTEN connection (a dedicated postgres.js connection; when it is lost,
 *     PubSub LISTENs again on a fresh one until it succeeds) and hands each payload to its in-process
 *     listeners.
 *  3. graphql-ws subscription resolvers iterate `subscribe(filter)`; the filter always includes the
 *     subscriber's tenant, so a tenant never hears of another tenant's events.
 *
 * NOTIFY payloads are limited to 8000 bytes: events carry ids and a few small fields, never rows.
 *
 * Sealed payloads. Postgres has no privilege for NOTIFY or LISTEN: any session of any role may send
 * on our channel or listen to it. So every payload is sealed with AES-256-GCM under a key that only
 * our processes hold (derived from INTEGRATION_ENCRYPTION_KEY; the database never sees it):
 *  - a forged NOTIFY fails authentication and is dropped (logged once per minute), never delivered;
 *  - a session that LISTENs learns nothing of any tenant's events (an HMAC alone would stop forgery
 *    but leave every tenant's ids and statuses readable to it);
 *  - a captured payload sent again is dropped: each seal carries its time and a random IV, seals
 *    older than MAX_SEAL_AGE_MS are refused and the IVs of younger ones are remembered.
 * Chosen over confirming each event against the tables: that costs a query per event per process
 * (circuit changes have no row to confirm cheaply); a seal costs microseconds.
 */
import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Tx } from '../db/client.js';
import type { Logger } from '../logger.js';

export const CHANNEL = 'tessera_events';
const MAX_PAYLOAD_BYTES = 7900;
/** A subscriber that stops reading loses its oldest events rather than growing without bound. */
const MAX_QUEUED_PER_SUBSCRIBER = 1000;

export interface HealthChangedEvent {
  topic: 'integration_health_changed';
  tenantId: string;
  integrationId: string;
  id: string;
  status: 'HEALTHY' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';
  previousStatus: 'HEALTHY' | 'DEGRADED' | 'DOWN' | 'UNKNOWN' | null;
  reason: string | null;
  changedAt: string;
}

export interface CircuitChangedEvent {
  topic: 'integration_circuit_changed';
  tenantId: string;
  integrationId: string;
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'ISOLATED';
  openedAt: string | null;
  updatedAt: string;
  manual: boolean;
  process: string;
  /** Every process drops its local breaker for this integration and starts closed. */
  resetLocal: boolean;
}

/** A user import's progress (src/modules/imports/service.ts), after each committed batch. */
export interface ImportProgressEvent {
  topic: 'import_job_progress';
  tenantId: string;
  importJobId: string;
}

export type RealtimeEvent = HealthChangedEvent | CircuitChangedEvent | ImportProgressEvent;

/** How old a sealed payload may be when it arrives (commit and delivery follow the publish within this). */
const MAX_SEAL_AGE_MS = 120_000;
/** Seal IVs remembered against replays (all of the last MAX_SEAL_AGE_MS, up to this many). */
const MAX_REMEMBERED_SEALS = 200_000;

/**
 * Seals and opens payloads: `v1.<iv>.<tag>.<ciphertext>` (base64url) of `{ e: event, t: sent at ms }`.
 * The key is one per process: `publish(tx, event)` is called from services that hold no PubSub, so
 * the process's PubSub (createApp) installs it, like the process's logger. What was seen (against
 * replays) is remembered per PubSub: every LISTEN connection receives each payload once.
 */
let processKey: Buffer | undefined;

function seal(key: Buffer, event: RealtimeEvent, now = Date.now()): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(JSON.stringify({ e: event, t: now }), 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

class Opener {
  private readonly seen = new Map<string, number>(); // iv → when it may be forgotten

  constructor(private readonly key: Buffer) {}

  /** The event, or why it is refused: not ours (forged, or another key), too old, or seen before (replayed). */
  open(payload: string, now = Date.now()): { event: RealtimeEvent } | { refused: 'unauthentic' | 'stale' | 'replayed' } {
    const [version, iv, tag, ct] = payload.split('.');
    if (version !== 'v1' || !iv || !tag || ct === undefined) return { refused: 'unauthentic' };
    let sealed: { e: RealtimeEvent; t: number };
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      sealed = JSON.parse(Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8'));
    } catch {
      return { refused: 'unauthentic' };
    }
    if (!(Math.abs(now - sealed.t) <= MAX_SEAL_AGE_MS)) return { refused: 'stale' };
    for (const [old, until] of this.seen) {
      if (until > now && this.seen.size < MAX_REMEMBERED_SEALS) break;
      this.seen.delete(old);
    }
    if (this.seen.has(iv)) return { refused: 'replayed' };
    this.seen.set(iv, sealed.t + MAX_SEAL_AGE_MS);
    return { event: sealed.e };
  }
}

/** Queues a notification in the caller's transaction; it is sent when (and only if) that transaction commits. */
export async function publish(tx: Tx, event: RealtimeEvent): Promise<void> {
  if (!processKey) throw new Error('publish() before the process created its PubSub (no sealing key)');
  const payload = seal(processKey, event);
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) throw new Error(`NOTIFY payload too large (${event.topic})`);
  await tx.execute(sql`select pg_notify(${CHANNEL}, ${payload})`);
}

type Listener = (event: RealtimeEvent) => void;

/** Makes this process's LISTEN connection (createNotificationConnection in src/db/client.ts). */
export type NotificationConnector = (handlers: { onnotify: (channel: string, payload: string) => void; onclose: () => void }) => postgres.Sql;

export class PubSub {
  private listeners = new Set<Listener>();
  private reconnectListeners = new Set<() => void>();
  /** Other channels on the same connection: one connection keeps one commit order across channels. */
  private channels = new Map<string, (payload: string) => void>();
  private connection?: postgres.Sql;
  private listening = false;
  private connectedOnce = false;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;

  private readonly opener: Opener;
  private refusedLoggedAt = 0;

  /** `key`: 32 bytes only this deployment's processes hold (see "Sealed payloads" above); one per process. */
  constructor(
    private readonly connect: NotificationConnector,
    private readonly log: Logger,
    key: Buffer,
  ) {
    if (key.length !== 32) throw new Error('The realtime sealing key must be 32 bytes');
    if (processKey && !processKey.equals(key)) throw new Error('A process has one realtime sealing key');
    processKey ??= key;
    this.opener = new Opener(key);
  }

  /**
   * Opens this process's LISTEN connection; resolves once Postgres confirms the LISTEN. If Postgres
   * can't be reached, the process still starts (requests answer SERVICE_UNAVAILABLE and /readyz
   * 503) and the LISTEN is retried in the background until it succeeds — at start-up, and every
   * time the connection is lost later (a Postgres restart, a terminated backend, a network cut).
   */
  async start(): Promise<void> {
    this.closed = false;
    this.connection ??= this.connect({
      onnotify: (channel, payload) => (channel === CHANNEL ? this.dispatch(payload) : this.channels.get(channel)?.(payload)),
      onclose: () => {
        if (this.closed || !this.listening) return;
        this.listening = false;
        this.log.warn({ channel: CHANNEL }, 'LISTEN connection lost; listening again');
        this.retry(50);
      },
    });
    await this.listen();
  }

  /** Whether the LISTEN is in place now (notifications sent while it is not are lost). */
  get isListening(): boolean {
    return this.listening;
  }

  private async listen(): Promise<void> {
    if (this.closed || this.listening || !this.connection) return;
    try {
      await this.connection.unsafe(`listen "${CHANNEL}"`);
      for (const channel of this.channels.keys()) await this.connection.unsafe(`listen "${channel}"`);
      if (this.closed) return;
      this.listening = true;
      // After a reconnect: notifications sent while we were away are lost, so cached shared state must be re-read.
      if (this.connectedOnce) for (const fn of this.reconnectListeners) fn();
      this.connectedOnce = true;
    } catch (err) {
      if (this.closed) return;
      this.log.warn({ err }, 'LISTEN failed; retrying in 1 s');
      this.retry(1000);
    }
  }

  private retry(ms: number) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.listen(), ms);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    clearTimeout(this.retryTimer);
    await this.connection?.end({ timeout: 2 }).catch(() => undefined);
    this.connection = undefined;
    this.listeners.clear();
  }

  /** In-process listener (for caches); returns its removal. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Also LISTENs on `channel` (plain payloads, for hints like the principals channel). Notifications
   * of one transaction arrive in commit order across every channel of this connection, which is why
   * they share it. Returns the removal.
   */
  async listenAlso(channel: string, handler: (payload: string) => void): Promise<() => void> {
    this.channels.set(channel, handler);
    if (this.listening) await this.connection!.unsafe(`listen "${channel}"`).catch(() => this.retry(50));
    return () => this.channels.delete(channel);
  }

  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn);
    return () => this.reconnectListeners.delete(fn);
  }

  /** How many subscription iterators and listeners are attached (benchmarks wait on it). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /**
   * An async iterator of the events `filter` accepts, for a subscription resolver. graphql-ws calls
   * `return()` when the client unsubscribes or disconnects, which detaches it. `map` shapes each
   * event (e.g. into `{ fieldName: value }`) without an extra async generator, whose `return()` would
   * wait for the next event before it could detach.
   */
  subscribe<E extends RealtimeEvent, R = E>(filter: (event: RealtimeEvent) => event is E, map: (event: E) => R = (e) => e as unknown as R): AsyncIterableIterator<R> {
    const queue: R[] = [];
    let waiting: ((r: IteratorResult<R>) => void) | undefined;
    let done = false;
    const remove = this.on((event) => {
      if (done || !filter(event)) return;
      const value = map(event);
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w({ value, done: false });
      } else {
        queue.push(value);
        if (queue.length > MAX_QUEUED_PER_SUBSCRIBER) queue.shift();
      }
    });
    const finish = (): Promise<IteratorResult<R>> => {
      done = true;
      remove();
      queue.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: finish,
      throw: (err: unknown) => finish().then(() => Promise.reject(err)),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private dispatch(payload: string) {
    const opened = this.opener.open(payload);
    if ('refused' in opened) {
      // Someone else's NOTIFY on our channel (a forgery, a replay, another deployment's key): never delivered.
      if (Date.now() - this.refusedLoggedAt > 60_000) {
        this.refusedLoggedAt = Date.now();
        this.log.warn({ channel: CHANNEL, reason: opened.refused }, 'ignored a notification that is not sealed by this deployment');
      }
      return;
    }
    const { event } = opened;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error({ err }, 'realtime listener failed');
      }
    }
  }
}
