/**
 * API keys (service accounts): the key format, how one is made and how one is recognised.
 *
 *   tsk_<key id: 32 hex><tenant id: 32 hex><secret: 43 base64url>      (111 characters)
 *
 * The `tsk_` prefix and the fixed shape let secret scanners find leaked keys (pattern
 * `tsk_[0-9a-f]{64}[A-Za-z0-9_-]{43}`). The ids travel in the key so that a request knows, before
 * any query, which tenant to open and which key to check: app_begin compares the SHA-256 of the
 * whole key in the request's first statement (migration 0015), so a key costs no more than an
 * access token. Only the hash is stored; the key is shown once, at creation.
 */
import crypto from 'node:crypto';

export const API_KEY_PREFIX = 'tsk_';
const KEY = /^tsk_([0-9a-f]{32})([0-9a-f]{32})([A-Za-z0-9_-]{43})$/;

export interface ParsedApiKey {
  keyId: string;
  tenantId: string;
  /** SHA-256 (hex) of the whole key: what app_begin compares. */
  hash: string;
}

const hex = (uuid: string) => uuid.replace(/-/g, '');
const uuidOf = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

export const hashApiKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

/** A new key for a key row about to be inserted with id `keyId`. */
export function generateApiKey(keyId: string, tenantId: string): { key: string; hash: string; prefix: string } {
  const key = `${API_KEY_PREFIX}${hex(keyId)}${hex(tenantId)}${crypto.randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, API_KEY_PREFIX.length + 8) };
}

/** Is this bearer credential meant as an API key (then it must parse as one)? */
export const looksLikeApiKey = (credential: string) => credential.startsWith(API_KEY_PREFIX);

/** The key's ids and hash, or undefined when it is not shaped like a key. Says nothing about validity. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  return { keyId: uuidOf(m[1]!), tenantId: uuidOf(m[2]!), hash: hashApiKey(key) };
}
