/**
 * What a sync pulls, per provider: one entry per REST collection, each with its record schema, the
 * shared apply function (the one conflict rule, src/integrations/apply/) and its sweep — what a FULL
 * run does to our mirrored rows whose provider record no longer exists.
 */
import { and, eq, inArray, isNull, ne, sql, type AnyColumn } from 'drizzle-orm';
import type { z } from 'zod';
import type { Tx } from '../../db/client.js';
import { refreshTokens, subscriptions, syncSeenRecords, users } from '../../db/schema.js';
import { applyInvoice, applyInvoices, applySubscription, applySubscriptions, applyUser, applyUsers, providerInvoice, providerSubscription, providerUser, type ApplyOutcome, type ApplyTarget } from '../apply/index.js';
import type { Provider } from '../../db/providers.js';

export type SyncResourceName = 'users' | 'subscriptions' | 'invoices';

export interface SweepContext {
  integration: ApplyTarget;
  runId: string;
  /** Rows our side changed after this (a webhook during the run) are left for the next FULL run. */
  runStartedAt: Date;
}

export interface SyncResource<R = unknown> {
  name: SyncResourceName;
  /** The provider's collection path, paginated by cursor and filterable by updated_since. */
  path: string;
  schema: z.ZodType<R>;
  apply(tx: Tx, integration: ApplyTarget, record: R): Promise<ApplyOutcome>;
  /** The same rule for a page of records at once (outcomes in input order); optional. */
  applyBatch?(tx: Tx, integration: ApplyTarget, records: R[]): Promise<ApplyOutcome[]>;
  /** Tombstones mirrored rows not seen by the FULL run; returns how many. Absent: nothing is swept. */
  sweep?(tx: Tx, ctx: SweepContext): Promise<number>;
}

/**
 * "Not seen by this run", as NOT IN over the run's seen-set: Postgres hashes the subquery once
 * (hashed SubPlan) instead of probing per row, which matters because the seen-set was just written
 * and has no statistics yet. external_id is NOT NULL in the seen-set, so NOT IN has no NULL trap.
 */
const notSeen = (ctx: SweepContext, resource: SyncResourceName, externalId: AnyColumn) =>
  sql`${externalId} not in (select ${syncSeenRecords.externalId} from ${syncSeenRecords} where ${syncSeenRecords.runId} = ${ctx.runId} and ${syncSeenRecords.resource} = ${resource})`;

const usersResource: SyncResource<z.infer<typeof providerUser>> = {
  name: 'users',
  path: '/users',
  schema: providerUser,
  apply: applyUser,
  applyBatch: applyUsers,
  /** Same effect as user.deleted: DEACTIVATED and sessions ended; OWNERs are never deactivated from outside. */
  async sweep(tx, ctx) {
    const gone = await tx
      .update(users)
      .set({ status: 'DEACTIVATED', updatedAt: new Date() })
      .where(
        and(
          eq(users.externalSource, ctx.integration.id),
          ne(users.status, 'DEACTIVATED'),
          ne(users.role, 'OWNER'),
          sql`${users.updatedAt} < ${ctx.runStartedAt.toISOString()}::timestamptz`,
          notSeen(ctx, 'users', users.externalId),
        ),
      )
      .returning({ id: users.id });
    if (gone.length) {
      const ids = gone.map((g) => g.id);
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(inArray(refreshTokens.userId, ids), isNull(refreshTokens.revokedAt)));
    }
    return gone.length;
  },
};

const subscriptionsResource: SyncResource<z.infer<typeof providerSubscription>> = {
  name: 'subscriptions',
  path: '/subscriptions',
  schema: providerSubscription,
  apply: applySubscription,
  applyBatch: applySubscriptions,
  /** Same effect as subscription.canceled. */
  async sweep(tx, ctx) {
    const gone = await tx
      .update(subscriptions)
      .set({ status: 'CANCELED', updatedAt: new Date() })
      .where(
        and(
          eq(subscriptions.integrationId, ctx.integration.id),
          ne(subscriptions.status, 'CANCELED'),
          sql`${subscriptions.updatedAt} < ${ctx.runStartedAt.toISOString()}::timestamptz`,
          notSeen(ctx, 'subscriptions', subscriptions.externalId),
        ),
      )
      .returning({ id: subscriptions.id });
    return gone.length;
  },
};

/** Invoices are not swept: payment providers void invoices (a status change we apply), they never delete them. */
const invoicesResource: SyncResource<z.infer<typeof providerInvoice>> = {
  name: 'invoices',
  path: '/invoices',
  schema: providerInvoice,
  apply: applyInvoice,
  applyBatch: applyInvoices,
};

export const SYNC_RESOURCES: Record<Provider, SyncResource<any>[]> = {
  USER_SERVICE: [usersResource],
  PAYMENT_SERVICE: [subscriptionsResource, invoicesResource],
  COMMUNICATION_SERVICE: [],
};
