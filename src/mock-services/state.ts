/** Everything one mock-services process holds in memory; exposed so tests can inspect or steer it directly. */
import { FaultRegistry } from './faults.js';
import { Outbox } from './outbox.js';
import { RequestCounters } from './request-counters.js';
import { MockStore, type StoreOptions } from './store.js';

/** A response kept for replay under its Idempotency-Key (see idempotency.ts). */
export interface CachedResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

export class MockState {
  readonly store: MockStore;
  readonly faults = new FaultRegistry();
  readonly requests = new RequestCounters();
  readonly idempotency = new Map<string, CachedResponse>();
  /** What the communication service sent, and its accounts' webhook endpoints. */
  readonly outbox = new Outbox();

  constructor(options: StoreOptions) {
    this.store = new MockStore(options);
  }

  /** Reseeds the data and forgets idempotency keys, request counts, sent messages and webhook endpoints. Faults are left as they are. */
  reset(seedUsers?: number): void {
    this.store.reseed(seedUsers);
    this.outbox.clear();
    this.idempotency.clear();
    this.requests.clear();
  }
}
