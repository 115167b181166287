/**
 * Fake email/SMS provider. Like a real one it:
 *  - accepts `POST /messages` (API key, idempotent on Idempotency-Key), records what was sent
 *    (subject, text, the links in it: readable at `GET /_control/messages`, so a test or a person can
 *    follow an invitation link from the "sent email");
 *  - after a short delay, moves each message to delivered or bounced (fault `bounceRate`, or a
 *    recipient whose local part starts with "bounce", like the SES simulator) and sends the signed
 *    `message.delivered` / `message.bounced` webhook, echoing the sender's metadata, to the endpoint
 *    registered for the API key (`PUT /webhook-endpoint`), retrying a failed delivery a few times.
 */
import { z } from 'zod';
import { parseInput } from './errors.js';
import { idempotent } from './idempotency.js';
import { readRoutes, type ProviderRoutes } from './provider.js';
import { isValidSecret, sendWebhook } from './send-webhooks.js';
import type { MockState } from './state.js';
import { buildEvent } from './webhook-events.js';

const sendMessageSchema = z.object({
  to_email: z.email(),
  user_external_id: z.string().min(1).max(200).optional(),
  channel: z.enum(['email', 'sms']).default('email'),
  subject: z.string().max(1000).optional(),
  text: z.string().max(100_000).optional(),
  metadata: z.record(z.string(), z.string().max(500)).optional(),
});

const endpointSchema = z.object({
  url: z.url(),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, 'must look like whsec_<base64>')
    .refine(isValidSecret, 'must look like whsec_<base64>'),
});

/** Attempts (first + retries) to deliver one status webhook, and the wait before each retry. */
const WEBHOOK_ATTEMPTS = 4;
const WEBHOOK_RETRY_MS = 500;

export const communicationServiceRoutes: ProviderRoutes = (app, state) => {
  readRoutes(app, state, 'messages');

  app.post('/messages', async (request, reply) => {
    const fields = parseInput(sendMessageSchema, request.body);
    const account = request.headers.authorization ?? '';
    return idempotent(state, request, reply, 'POST /messages', () => {
      const { subject, text, ...record } = fields;
      const message = state.store.createMessage(record);
      state.outbox.record({ ...message, subject: subject ?? '', text: text ?? '', account });
      scheduleDelivery(state, message.id, account);
      return { status: 201, body: message };
    });
  });

  // Where this account's delivery-status webhooks go (one endpoint per API key, as a provider's dashboard setting).
  app.put('/webhook-endpoint', async (request) => {
    const endpoint = parseInput(endpointSchema, request.body);
    state.outbox.endpoints.set(request.headers.authorization ?? '', endpoint);
    return { url: endpoint.url };
  });
  app.get('/webhook-endpoint', async (request, reply) => {
    const endpoint = state.outbox.endpoints.get(request.headers.authorization ?? '');
    return endpoint ? { url: endpoint.url } : reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no webhook endpoint registered' } });
  });
  app.delete('/webhook-endpoint', async (request) => {
    state.outbox.endpoints.delete(request.headers.authorization ?? '');
    return { deleted: true };
  });
};

/** After the delivery delay: delivered or bounced, then the webhook (if an endpoint is registered). */
function scheduleDelivery(state: MockState, messageId: string, account: string): void {
  const faults = state.faults.get('communication-service');
  state.outbox.later(faults.deliveryDelayMs, async () => {
    const current = state.store.get('messages', messageId);
    if (!current || current.status !== 'sent') return;
    const bounce = /^bounce/i.test(current.to_email) || state.faults.shouldFail(faults.bounceRate);
    const updated = state.store.update('messages', messageId, { status: bounce ? 'bounced' : 'delivered' })!;
    state.outbox.setStatus(messageId, updated.status);
    const endpoint = state.outbox.endpoints.get(account);
    if (!endpoint) return;
    const event = buildEvent(`message.${updated.status}`, updated);
    for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
      try {
        const { status } = await sendWebhook(endpoint.url, endpoint.secret, event);
        state.outbox.webhookAttempt(messageId, status);
        if (status < 300 || (status >= 400 && status < 500 && status !== 408 && status !== 429)) return;
      } catch {
        state.outbox.webhookAttempt(messageId, 0);
      }
      if (attempt < WEBHOOK_ATTEMPTS) await new Promise((r) => state.outbox.later(WEBHOOK_RETRY_MS * attempt, async () => r(undefined)));
    }
  });
}
