/** In-memory tables of the fake providers. Every change bumps version and updated_at, as real providers do. */
import { createRng, generateSeedData, makeMessage, makeSubscription, makeUser, pick, type Rng } from './data.js';
import type { CollectionName, Collections, NewRecord, User } from './types.js';

type Tables = { [C in CollectionName]: Map<string, Collections[C]> };

export interface StoreOptions {
  seed: number;
  seedUsers: number;
}

export class MockStore {
  private tables: Tables = emptyTables();
  private rng: Rng;
  private lastTimestamp = 0;

  constructor(private readonly options: StoreOptions) {
    this.rng = createRng(options.seed);
    this.reseed();
  }

  /** Back to the seed data, by default with the user count given at start-up: same seed, same records. */
  reseed(seedUsers = this.options.seedUsers): void {
    this.rng = createRng(this.options.seed);
    this.tables = emptyTables();
    const seed = generateSeedData(this.rng, seedUsers);
    for (const name of Object.keys(seed) as CollectionName[]) {
      for (const record of seed[name]) this.tables[name].set(record.id, record as never);
    }
    this.lastTimestamp = 0;
  }

  /**
   * Non-decreasing wall-clock time. It never runs ahead of the real clock (bulk creates share a
   * millisecond), so callers can use their own clock for updated_since; ties are ordered by id.
   */
  now(): string {
    this.lastTimestamp = Math.max(Date.now(), this.lastTimestamp);
    return new Date(this.lastTimestamp).toISOString();
  }

  get<C extends CollectionName>(collection: C, id: string): Collections[C] | undefined {
    return this.tables[collection].get(id);
  }

  list<C extends CollectionName>(collection: C): Collections[C][] {
    return [...this.tables[collection].values()];
  }

  count(collection: CollectionName): number {
    return this.tables[collection].size;
  }

  /** A random record matching the filter, for control-triggered events; undefined when none match. */
  pickRandom<C extends CollectionName>(collection: C, filter: (r: Collections[C]) => boolean = () => true) {
    const candidates = this.list(collection).filter(filter);
    return candidates.length ? pick(this.rng, candidates) : undefined;
  }

  createUser(fields: Partial<NewRecord<'users'>> = {}): User {
    return this.insert('users', { ...makeUser(this.rng, this.now()), ...fields });
  }

  createSubscription(fields: Partial<NewRecord<'subscriptions'>> = {}) {
    const customer = fields.customer_id ?? this.pickRandom('users', (u) => u.status === 'active')?.id ?? this.createUser().id;
    return this.insert('subscriptions', { ...makeSubscription(this.rng, this.now(), customer), ...fields });
  }

  createMessage(fields: Partial<NewRecord<'messages'>> = {}) {
    return this.insert('messages', { ...makeMessage(this.rng, this.now()), ...fields });
  }

  /** Applies a patch and bumps version/updated_at; an empty patch is a "touch". */
  update<C extends CollectionName>(collection: C, id: string, patch: Partial<NewRecord<C>> = {}): Collections[C] | undefined {
    const current = this.get(collection, id);
    if (!current) return undefined;
    const next = { ...current, ...patch, version: current.version + 1, updated_at: this.now() };
    return this.insert(collection, next);
  }

  private insert<C extends CollectionName>(collection: C, record: Collections[C]): Collections[C] {
    (this.tables[collection] as Map<string, Collections[C]>).set(record.id, record);
    return record;
  }
}

function emptyTables(): Tables {
  return { users: new Map(), subscriptions: new Map(), invoices: new Map(), messages: new Map() };
}
