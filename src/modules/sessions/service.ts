/**
 * Sessions: a person's logins (src/auth/session-service.ts records them), listed and ended. Ending
 * one revokes its refresh tokens, which also closes its open WebSockets (credentials stay live);
 * access tokens already issued run out within ACCESS_TOKEN_TTL_SECONDS.
 */
import { and, desc, eq, exists, gt, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAuthEvent } from '../../auth/events.js';
import { assertCanManage, type Actor } from '../../auth/roles.js';
import { endSessions } from '../../auth/session-service.js';
import { refreshTokens, sessions, users, type SessionRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { AppError, notFound } from '../../errors.js';
import { validate } from '../../validation.js';

export interface SessionView extends SessionRow {
  current: boolean;
}

/** Live: not revoked, not expired, and one of its refresh tokens still usable (deactivation and reuse detection revoke them). */
const live = () =>
  and(
    isNull(sessions.revokedAt),
    gt(sessions.expiresAt, sql`now()`),
    exists(
      sql`(select 1 from ${refreshTokens} where ${refreshTokens.familyId} = ${sessions.id} and ${refreshTokens.revokedAt} is null and ${refreshTokens.expiresAt} > now())`,
    ),
  );

export async function mySessions(scope: Scope, actor: Actor, currentSessionId: string | undefined): Promise<SessionView[]> {
  const rows = await scope.read((tx) =>
    tx
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, actor.userId), live()))
      .orderBy(desc(sessions.lastUsedAt), desc(sessions.id))
      .limit(200),
  );
  return rows.map((r) => ({ ...r, current: r.id === currentSessionId }));
}

export async function revokeSession(scope: Scope, actor: Actor, id: string): Promise<true> {
  validate(z.object({ id: z.uuid('Not a UUID') }), { id });
  return scope.write(async (tx) => {
    const [own] = await tx.select({ id: sessions.id }).from(sessions).where(and(eq(sessions.id, id), eq(sessions.userId, actor.userId), live()));
    if (!own) throw notFound('Session');
    await endSessions(tx, { userId: actor.userId, sessionId: id });
    await recordAuthEvent(tx, 'SESSION_REVOKED', { type: 'SESSION', id }, { userId: actor.userId, scope: 'one' });
    return true as const;
  });
}

export async function revokeOtherSessions(scope: Scope, actor: Actor, currentSessionId: string | undefined): Promise<number> {
  // A token made outside a session (no sid) can't say which session to keep.
  if (!currentSessionId) throw new AppError('BAD_REQUEST', 'This access token belongs to no session: log in to get one');
  return scope.write(async (tx) => {
    const ended = await endSessions(tx, { userId: actor.userId, exceptSessionId: currentSessionId });
    await recordAuthEvent(tx, 'SESSION_REVOKED', { type: 'USER', id: actor.userId }, { scope: 'others', sessionsEnded: ended });
    return ended;
  });
}

export async function revokeUserSessions(scope: Scope, actor: Actor, userId: string): Promise<number> {
  validate(z.object({ userId: z.uuid('Not a UUID') }), { userId });
  return scope.write(async (tx) => {
    const [target] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
    if (!target) throw notFound('User');
    assertCanManage(actor, target);
    const ended = await endSessions(tx, { userId });
    await recordAuthEvent(tx, 'SESSION_REVOKED', { type: 'USER', id: userId }, { scope: 'all', by: actor.userId, sessionsEnded: ended });
    return ended;
  });
}
