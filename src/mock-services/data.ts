/**
 * Deterministic fake data: a seeded PRNG (no faker) and one factory per record type.
 * The same seed and the same sequence of operations always yield the same ids and fields.
 */
import { PLANS, type Invoice, type Message, type Subscription, type User } from './types.js';

/** Returns floats in [0, 1), like Math.random, which also satisfies this type. */
export type Rng = () => number;

/** mulberry32: tiny, fast and good enough for test data. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Provider-style id such as usr_k3j9x0q2m7p1; 16 base-36 chars make collisions negligible even at 100k records. */
export function randomId(rng: Rng, prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 16; i++) suffix += ID_ALPHABET[Math.floor(rng() * ID_ALPHABET.length)];
  return `${prefix}_${suffix}`;
}

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Linus', 'Frances', 'Dennis'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Perlman', 'Torvalds', 'Allen', 'Ritchie'];
const CURRENCIES = ['usd', 'eur', 'gbp'] as const;
const DAY_MS = 86_400_000;

export function makeUser(rng: Rng, updatedAt: string): User {
  const first = pick(rng, FIRST_NAMES);
  const last = pick(rng, LAST_NAMES);
  const id = randomId(rng, 'usr');
  // The id fragment keeps generated emails unique.
  const email = `${first}.${last}.${id.slice(4, 10)}@example.com`.toLowerCase();
  return { id, email, name: `${first} ${last}`, status: 'active', updated_at: updatedAt, version: 1 };
}

export function makeSubscription(rng: Rng, updatedAt: string, customerId: string): Subscription {
  const periodEnd = new Date(Date.parse(updatedAt) + 30 * DAY_MS).toISOString();
  return {
    id: randomId(rng, 'sub'),
    customer_id: customerId,
    plan: pick(rng, PLANS),
    status: 'active',
    current_period_end: periodEnd,
    updated_at: updatedAt,
    version: 1,
  };
}

export function makeInvoice(rng: Rng, updatedAt: string, subscriptionId: string): Invoice {
  return {
    id: randomId(rng, 'in'),
    subscription_id: subscriptionId,
    amount_cents: randomInt(rng, 5, 500) * 100,
    currency: pick(rng, CURRENCIES),
    status: 'paid',
    updated_at: updatedAt,
    version: 1,
  };
}

export function makeMessage(rng: Rng, updatedAt: string, to?: User): Message {
  return {
    id: randomId(rng, 'msg'),
    to_email: to?.email ?? `someone.${randomId(rng, 'x').slice(2, 8)}@example.com`,
    ...(to && { user_external_id: to.id }),
    channel: rng() < 0.8 ? 'email' : 'sms',
    status: 'sent',
    updated_at: updatedAt,
    version: 1,
  };
}

export interface SeedData {
  users: User[];
  subscriptions: Subscription[];
  invoices: Invoice[];
  messages: Message[];
}

/** Seed records are dated in early 2025, so anything changed at run time sorts after them. */
const SEED_EPOCH = Date.UTC(2025, 0, 1);

export function generateSeedData(rng: Rng, userCount: number): SeedData {
  let clock = SEED_EPOCH;
  const nextTimestamp = () => new Date((clock += randomInt(rng, 1, 3600) * 1000)).toISOString();
  const withHistory = <T extends { version: number; status: string }>(record: T, statuses: readonly T['status'][]): T => ({
    ...record,
    status: pick(rng, statuses),
    version: randomInt(rng, 1, 3),
  });

  const users = Array.from({ length: userCount }, () => ({ ...makeUser(rng, nextTimestamp()), version: randomInt(rng, 1, 3) }));
  // Every third user is a paying customer with two invoices; every other user got a message.
  const subscriptions = users
    .filter((_, i) => i % 3 === 0)
    .map((u) => withHistory(makeSubscription(rng, nextTimestamp(), u.id), ['active', 'active', 'past_due', 'canceled']));
  const invoices = subscriptions.flatMap((s) =>
    [0, 1].map(() => withHistory(makeInvoice(rng, nextTimestamp(), s.id), ['paid', 'paid', 'open', 'failed'])),
  );
  const messages = users
    .filter((_, i) => i % 2 === 0)
    .map((u) => withHistory(makeMessage(rng, nextTimestamp(), u), ['sent', 'delivered', 'delivered', 'bounced', 'failed']));
  return { users, subscriptions, invoices, messages };
}
