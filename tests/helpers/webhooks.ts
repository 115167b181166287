import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { generateEvent, type WebhookEventType, type EventDataByType } from '../../src/mock-services/send-webhooks.js';
import type { TestServer } from './server.js';
import { waitFor } from './wait.js';

export { generateEvent };

export interface PostOptions {
  msgId?: string;
  timestamp?: Date;
  /** Replaces the webhook-signature header entirely. */
  signature?: string;
  /** Headers to drop (e.g. 'webhook-signature'). */
  omit?: string[];
  contentType?: string;
  /** Sign this body but send `body`. */
  signedBody?: string;
  /** Extra request headers (e.g. x-forwarded-for). */
  headers?: Record<string, string>;
}

/** POSTs a signed Standard Webhooks delivery with the raw body as given. */
export async function postWebhook(url: string, secret: string, body: string, o: PostOptions = {}) {
  const msgId = o.msgId ?? `msg_${Math.random().toString(36).slice(2)}`;
  const ts = o.timestamp ?? new Date();
  const headers: Record<string, string> = {
    'content-type': o.contentType ?? 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
    'webhook-signature': o.signature ?? new Webhook(secret).sign(msgId, ts, o.signedBody ?? body),
  };
  Object.assign(headers, o.headers);
  for (const h of o.omit ?? []) delete headers[h];
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

/**
 * POSTs with the header lines exactly as given: a list sends its header once per value, as a proxy
 * or a retrying client may (fetch would join them into one line).
 */
export function postHeaderLines(url: string, headers: Record<string, string | string[]>, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode!, body: json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An event of the type with plausible data (overrides pin fields), as a provider would send it. */
export function event<T extends WebhookEventType>(type: T, data: Partial<EventDataByType[T]> = {}, id?: string) {
  return generateEvent(type, data, id ? { id } : {});
}

/** Reads an event as the owner (superuser in tests: no RLS), for assertions. */
export async function storedEvent(server: TestServer, id: string) {
  const [row] = await server.ownerSql<{ id: string; status: string; attempts: number; last_error: string | null; outcome: string | null; provider_event_id: string; type: string }[]>`
    select id, status, attempts, last_error, outcome, provider_event_id, type from webhook_events where id = ${id}`;
  return row;
}

export async function waitForStatus(server: TestServer, id: string, status: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const e = await storedEvent(server, id);
    return e?.status === status ? e : undefined;
  }, { timeoutMs, message: `event ${id} to be ${status}` });
}

export async function countEvents(server: TestServer, integrationId: string): Promise<number> {
  const [{ n }] = (await server.ownerSql`select count(*)::int as n from webhook_events where integration_id = ${integrationId}`) as unknown as [{ n: number }];
  return n;
}

export async function countJobs(server: TestServer, integrationId: string): Promise<number> {
  const [{ n }] = (await server.ownerSql`select count(*)::int as n from pgboss.job where data->>'integrationId' = ${integrationId} and name like 'webhooks-%' and name not like '%-dead'`) as unknown as [{ n: number }];
  return n;
}
