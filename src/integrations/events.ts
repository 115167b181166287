/**
 * Webhook event types each provider sends, the schema of their `data`, and how each is applied.
 * The receiver refuses (422) an event whose type its provider doesn't send or whose data fails the
 * schema; the processing job applies it through src/integrations/apply (the rule shared with sync).
 */
import { z } from 'zod';
import type { Tx } from '../db/client.js';
import {
  applyInvoice,
  applyMessage,
  applySubscription,
  applyUser,
  providerInvoice,
  providerMessage,
  providerSubscription,
  providerUser,
  type ApplyOutcome,
  type ApplyTarget,
} from './apply/index.js';
import type { Provider } from './types.js';

interface EventSpec<S extends z.ZodType> {
  provider: Provider;
  data: S;
  apply(tx: Tx, integration: ApplyTarget, data: z.infer<S>): Promise<ApplyOutcome>;
}

const spec = <S extends z.ZodType>(s: EventSpec<S>) => s as unknown as EventSpec<z.ZodType>;

export const EVENT_SPECS: Record<string, EventSpec<z.ZodType>> = {
  'user.created': spec({ provider: 'USER_SERVICE', data: providerUser, apply: applyUser }),
  'user.updated': spec({ provider: 'USER_SERVICE', data: providerUser, apply: applyUser }),
  // A deletion is a tombstone whatever status the payload carries.
  'user.deleted': spec({ provider: 'USER_SERVICE', data: providerUser, apply: (tx, i, d) => applyUser(tx, i, { ...d, status: 'deleted' }) }),
  'subscription.created': spec({ provider: 'PAYMENT_SERVICE', data: providerSubscription, apply: applySubscription }),
  'subscription.updated': spec({ provider: 'PAYMENT_SERVICE', data: providerSubscription, apply: applySubscription }),
  'subscription.canceled': spec({ provider: 'PAYMENT_SERVICE', data: providerSubscription, apply: (tx, i, d) => applySubscription(tx, i, { ...d, status: 'canceled' }) }),
  'invoice.paid': spec({ provider: 'PAYMENT_SERVICE', data: providerInvoice, apply: (tx, i, d) => applyInvoice(tx, i, { ...d, status: 'paid' }) }),
  'invoice.payment_failed': spec({ provider: 'PAYMENT_SERVICE', data: providerInvoice, apply: (tx, i, d) => applyInvoice(tx, i, { ...d, status: 'failed' }) }),
  'message.sent': spec({ provider: 'COMMUNICATION_SERVICE', data: providerMessage, apply: applyMessage }),
  'message.delivered': spec({ provider: 'COMMUNICATION_SERVICE', data: providerMessage, apply: (tx, i, d) => applyMessage(tx, i, { ...d, status: 'delivered' }) }),
  'message.bounced': spec({ provider: 'COMMUNICATION_SERVICE', data: providerMessage, apply: (tx, i, d) => applyMessage(tx, i, { ...d, status: 'bounced' }) }),
  'message.failed': spec({ provider: 'COMMUNICATION_SERVICE', data: providerMessage, apply: (tx, i, d) => applyMessage(tx, i, { ...d, status: 'failed' }) }),
};

/** The envelope every provider event has (Standard Webhooks payload convention). */
export const eventEnvelope = z.object({
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  occurred_at: z.iso.datetime({ offset: true }).optional(),
  data: z.record(z.string(), z.unknown()),
});
export type EventEnvelope = z.infer<typeof eventEnvelope>;

/** Problems with one event, for the 422 body; empty when it is acceptable for this provider. */
export function checkEvent(provider: Provider, event: unknown): { field: string; message: string }[] {
  const envelope = eventEnvelope.safeParse(event);
  if (!envelope.success) return envelope.error.issues.map((i) => ({ field: i.path.join('.') || 'event', message: i.message }));
  const s = EVENT_SPECS[envelope.data.type];
  if (!s || s.provider !== provider) return [{ field: 'type', message: `Unknown event type for ${provider}: ${envelope.data.type}` }];
  const data = s.data.safeParse(envelope.data.data);
  return data.success ? [] : data.error.issues.map((i) => ({ field: ['data', ...i.path].join('.'), message: i.message }));
}

/** Applies a stored event's payload (already checked at receipt; parsed again for its defaults). */
export function applyEvent(tx: Tx, integration: ApplyTarget, type: string, data: unknown): Promise<ApplyOutcome> {
  const s = EVENT_SPECS[type];
  if (!s) throw new Error(`No handler for event type ${type}`);
  return s.apply(tx, integration, s.data.parse(data));
}
