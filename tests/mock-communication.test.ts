/**
 * The mock communication service behaves like a real provider: authenticated, idempotent sends that
 * it records (readable at /_control/messages), and signed delivery-status webhooks after a delay,
 * with bounces and the usual faults.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '../src/integrations/secrets.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { mailbox } from './helpers/people.js';
import { waitFor } from './helpers/wait.js';

let mock: MockServices;
let receiver: http.Server;
let receiverUrl: string;
const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
let answer = 204;
const secret = generateWebhookSecret();

beforeAll(async () => {
  mock = await startMockServices({ port: 0, seedUsers: 1 });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await mock?.close();
  await new Promise((r) => receiver?.close(r));
});

const send = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${mock.url}/communication-service/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer key-a', ...headers }, body: JSON.stringify(body) });
const register = (body: unknown, key = 'key-a') =>
  fetch(`${mock.url}/communication-service/webhook-endpoint`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

describe('mock communication service', () => {
  it('refuses unauthenticated and malformed sends; registers only valid webhook endpoints', async () => {
    expect((await fetch(`${mock.url}/communication-service/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await send({ to_email: 'not-an-address' })).status).toBe(400);
    expect((await send({ to_email: 'a@example.com', text: 'x'.repeat(100_001) })).status).toBe(400);
    expect((await register({ url: 'not a url', secret })).status).toBe(400);
    expect((await register({ url: receiverUrl, secret: 'plain' })).status).toBe(400);
    expect((await register({ url: receiverUrl, secret })).status).toBe(200);
  });

  it('records what was sent (links extracted), replays a repeated Idempotency-Key, and reports delivery by a signed webhook echoing the metadata', async () => {
    const to = `reader-${Date.now()}@example.com`;
    const body = { to_email: to, subject: 'Hello', text: 'Open https://app.example.com/accept-invitation?token=inv_abc now', metadata: { tessera_message_id: '00000000-0000-4000-8000-000000000001', kind: 'INVITATION' } };
    const first = await send(body, { 'idempotency-key': 'k-1' });
    const replay = await send(body, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const sent = (await first.json()) as { id: string; status: string };
    expect((await replay.json()) as { id: string }).toMatchObject({ id: sent.id });
    const box = await mailbox(mock, to);
    expect(box).toHaveLength(1);
    expect(box[0]).toMatchObject({ id: sent.id, subject: 'Hello', links: ['https://app.example.com/accept-invitation?token=inv_abc'] });
    const hook = await waitFor(() => received.find((r) => r.body.includes(sent.id)), { message: 'the delivery webhook' });
    const event = new Webhook(secret).verify(hook.body, hook.headers as Record<string, string>) as { type: string; data: { id: string; status: string; metadata: Record<string, string> } };
    expect(event).toMatchObject({ type: 'message.delivered', data: { id: sent.id, status: 'delivered', metadata: body.metadata } });
    const kinds = await fetch(`${mock.url}/_control/messages?to=${to}&kind=PASSWORD_RESET`).then((r) => r.json() as Promise<{ messages: unknown[] }>);
    expect(kinds.messages).toHaveLength(0);
  });

  it('bounces addresses starting with "bounce" and at the bounceRate; retries a webhook the receiver refused with 5xx', async () => {
    answer = 503;
    const to = `bounce-${Date.now()}@example.com`;
    const { id } = (await (await send({ to_email: to, text: 'hi' })).json()) as { id: string };
    // The mock's record of the message shows each webhook attempt's status.
    await waitFor(async () => ((await mailbox(mock, to))[0]?.webhook_attempts.length ?? 0) >= 2, { message: 'a retried webhook' });
    expect((await mailbox(mock, to))[0]).toMatchObject({ id, status: 'bounced' });
    expect((await mailbox(mock, to))[0]!.webhook_attempts.slice(0, 2)).toEqual([503, 503]);
    answer = 204;
    const hooks = received.filter((r) => r.body.includes(id));
    expect(hooks.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(hooks[0]!.body)).toMatchObject({ type: 'message.bounced' });
    await fetch(`${mock.url}/_control/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'communication-service', bounceRate: 1, deliveryDelayMs: 10 }) });
    const next = (await (await send({ to_email: `fine-${Date.now()}@example.com` })).json()) as { id: string };
    const bounced = await waitFor(() => received.find((r) => r.body.includes(next.id)), { message: 'a bounce at bounceRate 1' });
    expect(JSON.parse(bounced.body)).toMatchObject({ type: 'message.bounced' });
    await fetch(`${mock.url}/_control/faults`, { method: 'DELETE' });
  });

  it('the webhook endpoint belongs to the API key: another account gets no webhooks', async () => {
    const before = received.length;
    const res = await fetch(`${mock.url}/communication-service/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer key-b' }, body: JSON.stringify({ to_email: 'other@example.com' }) });
    const { id } = (await res.json()) as { id: string };
    await new Promise((r) => setTimeout(r, 600));
    expect(received.slice(before).some((r) => r.body.includes(id))).toBe(false);
    expect((await fetch(`${mock.url}/communication-service/webhook-endpoint`, { headers: { authorization: 'Bearer key-b' } })).status).toBe(404);
  });
});
