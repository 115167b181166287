/**
 * Steps 3–4 of receiving a delivery, before any transaction is opened: content type, the Standard
 * Webhooks signature over the raw bytes (current or previous secret, timestamp within 5 minutes
 * either way), JSON, and each event against its provider's schema.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { unstorableText } from '../../validation.js';
import { checkEvent } from '../events.js';
import { secretBinding, type SecretBox } from '../secrets.js';
import { MAX_BATCH, refusal, type Delivery, type WebhookIntegration, type WebhookRequest, type WebhookResponse } from './types.js';

export class DeliveryVerifier {
  /** Verifiers by secret ciphertext (each rotation makes a new ciphertext, so entries never go stale). */
  private readonly verifiers = new Map<string, Webhook>();

  constructor(private readonly secrets: SecretBox) {}

  /** Steps 3–4, before any transaction is opened: content type, signature, JSON, schema. */
  check(req: WebhookRequest, integration: WebhookIntegration): WebhookResponse | Delivery {
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
      v = new Webhook(this.secrets.decrypt(ciphertext, secretBinding(tenantId, integrationId, 'webhook-secret')));
      this.verifiers.set(ciphertext, v);
    }
    return v;
  }
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
