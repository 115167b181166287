/** Webhook event envelopes and synthetic payloads for every event type the three providers emit. */
import { makeInvoice, makeMessage, makeSubscription, makeUser, randomId, type Rng } from './data.js';
import type { Invoice, Message, Subscription, User } from './types.js';

export interface WebhookEvent<D = unknown> {
  id: string;
  type: string;
  occurred_at: string;
  data: D;
}

export interface EventDataByType {
  'user.created': User;
  'user.updated': User;
  'user.deleted': User;
  'subscription.created': Subscription;
  'subscription.updated': Subscription;
  'subscription.canceled': Subscription;
  'invoice.paid': Invoice;
  'invoice.payment_failed': Invoice;
  'message.sent': Message;
  'message.delivered': Message;
  'message.bounced': Message;
  'message.failed': Message;
}
export type WebhookEventType = keyof EventDataByType;

export const WEBHOOK_EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'subscription.created',
  'subscription.updated',
  'subscription.canceled',
  'invoice.paid',
  'invoice.payment_failed',
  'message.sent',
  'message.delivered',
  'message.bounced',
  'message.failed',
] as const satisfies readonly WebhookEventType[];

export function buildEvent<D extends object>(type: string, data: D, opts: { id?: string; occurredAt?: Date } = {}): WebhookEvent<D> {
  return {
    id: opts.id ?? randomId(Math.random, 'evt'),
    type,
    occurred_at: (opts.occurredAt ?? new Date()).toISOString(),
    data,
  };
}

/** Anything but a creation event describes the record's second version. */
const second = <T extends { version: number; status: string }>(record: T, status: T['status'] = record.status): T => ({
  ...record,
  version: 2,
  status,
});

const DATA_GENERATORS: { [T in WebhookEventType]: (rng: Rng, at: string) => EventDataByType[T] } = {
  'user.created': (rng, at) => makeUser(rng, at),
  'user.updated': (rng, at) => second(makeUser(rng, at)),
  'user.deleted': (rng, at) => second(makeUser(rng, at), 'deleted'),
  'subscription.created': (rng, at) => makeSubscription(rng, at, randomId(rng, 'usr')),
  'subscription.updated': (rng, at) => second(makeSubscription(rng, at, randomId(rng, 'usr'))),
  'subscription.canceled': (rng, at) => second(makeSubscription(rng, at, randomId(rng, 'usr')), 'canceled'),
  'invoice.paid': (rng, at) => second(makeInvoice(rng, at, randomId(rng, 'sub')), 'paid'),
  'invoice.payment_failed': (rng, at) => second(makeInvoice(rng, at, randomId(rng, 'sub')), 'failed'),
  'message.sent': (rng, at) => makeMessage(rng, at),
  'message.delivered': (rng, at) => second(makeMessage(rng, at), 'delivered'),
  'message.bounced': (rng, at) => second(makeMessage(rng, at), 'bounced'),
  'message.failed': (rng, at) => second(makeMessage(rng, at), 'failed'),
};

/** A ready-made event of the given type with plausible data; `overrides` pins fields such as id or version. */
export function generateEvent<T extends WebhookEventType>(
  type: T,
  overrides: Partial<EventDataByType[T]> = {},
  opts: { id?: string; occurredAt?: Date; rng?: Rng } = {},
): WebhookEvent<EventDataByType[T]> {
  const occurredAt = opts.occurredAt ?? new Date();
  const generate = DATA_GENERATORS[type] as (rng: Rng, at: string) => EventDataByType[T];
  const data = { ...generate(opts.rng ?? Math.random, occurredAt.toISOString()), ...overrides };
  return buildEvent(type, data, { id: opts.id, occurredAt });
}
