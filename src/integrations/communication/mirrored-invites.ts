/**
 * Users mirrored from a USER_SERVICE arrive INVITED, without a password. When the integration says
 * so (`invite_new_users`), each one gets an invitation as it first appears (created by a webhook or
 * a sync page), in the same transaction, as the INTEGRATION actor. Users who were already here
 * (linked by email) are not invited; nor is anyone who ever had an invitation.
 */
import { and, eq, inArray, isNull, notExists, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { integrations, tenants, users, userTokens } from '../../db/schema.js';
import { issueUserLink, type LinkDeps } from './user-links.js';

/** Invites the integration's newly created users (by provider id); returns how many were invited. */
export async function inviteNewMirroredUsers(tx: Tx, deps: LinkDeps, integrationId: string, createdExternalIds: string[]): Promise<number> {
  if (!createdExternalIds.length) return 0;
  const [integration] = await tx.select({ invite: integrations.inviteNewUsers }).from(integrations).where(eq(integrations.id, integrationId));
  if (!integration?.invite) return 0;
  const everInvited = tx
    .select({ one: sql`1` })
    .from(userTokens)
    .where(and(eq(userTokens.userId, users.id), eq(userTokens.purpose, 'INVITATION')));
  const fresh = await tx
    .select()
    .from(users)
    .where(and(eq(users.externalSource, integrationId), inArray(users.externalId, createdExternalIds), eq(users.status, 'INVITED'), isNull(users.passwordHash), notExists(everInvited)))
    .for('update');
  if (!fresh.length) return 0;
  const [tenant] = await tx.select({ name: tenants.name }).from(tenants);
  for (const user of fresh) await issueUserLink(tx, deps, { user, purpose: 'INVITATION', createdBy: null, tenantName: tenant?.name ?? 'your organisation' });
  return fresh.length;
}
