import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';

/**
 * Encryption at rest for integration credentials and webhook secrets: AES-256-GCM with a random
 * 96-bit IV per value. The ciphertext is bound (as additional data) to the row it belongs to, so a
 * value copied into another tenant's or integration's row fails to decrypt instead of being used.
 * Format: `v1.<iv>.<tag>.<ciphertext>` (base64url parts); `v1` names the key version for rotation.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('INTEGRATION_ENCRYPTION_KEY must be 32 bytes (base64)');
  }

  /** A key for another purpose (e.g. sealing realtime notifications), derived from this one with HKDF. */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(crypto.hkdfSync('sha256', this.key, Buffer.alloc(0), `tessera/${purpose}`, 32));
  }

  encrypt(plaintext: string, boundTo: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  decrypt(value: string, boundTo: string): string {
    const [version, iv, tag, ct] = value.split('.');
    if (version !== 'v1' || !iv || !tag || ct === undefined) throw new Error('Unrecognised secret format');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** What a secret of one integration is bound to: its tenant, its id and which secret it is. */
export const secretBinding = (tenantId: string, integrationId: string, purpose: 'credentials' | 'webhook-secret') => `${tenantId}/${integrationId}/${purpose}`;

/** From INTEGRATION_ENCRYPTION_KEY (required in production); otherwise generated once into the data folder. */
export function loadSecretBox(config: Config): SecretBox {
  if (config.INTEGRATION_ENCRYPTION_KEY) return new SecretBox(Buffer.from(config.INTEGRATION_ENCRYPTION_KEY, 'base64'));
  const file = path.resolve(config.DATA_DIR, 'keys', 'integration-encryption.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
}

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}
