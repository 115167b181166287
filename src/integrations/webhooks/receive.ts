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
 *
 * This file is the flow and steps 1–2; step 3–4 is ./verify.ts, step 5 ./gather.ts (waiting
 * deliveries share a transaction) and ./store.ts (the transaction), the shared shapes ./types.ts.
 */
import { sql } from 'drizzle-orm';
import { fromDatabaseError, isDatabaseUnavailable } from '../../errors.js';
import type { IntegrationDeps } from '../deps.js';
import { DeliveryGatherer } from './gather.js';
import { TokenBuckets } from './rate-limit.js';
import { storeTogether } from './store.js';
import { isSourceRefused, senderAllowed } from './sources.js';
import { isIntegrationGone, isSecretRevoked, refusal, type WebhookIntegration, type WebhookRequest, type WebhookResponse } from './types.js';
import { DeliveryVerifier } from './verify.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class WebhookReceiver {
  private readonly buckets: TokenBuckets;
  private readonly verifier: DeliveryVerifier;
  private readonly gatherer: DeliveryGatherer;
  /** Usable integrations looked up recently (see lookup). */
  private readonly integrations = new Map<string, { integration: WebhookIntegration; at: number }>();
  /** Lookups on their way, per integration (see readShared). */
  private readonly reading = new Map<string, { startedAt: number; answer: Promise<WebhookIntegration | undefined> }>();

  /** How long a looked-up integration's secrets are kept (WEBHOOK_INTEGRATION_CACHE_SECONDS; its usability is checked at every store). */
  private readonly keepMs: number;
  /** From this age a kept integration is renewed in the background while it goes on serving. */
  private readonly renewMs: number;

  constructor(private readonly app: IntegrationDeps) {
    this.keepMs = app.config.WEBHOOK_INTEGRATION_CACHE_SECONDS * 1000;
    this.renewMs = this.keepMs / 2;
    this.buckets = new TokenBuckets(app.config.WEBHOOK_RATE_LIMIT_PER_SECOND, app.config.WEBHOOK_RATE_LIMIT_BURST);
    this.verifier = new DeliveryVerifier(app.secrets);
    this.gatherer = new DeliveryGatherer((batch) => storeTogether(app, batch));
  }

  async receive(sent: WebhookRequest): Promise<WebhookResponse> {
    const { app } = this;
    // The id as stored, whatever case the sender's URL has: one rate bucket and one event id per integration.
    const req = { ...sent, integrationId: sent.integrationId.toLowerCase() };
    if (!UUID.test(req.integrationId)) return refusal('NOT_FOUND', 'Unknown integration');
    const retryAfter = this.buckets.take(req.integrationId);
    if (retryAfter > 0) return refusal('RATE_LIMITED', 'Too many deliveries for this integration', { retryAfter }, { 'retry-after': String(retryAfter) });

    try {
      let found = await this.lookup(req.integrationId);
      // The source allowlist first (sources.ts): a sender outside it learns nothing more.
      if (found.cached && !senderAllowed(req.sourceIp, found.integration?.allowed_sources)) found = await this.lookup(req.integrationId, { fresh: true });
      if (found.integration?.usable && !senderAllowed(req.sourceIp, found.integration.allowed_sources)) return refusal('FORBIDDEN', 'This sender is not allowed to deliver to this integration');
      let checked = found.integration?.usable ? this.verifier.check(req, found.integration) : undefined;
      // Refused with secrets kept from earlier: the sender may already sign with a secret rotated since.
      if (found.cached && checked && 'status' in checked && checked.status === 401) {
        found = await this.lookup(req.integrationId, { fresh: true });
        checked = found.integration?.usable ? this.verifier.check(req, found.integration) : undefined;
      }
      if (!checked) return refusal('NOT_FOUND', 'Unknown or disabled integration');
      if ('status' in checked) return checked;
      const res = await this.gatherer.add(found.integration!, req, checked);
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
   * is kept for `keepMs`: whether it may still receive is checked again in the storing
   * transaction (platform.require_webhook_integration), so the copy only serves signature checks.
   * Once older than `renewMs` it is still served while one lookup renews it behind the delivery,
   * and concurrent lookups of one integration share a query: under a steady flow no delivery waits
   * for a lookup, and an expiry is not a burst of identical queries holding the pool (under load,
   * every delivery of the moment used to send its own, 50–75 ms each, every 10 s). `fresh` (the kept
   * copy was refused) joins only a lookup that started after that copy was kept.
   */
  private async lookup(id: string, opts: { fresh?: boolean } = {}): Promise<{ integration?: WebhookIntegration; cached: boolean }> {
    const kept = this.integrations.get(id);
    const age = kept ? Date.now() - kept.at : Infinity;
    if (kept && !opts.fresh && age < this.keepMs) {
      if (age >= this.renewMs) this.readShared(id).catch(() => undefined); // a failure shows at expiry, to a delivery
      return { integration: kept.integration, cached: true };
    }
    return { integration: await this.readShared(id, opts.fresh ? (kept?.at ?? Infinity) : -Infinity), cached: false };
  }

  /** One lookup of an integration at a time: joins the one on its way if it started at `notBefore` or later. */
  private readShared(id: string, notBefore = -Infinity): Promise<WebhookIntegration | undefined> {
    const current = this.reading.get(id);
    if (current && current.startedAt >= notBefore) return current.answer;
    const reading = { startedAt: Date.now(), answer: this.read(id) };
    this.reading.set(id, reading);
    void reading.answer.finally(() => this.reading.get(id) === reading && this.reading.delete(id)).catch(() => undefined);
    return reading.answer;
  }

  private async read(id: string): Promise<WebhookIntegration | undefined> {
    // Autocommit, outside the storing transaction: concurrent lookups share pooled connections.
    const [integration] = (await this.app.ingestDb.execute(
      sql`select tenant_id, provider, usable, secret_encrypted, previous_secret_encrypted, allowed_sources from platform.webhook_integration(${id}::uuid)`,
    )) as unknown as WebhookIntegration[];
    if (integration?.usable) {
      if (this.integrations.size >= 10_000) this.integrations.clear();
      this.integrations.set(id, { integration, at: Date.now() });
    } else this.integrations.delete(id);
    return integration;
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
