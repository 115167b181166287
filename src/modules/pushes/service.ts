/**
 * Pushes behind GraphQL: the list (newest first) and the manual retry of a dead one. Sending is in
 * src/integrations/push.ts.
 */
import { and, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import type { App } from '../../app.js';
import type { Scope } from '../../db/scope.js';
import { integrationPushes, type IntegrationPushRow } from '../../db/schema.js';
import { conflict, notFound } from '../../errors.js';
import { paginate, type Page } from '../../db/pagination.js';
import { QUEUES, type PushJobData } from '../../jobs/queues.js';
import { validate } from '../../validation.js';

export type IntegrationPushConnectionResult = Page<IntegrationPushRow>;

const STATUSES = ['PENDING', 'SENDING', 'SENT', 'SUPERSEDED', 'FAILED', 'DEAD'] as const;
const listInput = z.object({
  integrationId: z.string().uuid('Not a UUID'),
  status: z.enum(STATUSES).nullish(),
  first: z.number().nullish(),
  after: z.string().nullish(),
});

export async function listPushes(scope: Scope, input: z.input<typeof listInput>): Promise<IntegrationPushConnectionResult> {
  const { integrationId, status, first, after } = validate(listInput, input);
  const where = and(eq(integrationPushes.integrationId, integrationId), status ? eq(integrationPushes.status, status) : undefined);
  return paginate(scope, { table: integrationPushes, createdAt: integrationPushes.createdAt, id: integrationPushes.id, where, newestFirst: true, first, after });
}

/**
 * Queues a DEAD push again, with its job, in the operation's transaction. Its idempotency key is
 * unchanged, so if an earlier attempt did reach the provider the retry is a replay, not a duplicate.
 */
export async function retryPush(app: App, scope: Scope, id: string): Promise<IntegrationPushRow> {
  validate(z.object({ id: z.string().uuid('Not a UUID') }), { id });
  return scope.write(async (tx) => {
    const [push] = await tx.select().from(integrationPushes).where(eq(integrationPushes.id, id)).for('update');
    if (!push) throw notFound('Push');
    if (push.status !== 'DEAD') throw conflict(`Only DEAD pushes can be retried; this one is ${push.status}`);
    const [newer] = await tx
      .select({ id: integrationPushes.id })
      .from(integrationPushes)
      .where(and(eq(integrationPushes.integrationId, push.integrationId), eq(integrationPushes.recordId, push.recordId), gt(integrationPushes.seq, push.seq)))
      .limit(1);
    if (newer) throw conflict('A newer change of this user was made since; that one is what the provider gets');
    const [row] = await tx.update(integrationPushes).set({ status: 'PENDING', updatedAt: new Date() }).where(eq(integrationPushes.id, id)).returning();
    await app.jobs.enqueue<PushJobData>(tx, QUEUES.push, [{ tenantId: push.tenantId, integrationId: push.integrationId, recordId: push.recordId }]);
    return row!;
  });
}
