/**
 * Receiving webhooks (POST /webhooks/:integrationId). "Accepted means durable" (ARCHITECTURE
 * invariant 6): a 2xx is sent only after the event rows and their jobs committed in one transaction.
 *
 * Steps, each refusal with a JSON error body and nothing stored:
 *  1. rate limit per integration (429 + Retry-After);
 *  2. which tenant owns the integration, and its secrets: platform.webhook_integration(), a narrow
 *     SECURITY DEFINER lookup (the tenant is unknown until then; RLS stays on), kept for a few
 *     seconds — unknown, disabled or suspended → 404, also when that happened after the lookup
 *     (checked again in step 5's transaction);
 *  3. content type (415), then the Standard Webhooks signature over the raw bytes, current or
 *     previous secret, timestamp within 5 minutes either way (401);
 *  4. JSON object or array of objects (400), each event valid for the provider (422);
 *  5. one transaction as the integration (INTEGRATION actor): insert the events and their jobs, both
 *     keyed by an id derived from (tenant, integration, provider event id), ON CONFLICT DO NOTHING; then 202,
 *     or 200 `duplicate: true` when every event was already stored. A concurrent copy waits on the
 *     unique index for the first to commit, then finds it: one event, one job. Deliveries that
 *     arrive while the integration's previous transaction is in flight share the next one.
 */
import crypto from 'node:crypto';
import type postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { withTenant, withTenantOneTrip } from '../../db/tenant-context.js';
import type { IntegrationDeps } from '../deps.js';
import { integrationActor } from './process.js';
import type { Provider } from '../../db/providers.js';
import { AppError, ErrorCode, fromDatabaseError, isDatabaseUnavailable, type ErrorCodeName } from '../../errors.js';
import { QUEUES, type WebhookJobData } from '../../jobs/queues.js';
import { checkEvent } from '../events.js';
import { unstorableText } from '../../validation.js';
import { secretBinding } from '../secrets.js';
import { TokenBuckets } from './rate-limit.js';
import { isSourceRefused, senderAllowed } from './sources.js';

export interface WebhookRequest {
  integrationId: string;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  body: Buffer;
  requestId: string;
  /** The sender's address (normalized; see sources.ts), for the integration's source allowlist. */
  sourceIp: string | null;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
  /** A refusal: the HTTP layer answers it in the REST error envelope. */
  error?: AppError;
  headers?: Record<string, string>;
  /** Set when jobs were enqueued: the queue to wake once the transaction has committed. */
  wake?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long a looked-up integration's secrets are kept (its usability is checked at every store). */
const INTEGRATION_CACHE_MS = 10_000;
/** SQLSTATEs of platform.require_webhook_integration(): the integration may no longer receive; a secret rotated out. */
const sqlState = (err: unknown) => (err as { code?: string } | undefined)?.code;
const isIntegrationGone = (err: unknown) => sqlState(err) === 'TS404';
const isSecretRevoked = (err: unknown) => sqlState(err) === 'TS401';
/** A storing transaction running longer than this no longer holds the deliveries behind it. */
const STORE_STALL_MS = 50;
/** Storing transactions per integration at most (a stalled database gets no connection per delivery). */
const MAX_STORES_IN_FLIGHT = 8;
/** Deliveries waiting per integration beyond this are answered 503 at once. */
const MAX_WAITING = 2000;
/** Events per delivery: a batch is one transaction, so keep it bounded. */
export const MAX_BATCH = 500;

interface WebhookIntegration {
  tenant_id: string;
  provider: Provider;
  usable: boolean;
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  allowed_sources: string[];
}

/** A verified, parsed, schema-checked delivery, ready to store. */
interface Delivery {
  deliveryId: string;
  timestampSeconds: number;
  rows: { providerEventId: string; event: { id: string; type: string } }[];
  batch: boolean;
  /** The secret (ciphertext) the signature verified with: checked again when storing. */
  secret: string;
}

interface WaitingDelivery {
  integration: WebhookIntegration;
  req: WebhookRequest;
  delivery: Delivery;
  resolve(res: WebhookResponse): void;
  reject(err: unknown): void;
}

export function refusal(code: ErrorCodeName, message: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): WebhookResponse {
  return { status: ErrorCode[code].http, body: {}, error: new AppError(code, message, extra), headers };
}

export class WebhookReceiver {
  private readonly buckets: TokenBuckets;
  /** Verifiers by secret ciphertext (each rotation makes a new ciphertext, so entries never go stale). */
  private readonly verifiers = new Map<string, Webhook>();
  /** Usable integrations looked up recently (see lookup). */
  private readonly integrations = new Map<string, { integration: WebhookIntegration; at: number }>();
  /** Verified deliveries waiting to be stored, per integration, and the integrations' storing transactions. */
  private readonly waiting = new Map<string, WaitingDelivery[]>();
  private readonly storing = new Map<string, { loops: number; lastStart: number; timer?: NodeJS.Timeout }>();

  constructor(private readonly app: IntegrationDeps) {
    this.buckets = new TokenBuckets(app.config.WEBHOOK_RATE_LIMIT_PER_SECOND, app.config.WEBHOOK_RATE_LIMIT_BURST);
  }

  async receive(req: WebhookRequest): Promise<WebhookResponse> {
    const { app } = this;
    if (!UUID.test(req.integrationId)) return refusal('NOT_FOUND', 'Unknown integration');
    const retryAfter = this.buckets.take(req.integrationId);
    if (retryAfter > 0) return refusal('RATE_LIMITED', 'Too many deliveries for this integration', { retryAfter }, { 'retry-after': String(retryAfter) });

    try {
      let found = await this.lookup(req.integrationId);
      if (found.cached && !senderAllowed(req.sourceIp, found.integration?.allowed_sources)) found = await this.lookup(req.integrationId, { fresh: true });
      if (found.integration?.usable && !senderAllowed(req.sourceIp, found.integration.allowed_sources)) return refusal('FORBIDDEN', 'This sender is not allowed to deliver to this integration');
      let checked = found.integration?.usable ? this.check(req, found.integration) : undefined;
      // Refused with secrets kept from earlier: the sender may already sign with a secret rotated since.
      if (found.cached && checked && 'status' in checked && checked.status === 401) {
        found = await this.lookup(req.integrationId, { fresh: true });
        checked = found.integration?.usable ? this.check(req, found.integration) : undefined;
      }
      if (!checked) return refusal('NOT_FOUND', 'Unknown or disabled integration');
      if ('status' in checked) return checked;
      const res = await this.store(found.integration!, req, checked);
      if (res.wake) app.jobs.wake(res.wake); // committed: the jobs are visible now
      return res;
    } catch (err) {
      if (isSourceRefused(err)) return refusal('FORBIDDEN', 'This sender is not allowed to deliver to this integration');
      if (!isIntegrationGone(err) && !isSecretRevoked(err)) return this.storageFailure(err, req);
      // Disabled, deleted or rotated since we looked it up.
      this.integrations.delete(req.integrationId);
      if (isSecretRevoked(err)) return refusal('UNAUTHENTICATED', 'Signature verification failed: the secret was rotated out');
      return refusal('NOT_FOUND', 'Unknown or disabled integration');
    }
  }

  /**
   * Which tenant owns the integration, and its secrets: platform.webhook_integration(), a narrow
   * SECURITY DEFINER lookup (the tenant is unknown until then; RLS stays on). A usable integration
   * is kept for INTEGRATION_CACHE_MS: whether it may still receive is checked again in the storing
   * transaction (platform.require_webhook_integration), so the copy only serves signature checks.
   */
  private async lookup(id: string, opts: { fresh?: boolean } = {}): Promise<{ integration?: WebhookIntegration; cached: boolean }> {
    const kept = this.integrations.get(id);
    if (kept && !opts.fresh && Date.now() - kept.at < INTEGRATION_CACHE_MS) return { integration: kept.integration, cached: true };
    // Autocommit, outside the storing transaction: concurrent lookups share pooled connections.
    const [integration] = (await this.app.ingestDb.execute(
      sql`select tenant_id, provider, usable, secret_encrypted, previous_secret_encrypted, allowed_sources from platform.webhook_integration(${id}::uuid)`,
    )) as unknown as WebhookIntegration[];
    if (integration?.usable) {
      if (this.integrations.size >= 10_000) this.integrations.clear();
      this.integrations.set(id, { integration, at: Date.now() });
    } else this.integrations.delete(id);
    return { integration, cached: false };
  }

  /** Steps 3–4, before any transaction is opened: content type, signature, JSON, schema. */
  private check(req: WebhookRequest, integration: WebhookIntegration): WebhookResponse | Delivery {
    if (!/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(req.contentType ?? '')) {
      return refusal('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    }
    const headers = {
      'webhook-id': header(req.headers, 'webhook-id'),
      'webhook-timestamp': header(req.headers, 'webhook-timestamp'),
      'webhook-signature': header(req.headers, 'webhook-signature'),
    };
    const verified = this.verify(integration, req.integrationId, req.body, headers);
    if (!verified.ok) return refusal('UNAUTHENTICATED', verified.reason);
    const deliveryId = headers['webhook-id']!;
    if (deliveryId.length > 200) return refusal('BAD_USER_INPUT', 'webhook-id is longer than 200 characters');

    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch {
      return refusal('BAD_USER_INPUT', 'The body is not valid JSON');
    }
    // Text Postgres can't store (NUL, lone surrogates) would fail the insert with a 5xx forever: 422, like a schema failure.
    const unstorable = unstorableText(parsed, '');
    if (unstorable.length) return refusal('UNPROCESSABLE_ENTITY', 'The body contains text that cannot be stored', { fields: unstorable });
    const batch = Array.isArray(parsed);
    const events = (batch ? parsed : [parsed]) as unknown[];
    if (events.length === 0 || events.some((e) => typeof e !== 'object' || e === null || Array.isArray(e))) {
      return refusal('BAD_USER_INPUT', 'The body must be an event object or a non-empty array of event objects');
    }
    if (events.length > MAX_BATCH) return refusal('PAYLOAD_TOO_LARGE', `At most ${MAX_BATCH} events per delivery`);
    const problems = events.flatMap((e, i) => checkEvent(integration.provider, e).map((p) => ({ ...p, field: batch ? `[${i}].${p.field}` : p.field })));
    if (problems.length) return refusal('UNPROCESSABLE_ENTITY', 'The event does not match its type\'s schema', { fields: problems.slice(0, 50) });

    const typed = events as { id: string; type: string }[];
    // A single delivery is deduplicated by its webhook-id; each event of a batch by its own id.
    const rows = batch ? typed.map((e) => ({ providerEventId: e.id, event: e })) : [{ providerEventId: deliveryId, event: typed[0]! }];
    return { deliveryId, timestampSeconds: Number(headers['webhook-timestamp']), rows, batch, secret: verified.secret };
  }

  private verify(integration: WebhookIntegration, integrationId: string, body: Buffer, headers: Record<string, string | undefined>): { ok: true; secret: string } | { ok: false; reason: string } {
    if (!headers['webhook-id'] || !headers['webhook-timestamp'] || !headers['webhook-signature']) return { ok: false, reason: 'Missing webhook-id, webhook-timestamp or webhook-signature' };
    const secrets = [integration.secret_encrypted, integration.previous_secret_encrypted].filter((s): s is string => !!s);
    let reason = 'No matching signature';
    for (const ct of secrets) {
      try {
        this.verifier(ct, integration.tenant_id, integrationId).verify(body, headers as Record<string, string>, { jsonParse: false } as never);
        return { ok: true, secret: ct };
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
        reason = err.message;
        if (/timestamp|Headers/i.test(reason)) break; // the same for every secret
      }
    }
    return { ok: false, reason: `Signature verification failed: ${reason}` };
  }

  private verifier(ciphertext: string, tenantId: string, integrationId: string): Webhook {
    let v = this.verifiers.get(ciphertext);
    if (!v) {
      if (this.verifiers.size > 10_000) this.verifiers.clear();
      v = new Webhook(this.app.secrets.decrypt(ciphertext, secretBinding(tenantId, integrationId, 'webhook-secret')));
      this.verifiers.set(ciphertext, v);
    }
    return v;
  }

  /**
   * Step 5. Deliveries to one integration that arrive while its transaction is in flight gather and
   * are stored together in the next one (no timer: a lone delivery goes at once), so under load many
   * deliveries share one commit. A transaction that takes longer than STORE_STALL_MS (a lock wait,
   * a slow commit) does not hold the deliveries behind it: another one starts for them, up to
   * MAX_STORES_IN_FLIGHT. A gathered transaction that fails is retried one delivery at a time, so
   * one delivery can never fail another's.
   */
  private store(integration: WebhookIntegration, req: WebhookRequest, delivery: Delivery): Promise<WebhookResponse> {
    return new Promise((resolve, reject) => {
      const key = req.integrationId;
      const waiting = this.waiting.get(key) ?? [];
      if (waiting.length >= MAX_WAITING) {
        resolve(refusal('SERVICE_UNAVAILABLE', 'Too many deliveries waiting to be stored; retry later', {}, { 'retry-after': '5' }));
        return;
      }
      waiting.push({ integration, req, delivery, resolve, reject });
      this.waiting.set(key, waiting);
      this.startStoring(key);
    });
  }

  /** Starts storing an integration's waiting deliveries, unless its running transaction is recent; then looks again once it would count as stalled. */
  private startStoring(key: string): void {
    const s = this.storing.get(key);
    if (!s) return void this.storeWaiting(key);
    if (s.loops >= MAX_STORES_IN_FLIGHT || s.timer) return;
    const wait = s.lastStart + STORE_STALL_MS - Date.now();
    if (wait <= 0) return void this.storeWaiting(key);
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (this.waiting.has(key)) this.startStoring(key);
    }, wait);
  }

  private async storeWaiting(key: string): Promise<void> {
    let s = this.storing.get(key);
    if (!s) this.storing.set(key, (s = { loops: 0, lastStart: 0 }));
    s.loops++;
    try {
      for (let batch = this.takeWaiting(key); batch.length > 0; batch = this.takeWaiting(key)) {
        s.lastStart = Date.now();
        try {
          const results = await this.storeTogether(batch);
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          if (batch.length === 1 || isIntegrationGone(err)) for (const p of batch) p.reject(err);
          else
            for (const p of batch) {
              s.lastStart = Date.now();
              await this.storeTogether([p]).then(([r]) => p.resolve(r!), p.reject);
            }
        }
      }
    } finally {
      if (--s.loops === 0) {
        clearTimeout(s.timer);
        this.storing.delete(key);
      }
    }
  }

  /** The next deliveries of an integration to store together: at least one, at most MAX_BATCH events. */
  private takeWaiting(key: string): WaitingDelivery[] {
    const waiting = this.waiting.get(key) ?? [];
    let events = 0;
    let n = 0;
    while (n < waiting.length && (n === 0 || events + waiting[n]!.delivery.rows.length <= MAX_BATCH)) events += waiting[n++]!.delivery.rows.length;
    const batch = waiting.splice(0, n);
    if (waiting.length === 0) this.waiting.delete(key);
    return batch;
  }

  /**
   * One round trip: BEGIN, app_begin, the event insert, the job insert and COMMIT, pipelined
   * (withTenantOneTrip). Event and job ids are derived from (tenant, integration, provider event id),
   * so neither insert depends on the other: a duplicate — even a concurrent copy, which waits on the
   * unique index for the first to commit — conflicts on both and adds nothing. Two copies in the
   * same transaction: the first delivery that names an event gets it, the other is its duplicate.
   */
  private async storeTogether(batch: WaitingDelivery[]): Promise<WebhookResponse[]> {
    const { app } = this;
    const { integration, req } = batch[0]!;
    const tenantId = integration.tenant_id;
    const integrationId = req.integrationId;
    const queue = QUEUES.webhooks(integration.provider);
    const claimedBy = new Map<string, number>(); // event id → the delivery (index in batch) that stores it
    const records: { id: string; provider_event_id: string; type: string; payload: unknown; delivery_id: string; delivery_timestamp: number }[] = [];
    const perDelivery = batch.map(({ delivery: d }, i) => {
      const unique = [...new Map(d.rows.map((r) => [r.providerEventId, { ...r, id: eventIdFor(tenantId, integrationId, r.providerEventId) }])).values()];
      for (const r of unique) {
        if (claimedBy.has(r.id)) continue;
        claimedBy.set(r.id, i);
        records.push({ id: r.id, provider_event_id: r.providerEventId, type: r.event.type, payload: r.event, delivery_id: d.deliveryId, delivery_timestamp: d.timestampSeconds });
      }
      return unique;
    });
    const jobs = records.map((r) => ({ id: r.id, data: { tenantId, integrationId, eventId: r.id } satisfies WebhookJobData }));
    const jobInsert = await app.jobs.insertStatement(queue, jobs);
    const [, inserted, jobResult] = (await withTenantOneTrip(app.ingestDb, integrationActor(tenantId, integrationId, req.requestId), [
      (raw) => raw`select platform.require_webhook_integration(${integrationId}::uuid, ${[...new Set(batch.map((p) => p.delivery.secret))]}::text[], ${[...new Set(batch.map((p) => p.req.sourceIp))]}::inet[])`,
      (raw) => raw`
        insert into webhook_events (tenant_id, id, integration_id, provider_event_id, type, payload, delivery_id, delivery_timestamp)
        select ${tenantId}::uuid, e.id, ${integrationId}::uuid, e.provider_event_id, e.type, e.payload, e.delivery_id, to_timestamp(e.delivery_timestamp)
        from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as e(id uuid, provider_event_id text, type text, payload jsonb, delivery_id text, delivery_timestamp double precision)
        on conflict do nothing
        returning id`,
      (raw) => raw.unsafe(jobInsert.text, jobInsert.values as never[]),
    ])) as [unknown, postgres.RowList<{ id: string }[]>, postgres.RowList<postgres.Row[]>];
    const fresh = new Set(inserted.map((e) => e.id));
    if (jobResult.count < fresh.size) {
      // Only possible if the queue vanished (queues are created at every start-up): the COMMIT was
      // already pipelined, so enqueue the missing jobs now, or let the sender retry.
      app.log.error({ queue, events: fresh.size, jobs: jobResult.count }, 'webhook events stored without jobs; enqueueing again');
      await withTenant(app.ingestDb, integrationActor(tenantId, integrationId, req.requestId), (tx) => app.jobs.enqueue(tx, queue, [...fresh].map((id) => ({ tenantId, integrationId, eventId: id }))));
    }
    return batch.map(({ delivery: d }, i) => respond(d, perDelivery[i]!, (id) => fresh.has(id) && claimedBy.get(id) === i, queue));
  }

  /** Nothing was stored: a 5xx makes the sender retry. Outages and timeouts are 503; anything else is a bug (500, logged). */
  private storageFailure(err: unknown, req: WebhookRequest): WebhookResponse {
    const mapped = fromDatabaseError(err);
    if (isDatabaseUnavailable(err) || mapped?.code === 'SERVICE_UNAVAILABLE' || mapped?.code === 'CONFLICT') {
      return refusal('SERVICE_UNAVAILABLE', 'Temporarily unable to store the delivery; retry later', {}, { 'retry-after': '5' });
    }
    this.app.log.error({ err, requestId: req.requestId }, 'webhook delivery could not be stored');
    return refusal('INTERNAL_SERVER_ERROR', 'The delivery could not be stored; retry later');
  }
}

/** The answer to one delivery, given which of its events this delivery stored (`isFresh`). */
function respond(d: Delivery, unique: { providerEventId: string; id: string }[], isFresh: (eventId: string) => boolean, queue: string): WebhookResponse {
  const byProviderId = new Map(unique.map((r) => [r.providerEventId, { id: r.id, duplicate: !isFresh(r.id) }]));
  const accepted = unique.filter((r) => isFresh(r.id)).length;
  const wake = accepted > 0 ? queue : undefined;
  if (!d.batch) {
    const one = byProviderId.get(d.rows[0]!.providerEventId)!;
    return one.duplicate ? { status: 200, body: { id: one.id, duplicate: true } } : { status: 202, body: { id: one.id, duplicate: false }, wake };
  }
  const events = d.rows.map((r) => ({ providerEventId: r.providerEventId, ...byProviderId.get(r.providerEventId)! }));
  return { status: accepted === 0 ? 200 : 202, body: { duplicate: accepted === 0, accepted, events }, wake };
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Our event id (also its first job's id) for a provider event: a UUID (version 8, name-based)
 * derived from tenant, integration and provider event id, so every copy of a delivery maps to the
 * same rows.
 */
export function eventIdFor(tenantId: string, integrationId: string, providerEventId: string): string {
  const h = crypto.createHash('sha256').update(`${tenantId}/${integrationId}/${providerEventId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
