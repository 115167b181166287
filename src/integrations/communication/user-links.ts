/**
 * Issuing a single-use link to a person: the token row (its hash only), the link under APP_URL and
 * the message that carries it, in the caller's transaction. Used by invitations (ADMINs, and users
 * mirrored from a USER_SERVICE that invites them), password resets and email changes.
 */
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/client.js';
import { userTokens, type OutboundMessageRow, type UserRow, type UserTokenRow } from '../../db/schema.js';
import type { JobEnqueuer } from '../../db/tenant-transaction.js';
import { newUserToken, userTokenLink, type UserTokenPurpose } from '../../auth/user-tokens.js';
import type { SecretBox } from '../secrets.js';
import { cancelMessages, queueMessage, type NewMessage } from './outbox.js';

export interface LinkDeps {
  config: Pick<Config, 'appUrl' | 'INVITATION_TTL_DAYS' | 'PASSWORD_RESET_TTL_MINUTES' | 'EMAIL_CHANGE_TTL_HOURS'>;
  jobs: JobEnqueuer;
  secrets: SecretBox;
}

export interface IssuedLink {
  token: UserTokenRow;
  /** The link itself: only for the caller to hand over once (an invitation without a provider); never stored. */
  link: string;
  /** The message carrying it, or null when the tenant has no communication integration. */
  message: OutboundMessageRow | null;
}

function ttlMs(config: LinkDeps['config'], purpose: UserTokenPurpose): number {
  if (purpose === 'INVITATION') return config.INVITATION_TTL_DAYS * 86_400_000;
  if (purpose === 'PASSWORD_RESET') return config.PASSWORD_RESET_TTL_MINUTES * 60_000;
  return config.EMAIL_CHANGE_TTL_HOURS * 3_600_000;
}

/**
 * 1. Revokes the user's live token of this purpose (a resend kills the old link) and cancels its
 *    message if it was not sent yet; 2. stores the new token's hash; 3. queues the message to
 *    `to` (the user's address, or the new one for an email change).
 */
export async function issueUserLink(
  tx: Tx,
  deps: LinkDeps,
  opts: { user: UserRow; purpose: UserTokenPurpose; createdBy: string | null; tenantName: string; newEmail?: string },
): Promise<IssuedLink> {
  const { user, purpose } = opts;
  await revokeLiveTokens(tx, user.id, [purpose]);
  const { token, hash } = newUserToken(purpose, user.tenantId);
  const expiresAt = new Date(Date.now() + ttlMs(deps.config, purpose));
  const link = userTokenLink(deps.config.appUrl, purpose, token);
  const to = purpose === 'EMAIL_CHANGE' ? opts.newEmail! : user.email;
  const message = await queueMessage(tx, deps, { tenantId: user.tenantId, userId: user.id, kind: purpose, toEmail: to, ...compose(purpose, { name: user.name, tenantName: opts.tenantName, link, expiresAt }) });
  const [row] = await tx
    .insert(userTokens)
    .values({ tenantId: user.tenantId, userId: user.id, purpose, tokenHash: hash, newEmail: opts.newEmail ?? null, createdBy: opts.createdBy, expiresAt, messageId: message?.id ?? null })
    .returning();
  return { token: row!, link, message };
}

/** Revokes the user's live tokens of these purposes; their unsent messages are canceled. Returns how many. */
export async function revokeLiveTokens(tx: Tx, userId: string, purposes: UserTokenPurpose[]): Promise<number> {
  const revoked = await tx
    .update(userTokens)
    .set({ revokedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(userTokens.userId, userId), inArray(userTokens.purpose, purposes), isNull(userTokens.usedAt), isNull(userTokens.revokedAt)))
    .returning({ messageId: userTokens.messageId });
  await cancelMessages(tx, revoked.flatMap((r) => (r.messageId ? [r.messageId] : [])));
  return revoked.length;
}

/** A notice without a link (the old address is told its email was changed). */
export async function queueNotice(tx: Tx, deps: LinkDeps, opts: { user: UserRow; to: string; tenantName: string; newEmail: string }): Promise<void> {
  await queueMessage(tx, deps, {
    tenantId: opts.user.tenantId,
    userId: opts.user.id,
    kind: 'EMAIL_CHANGED_NOTICE',
    toEmail: opts.to,
    subject: `Your ${opts.tenantName} email address was changed`,
    text: `Hello ${opts.user.name},\n\nThe email address of your ${opts.tenantName} account was changed to ${opts.newEmail}. If you did not do this, contact your administrator at once.\n`,
  });
}

function compose(purpose: UserTokenPurpose, v: { name: string; tenantName: string; link: string; expiresAt: Date }): Pick<NewMessage, 'subject' | 'text'> {
  const until = v.expiresAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  switch (purpose) {
    case 'INVITATION':
      return {
        subject: `You are invited to ${v.tenantName} on Tessera`,
        text: `Hello ${v.name},\n\nYou have been invited to join ${v.tenantName}. Choose a password to accept:\n\n${v.link}\n\nThe link works once, until ${until}.\n`,
      };
    case 'PASSWORD_RESET':
      return {
        subject: `Reset your ${v.tenantName} password`,
        text: `Hello ${v.name},\n\nSomeone asked to reset the password of your ${v.tenantName} account. To choose a new one:\n\n${v.link}\n\nThe link works once, until ${until}. If you did not ask, ignore this message.\n`,
      };
    case 'EMAIL_CHANGE':
      return {
        subject: `Confirm your new ${v.tenantName} email address`,
        text: `Hello ${v.name},\n\nConfirm this address for your ${v.tenantName} account:\n\n${v.link}\n\nThe link works once, until ${until}.\n`,
      };
  }
}
