/** Step 5 of receiving, the gathering: verified deliveries wait here for their integration's next transaction (./store.ts). */
import { isIntegrationGone, MAX_BATCH, refusal, type Delivery, type WebhookIntegration, type WebhookRequest, type WebhookResponse } from './types.js';

/** A storing transaction running longer than this no longer holds the deliveries behind it. */
const STORE_STALL_MS = 50;
/** Storing transactions per integration at most (a stalled database gets no connection per delivery). */
const MAX_STORES_IN_FLIGHT = 8;
/** Deliveries waiting per integration beyond this are answered 503 at once. */
const MAX_WAITING = 2000;

export interface WaitingDelivery {
  integration: WebhookIntegration;
  req: WebhookRequest;
  delivery: Delivery;
  resolve(res: WebhookResponse): void;
  reject(err: unknown): void;
}

/** Stores a batch of one integration's deliveries in one transaction; one answer per delivery, in order. */
export type StoreTogether = (batch: WaitingDelivery[]) => Promise<WebhookResponse[]>;

export class DeliveryGatherer {
  /** Verified deliveries waiting to be stored, per integration, and the integrations' storing transactions. */
  private readonly waiting = new Map<string, WaitingDelivery[]>();
  private readonly storing = new Map<string, { loops: number; lastStart: number; timer?: NodeJS.Timeout }>();

  constructor(private readonly storeTogether: StoreTogether) {}

  /**
   * Step 5. Deliveries to one integration that arrive while its transaction is in flight gather and
   * are stored together in the next one (no timer: a lone delivery goes at once), so under load many
   * deliveries share one commit. A transaction that takes longer than STORE_STALL_MS (a lock wait,
   * a slow commit) does not hold the deliveries behind it: another one starts for them, up to
   * MAX_STORES_IN_FLIGHT. A gathered transaction that fails is retried one delivery at a time, so
   * one delivery can never fail another's.
   */
  add(integration: WebhookIntegration, req: WebhookRequest, delivery: Delivery): Promise<WebhookResponse> {
    return new Promise((resolve, reject) => {
      const key = req.integrationId;
      const waiting = this.waiting.get(key) ?? [];
      if (waiting.length >= MAX_WAITING) {
        resolve(refusal('SERVICE_UNAVAILABLE', 'Too many deliveries waiting to be stored; retry later', {}, { 'retry-after': '5' }));
        return;
      }
      waiting.push({ integration, req, delivery, resolve, reject });
      this.waiting.set(key, waiting);
      this.startStoring(key);
    });
  }

  /** Starts storing an integration's waiting deliveries, unless its running transaction is recent; then looks again once it would count as stalled. */
  private startStoring(key: string): void {
    const s = this.storing.get(key);
    if (!s) return void this.storeWaiting(key);
    if (s.loops >= MAX_STORES_IN_FLIGHT || s.timer) return;
    const wait = s.lastStart + STORE_STALL_MS - Date.now();
    if (wait <= 0) return void this.storeWaiting(key);
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (this.waiting.has(key)) this.startStoring(key);
    }, wait);
  }

  private async storeWaiting(key: string): Promise<void> {
    let s = this.storing.get(key);
    if (!s) this.storing.set(key, (s = { loops: 0, lastStart: 0 }));
    s.loops++;
    try {
      for (let batch = this.takeWaiting(key); batch.length > 0; batch = this.takeWaiting(key)) {
        s.lastStart = Date.now();
        try {
          const results = await this.storeTogether(batch);
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          if (batch.length === 1 || isIntegrationGone(err)) for (const p of batch) p.reject(err);
          else
            for (const p of batch) {
              s.lastStart = Date.now();
              await this.storeTogether([p]).then(([r]) => p.resolve(r!), p.reject);
            }
        }
      }
    } finally {
      if (--s.loops === 0) {
        clearTimeout(s.timer);
        this.storing.delete(key);
      }
    }
  }

  /** The next deliveries of an integration to store together: at least one, at most MAX_BATCH events. */
  private takeWaiting(key: string): WaitingDelivery[] {
    const waiting = this.waiting.get(key) ?? [];
    let events = 0;
    let n = 0;
    while (n < waiting.length && (n === 0 || events + waiting[n]!.delivery.rows.length <= MAX_BATCH)) events += waiting[n++]!.delivery.rows.length;
    const batch = waiting.splice(0, n);
    if (waiting.length === 0) this.waiting.delete(key);
    return batch;
  }
}
