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
    const headers = signatureHeaders(req.headers);
    if ('reason' in headers) return refusal('UNAUTHENTICATED', `Signature verification failed: ${headers.reason}`);
    const verified = this.verify(integration, req.integrationId, req.body, headers);
    if (!verified.ok) return refusal('UNAUTHENTICATED', verified.reason);
    const deliveryId = headers['webhook-id'];

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

  private verify(integration: WebhookIntegration, integrationId: string, body: Buffer, headers: SignatureHeaders): { ok: true; secret: string } | { ok: false; reason: string } {
    const secrets = [integration.secret_encrypted, integration.previous_secret_encrypted].filter((s): s is string => !!s);
    let reason = 'No matching signature';
    for (const ct of secrets) {
      try {
        this.verifier(ct, integration.tenant_id, integrationId).verify(body, { ...headers }, { jsonParse: false } as never);
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

type SignatureHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/**
 * The three signature headers, read strictly before the signature library sees them: it parses the
 * timestamp with parseInt, so "1700000000abc", "1700000000 5" or a repeated header (Node joins it to
 * "T, T") would verify and then be stored as NaN (a 500) or 1000× too late ("…e3"). Each must come
 * exactly once; the timestamp is Unix seconds in digits only; the id at most 200 characters (it is
 * the event's dedupe key).
 */
function signatureHeaders(headers: WebhookRequest['headers']): SignatureHeaders | { reason: string } {
  const out: Partial<SignatureHeaders> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const values = headers[name] ?? [];
    if (values.length > 1) return { reason: `${name} must be sent once` };
    if (!values[0]) return { reason: 'Missing webhook-id, webhook-timestamp or webhook-signature' };
    out[name] = values[0];
  }
  if (!/^[0-9]{1,12}$/.test(out['webhook-timestamp']!)) return { reason: 'webhook-timestamp must be Unix seconds (digits only)' };
  if (out['webhook-id']!.length > 200) return { reason: 'webhook-id is longer than 200 characters' };
  return out as SignatureHeaders;
}
