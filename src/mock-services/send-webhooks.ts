/**
 * Signs and sends Standard Webhooks deliveries to a Tessera instance. A library (signPayload,
 * sendWebhook, planDeliveries) and a CLI:
 *
 *   tsx src/mock-services/send-webhooks.ts --url http://localhost:4000/webhooks/<integrationId> \
 *     --secret whsec_... --type user.created [--batch 5] [--duplicate] [--out-of-order]
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { generateEvent, WEBHOOK_EVENT_TYPES, type WebhookEvent, type WebhookEventType } from './webhook-events.js';

export { buildEvent, generateEvent, WEBHOOK_EVENT_TYPES } from './webhook-events.js';
export type { EventDataByType, WebhookEvent, WebhookEventType } from './webhook-events.js';

const SEND_TIMEOUT_MS = 10_000;

/** The four headers of a signed delivery; the signature covers `${msgId}.${unixSeconds}.${body}` byte for byte. */
export function signPayload(secret: string, msgId: string, body: string, timestamp: Date = new Date()): Record<string, string> {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(msgId, timestamp, body),
    'content-type': 'application/json',
  };
}

/** A throwaway Webhook rejects malformed secrets (not whsec_<base64>, or empty). */
export function isValidSecret(secret: string): boolean {
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}

/**
 * POSTs one delivery. An array payload is a batch: its webhook-id is a fresh delivery id while each
 * element keeps its own event id. A single event is delivered under its own id unless msgId is given.
 */
export async function sendWebhook(
  url: string,
  secret: string,
  payload: object | object[],
  opts: { msgId?: string; timestamp?: Date } = {},
): Promise<{ status: number; body: unknown }> {
  const body = JSON.stringify(payload);
  const msgId = opts.msgId ?? deliveryId(payload);
  const response = await fetch(url, {
    method: 'POST',
    headers: signPayload(secret, msgId, body, opts.timestamp),
    body,
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
  });
  return { status: response.status, body: await readBody(response) };
}

function deliveryId(payload: object | object[]): string {
  const id = Array.isArray(payload) ? undefined : (payload as { id?: unknown }).id;
  return typeof id === 'string' ? id : `dlv_${randomUUID().replaceAll('-', '')}`;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!response.headers.get('content-type')?.includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface Delivery {
  msgId: string;
  payload: WebhookEvent | WebhookEvent[];
}

export interface DeliveryPlan {
  type: WebhookEventType;
  batch?: number;
  /** Send every delivery twice with the same webhook-id, as a provider retry would. */
  duplicate?: boolean;
  /** Ignore `type`: send user.updated (version 2) before user.created (version 1) of the same user. */
  outOfOrder?: boolean;
}

export function planDeliveries(plan: DeliveryPlan): Delivery[] {
  const deliveries = plan.outOfOrder ? outOfOrderUserEvents() : [singleOrBatch(plan.type, plan.batch)];
  return plan.duplicate ? deliveries.flatMap((d) => [d, d]) : deliveries;
}

function singleOrBatch(type: WebhookEventType, batch?: number): Delivery {
  if (!batch) {
    const event = generateEvent(type);
    return { msgId: event.id, payload: event };
  }
  const events = Array.from({ length: batch }, () => generateEvent(type));
  return { msgId: deliveryId(events), payload: events };
}

function outOfOrderUserEvents(): Delivery[] {
  const createdAt = new Date();
  const created = generateEvent('user.created', {}, { occurredAt: createdAt });
  const updatedAt = new Date(createdAt.getTime() + 1000);
  const updated = generateEvent(
    'user.updated',
    { ...created.data, name: `${created.data.name} (renamed)`, version: 2, updated_at: updatedAt.toISOString() },
    { occurredAt: updatedAt },
  );
  return [updated, created].map((event) => ({ msgId: event.id, payload: event }));
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      type: { type: 'string', default: 'user.created' },
      batch: { type: 'string' },
      duplicate: { type: 'boolean', default: false },
      'out-of-order': { type: 'boolean', default: false },
    },
  });
  const type = values.type as WebhookEventType;
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  if (!values.url || !values.secret || !WEBHOOK_EVENT_TYPES.includes(type) || (batch !== undefined && !(batch >= 1))) {
    console.error(
      'usage: send-webhooks --url <url> --secret whsec_... [--type <type>] [--batch N] [--duplicate] [--out-of-order]\n' +
        `types: ${WEBHOOK_EVENT_TYPES.join(', ')}`,
    );
    return 2;
  }
  let failed = false;
  for (const delivery of planDeliveries({ type, batch, duplicate: values.duplicate, outOfOrder: values['out-of-order'] })) {
    const result = await sendWebhook(values.url, values.secret, delivery.payload, { msgId: delivery.msgId });
    const events = [delivery.payload].flat().map((e) => `${e.type} ${e.id}`);
    console.log(JSON.stringify({ webhook_id: delivery.msgId, events, ...result }));
    failed ||= result.status >= 300;
  }
  return failed ? 1 : 0;
}

// Run as a CLI only when executed directly, not when imported by the mock server or tests.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
