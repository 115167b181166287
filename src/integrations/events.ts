/**
 * Webhook event types each provider sends, the schema of their `data`, and how each is applied.
 * The receiver refuses (422) an event whose type its provider doesn't send or whose data fails the
 * schema; the processing job applies it through src/integrations/apply (the rule shared with sync).
 */
import { z } from 'zod';
import type { Tx } from '../db/client.js';
import {
  applyInvoice,
  applyInvoices,
  applyMessage,
  applySubscription,
  applySubscriptions,
  applyUser,
  applyUsers,
  providerInvoice,
  providerMessage,
  providerSubscription,
  providerUser,
  type ApplyOutcome,
  type ApplyTarget,
} from './apply/index.js';
import type { Provider } from '../db/providers.js';
import { isoDateTime } from '../validation.js';

/** How one kind of provider record is applied: one at a time, and (where written) many at once with the same rule. */
interface RecordKind<R extends { id: string }> {
  schema: z.ZodType<R>;
  applyOne(tx: Tx, integration: ApplyTarget, record: R): Promise<ApplyOutcome>;
  /** Outcomes in input order; at most one record per id in a call. */
  applyMany?(tx: Tx, integration: ApplyTarget, records: R[]): Promise<ApplyOutcome[]>;
}
const kind = <R extends { id: string }>(k: RecordKind<R>) => k as unknown as RecordKind<{ id: string }>;
const KINDS = {
  user: kind({ schema: providerUser, applyOne: applyUser, applyMany: applyUsers }),
  subscription: kind({ schema: providerSubscription, applyOne: applySubscription, applyMany: applySubscriptions }),
  invoice: kind({ schema: providerInvoice, applyOne: applyInvoice, applyMany: applyInvoices }),
  message: kind({ schema: providerMessage, applyOne: applyMessage }),
};

interface EventSpec {
  provider: Provider;
  kind: keyof typeof KINDS;
  /** What the event type itself says about the record (e.g. a deletion is a tombstone whatever status the payload carries). */
  status?: string;
}

export const EVENT_SPECS: Record<string, EventSpec> = {
  'user.created': { provider: 'USER_SERVICE', kind: 'user' },
  'user.updated': { provider: 'USER_SERVICE', kind: 'user' },
  'user.deleted': { provider: 'USER_SERVICE', kind: 'user', status: 'deleted' },
  'subscription.created': { provider: 'PAYMENT_SERVICE', kind: 'subscription' },
  'subscription.updated': { provider: 'PAYMENT_SERVICE', kind: 'subscription' },
  'subscription.canceled': { provider: 'PAYMENT_SERVICE', kind: 'subscription', status: 'canceled' },
  'invoice.paid': { provider: 'PAYMENT_SERVICE', kind: 'invoice', status: 'paid' },
  'invoice.payment_failed': { provider: 'PAYMENT_SERVICE', kind: 'invoice', status: 'failed' },
  'message.sent': { provider: 'COMMUNICATION_SERVICE', kind: 'message' },
  'message.delivered': { provider: 'COMMUNICATION_SERVICE', kind: 'message', status: 'delivered' },
  'message.bounced': { provider: 'COMMUNICATION_SERVICE', kind: 'message', status: 'bounced' },
  'message.failed': { provider: 'COMMUNICATION_SERVICE', kind: 'message', status: 'failed' },
};

/** The envelope every provider event has (Standard Webhooks payload convention). */
export const eventEnvelope = z.object({
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  occurred_at: isoDateTime.optional(),
  data: z.record(z.string(), z.unknown()),
});
export type EventEnvelope = z.infer<typeof eventEnvelope>;

/** Problems with one event, for the 422 body; empty when it is acceptable for this provider. */
export function checkEvent(provider: Provider, event: unknown): { field: string; message: string }[] {
  const envelope = eventEnvelope.safeParse(event);
  if (!envelope.success) return envelope.error.issues.map((i) => ({ field: i.path.join('.') || 'event', message: i.message }));
  const s = EVENT_SPECS[envelope.data.type];
  if (!s || s.provider !== provider) return [{ field: 'type', message: `Unknown event type for ${provider}: ${envelope.data.type}` }];
  const data = KINDS[s.kind].schema.safeParse(envelope.data.data);
  return data.success ? [] : data.error.issues.map((i) => ({ field: ['data', ...i.path].join('.'), message: i.message }));
}

/** A stored event's record, as its type means it (parsed again for the schema's defaults; it was checked at receipt). */
function recordOf(type: string, data: unknown): { kind: RecordKind<{ id: string }>; record: { id: string } } {
  const s = EVENT_SPECS[type];
  if (!s) throw new Error(`No handler for event type ${type}`);
  const k = KINDS[s.kind];
  const record = k.schema.parse(data);
  return { kind: k, record: s.status ? ({ ...record, status: s.status } as { id: string }) : record };
}

/** Applies one stored event's payload. */
export function applyEvent(tx: Tx, integration: ApplyTarget, type: string, data: unknown): Promise<ApplyOutcome> {
  const { kind: k, record } = recordOf(type, data);
  return k.applyOne(tx, integration, record);
}

/**
 * Applies many stored events of one integration, ending in the same state and outcomes as
 * `applyEvent` on each in order, with a few statements per kind instead of a few per event:
 * records of a kind go to its `applyMany` in rounds, each round holding at most one event per
 * record id (so a record's events still apply in order). Throws if any event throws.
 */
export async function applyEvents(tx: Tx, integration: ApplyTarget, events: { type: string; data: unknown }[]): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = new Array(events.length);
  const byKind = new Map<RecordKind<{ id: string }>, { index: number; record: { id: string } }[]>();
  events.forEach((e, index) => {
    const { kind: k, record } = recordOf(e.type, e.data);
    const items = byKind.get(k);
    if (items) items.push({ index, record });
    else byKind.set(k, [{ index, record }]);
  });
  for (const [k, items] of byKind) {
    if (!k.applyMany) {
      for (const { index, record } of items) outcomes[index] = await k.applyOne(tx, integration, record);
      continue;
    }
    // Round n holds each record's n-th event.
    const rounds: (typeof items)[] = [];
    const seen = new Map<string, number>();
    for (const it of items) {
      const n = seen.get(it.record.id) ?? 0;
      seen.set(it.record.id, n + 1);
      (rounds[n] ??= []).push(it);
    }
    for (const round of rounds) {
      const applied = await k.applyMany(tx, integration, round.map((it) => it.record));
      round.forEach((it, i) => (outcomes[it.index] = applied[i]!));
    }
  }
  return outcomes;
}
