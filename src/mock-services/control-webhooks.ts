/**
 * POST /_control/webhooks/send: pushes signed webhooks to a Tessera instance, e.g. from a curl demo.
 * Without `data`, each event is a real change to the mock's records, so webhooks and later syncs agree.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, parseInput } from './errors.js';
import { isValidSecret, sendWebhook } from './send-webhooks.js';
import type { MockState } from './state.js';
import type { MockStore } from './store.js';
import type { CollectionName, Collections, NewRecord } from './types.js';
import { buildEvent, generateEvent, WEBHOOK_EVENT_TYPES, type EventDataByType, type WebhookEventType } from './webhook-events.js';

const sendSchema = z.object({
  url: z.url(),
  secret: z.string().refine(isValidSecret, 'must look like whsec_<base64>'),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  count: z.number().int().min(1).max(1000).default(1),
  /** Field overrides for a synthetic event; the mock's own records are then left untouched. */
  data: z.record(z.string(), z.unknown()).optional(),
});

/** Moves a random record that is not yet in `status` into it. */
function transition<C extends CollectionName>(store: MockStore, collection: C, status: Collections[C]['status']) {
  const record = store.pickRandom(collection, (r) => r.status !== status);
  return record && store.update(collection, record.id, { status } as Partial<NewRecord<C>>);
}

function touch<C extends CollectionName>(store: MockStore, collection: C, filter: (r: Collections[C]) => boolean) {
  const record = store.pickRandom(collection, filter);
  return record && store.update(collection, record.id);
}

const CHANGES: { [T in WebhookEventType]: (store: MockStore) => EventDataByType[T] | undefined } = {
  'user.created': (s) => s.createUser(),
  'user.updated': (s) => touch(s, 'users', (u) => u.status === 'active'),
  'user.deleted': (s) => transition(s, 'users', 'deleted'),
  'subscription.created': (s) => s.createSubscription(),
  'subscription.updated': (s) => touch(s, 'subscriptions', (sub) => sub.status !== 'canceled'),
  'subscription.canceled': (s) => transition(s, 'subscriptions', 'canceled'),
  'invoice.paid': (s) => transition(s, 'invoices', 'paid'),
  'invoice.payment_failed': (s) => transition(s, 'invoices', 'failed'),
  'message.sent': (s) => {
    const user = s.pickRandom('users', (u) => u.status === 'active');
    return s.createMessage(user ? { to_email: user.email, user_external_id: user.id } : {});
  },
  'message.delivered': (s) => transition(s, 'messages', 'delivered'),
  'message.bounced': (s) => transition(s, 'messages', 'bounced'),
  'message.failed': (s) => transition(s, 'messages', 'failed'),
};

function eventFromState(store: MockStore, type: WebhookEventType) {
  const data = CHANGES[type](store);
  if (!data) throw new HttpError(409, 'NO_MATCHING_RECORD', `no record can undergo ${type}`);
  return buildEvent(type, data);
}

export function webhookControlRoutes(app: FastifyInstance, state: MockState): void {
  app.post('/webhooks/send', async (request) => {
    const input = parseInput(sendSchema, request.body);
    const deliveries = [];
    // Sequential, so the receiver sees events in the order the changes happened.
    for (let i = 0; i < input.count; i++) {
      const event = input.data ? generateEvent(input.type, input.data) : eventFromState(state.store, input.type);
      try {
        deliveries.push({ event_id: event.id, type: event.type, ...(await sendWebhook(input.url, input.secret, event)) });
      } catch (error) {
        deliveries.push({ event_id: event.id, type: event.type, status: 0, error: String(error) });
      }
    }
    return { deliveries };
  });
}
