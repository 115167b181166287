/**
 * Single-use tokens sent to people by email: invitations, password resets, email-change
 * confirmations. `<prefix>_<tenant uuid>_<43 base64url chars>` (256 random bits): the tenant part
 * lets the token be looked up under that tenant's RLS, the prefix says what it is for, so one kind
 * can never be used as another. Only the SHA-256 is stored (user_tokens.token_hash).
 */
import crypto from 'node:crypto';
import { AppError } from '../errors.js';

export type UserTokenPurpose = 'INVITATION' | 'PASSWORD_RESET' | 'EMAIL_CHANGE';

const PREFIX: Record<UserTokenPurpose, string> = { INVITATION: 'inv', PASSWORD_RESET: 'pwr', EMAIL_CHANGE: 'eml' };
/** The frontend page each link opens (under APP_URL); it posts the token back to the matching mutation. */
const PAGE: Record<UserTokenPurpose, string> = { INVITATION: '/accept-invitation', PASSWORD_RESET: '/reset-password', EMAIL_CHANGE: '/confirm-email' };

export function newUserToken(purpose: UserTokenPurpose, tenantId: string): { token: string; hash: string } {
  const token = `${PREFIX[purpose]}_${tenantId}_${crypto.randomBytes(32).toString('base64url')}`;
  return { token, hash: hashUserToken(token) };
}

export function hashUserToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** The tenant and hash of a well-formed token of this purpose; undefined for anything else. */
export function parseUserToken(purpose: UserTokenPurpose, token: string): { tenantId: string; hash: string } | undefined {
  if (typeof token !== 'string' || token.length > 200) return undefined;
  const m = /^([a-z]{3})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(token);
  if (!m || m[1] !== PREFIX[purpose]) return undefined;
  return { tenantId: m[2]!, hash: hashUserToken(token) };
}

/** The link a person clicks: `${APP_URL}/accept-invitation?token=…` and so on. */
export function userTokenLink(appUrl: string, purpose: UserTokenPurpose, token: string): string {
  return `${appUrl}${PAGE[purpose]}?token=${encodeURIComponent(token)}`;
}

/**
 * The one answer for a token that can't be used: unknown, malformed, of another tenant or purpose,
 * already used, revoked or expired all look the same, so a token reveals nothing about the others.
 */
export const invalidUserToken = () => new AppError('INVALID_TOKEN', 'This link is invalid, has expired or has already been used');
