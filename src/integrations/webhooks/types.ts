/** What the webhook route hands the receiver and gets back, and the refusals it answers with. */
import { AppError, ErrorCode, type ErrorCodeName } from '../../errors.js';
import type { Provider } from '../../db/providers.js';

export interface WebhookRequest {
  integrationId: string;
  /** Every value of each header as received (Node's headersDistinct), so a repeated header can be refused rather than joined. */
  headers: Record<string, string[] | undefined>;
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

export function refusal(code: ErrorCodeName, message: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): WebhookResponse {
  return { status: ErrorCode[code].http, body: {}, error: new AppError(code, message, extra), headers };
}

/** An integration as the receiver sees it: platform.webhook_integration()'s answer. */
export interface WebhookIntegration {
  tenant_id: string;
  provider: Provider;
  usable: boolean;
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  /** Networks (CIDRs) webhooks may come from; empty: any sender. */
  allowed_sources: string[];
}

/** A verified, parsed, schema-checked delivery, ready to store. */
export interface Delivery {
  deliveryId: string;
  timestampSeconds: number;
  rows: { providerEventId: string; event: { id: string; type: string } }[];
  batch: boolean;
  /** The secret (ciphertext) the signature verified with: checked again when storing. */
  secret: string;
}

/** Events per delivery: a batch is one transaction, so keep it bounded. */
export const MAX_BATCH = 500;

/** SQLSTATEs of platform.require_webhook_integration(): the integration may no longer receive; a secret rotated out. */
const sqlState = (err: unknown) => (err as { code?: string } | undefined)?.code;
export const isIntegrationGone = (err: unknown) => sqlState(err) === 'TS404';
export const isSecretRevoked = (err: unknown) => sqlState(err) === 'TS401';
