import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';

/** Authentication events, appended to the tenant's audit chain by audit.record_event (see migration 0005). */
export type AuthEvent =
  | 'LOGIN_SUCCEEDED'
  | 'LOGIN_FAILED'
  | 'SESSION_REFRESHED'
  | 'REFRESH_TOKEN_REUSED'
  | 'LOGOUT'
  | 'SESSION_REVOKED'
  | 'PASSWORD_RESET_REQUESTED'
  | 'PASSWORD_RESET'
  | 'INVITATION_ACCEPTED'
  | 'EMAIL_CHANGED';

/**
 * Records an auth event in the current tenant transaction (its settings name the actor, request,
 * IP and user agent), so the event commits or rolls back with what it describes.
 */
export async function recordAuthEvent(tx: Tx, action: AuthEvent, entity: { type: 'USER' | 'SESSION'; id: string | null }, details: Record<string, unknown> = {}): Promise<void> {
  await tx.execute(sql`select audit.record_event(${action}, ${entity.type}, ${entity.id}, ${JSON.stringify(details)}::jsonb)`);
}
