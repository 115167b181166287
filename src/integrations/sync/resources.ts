/**
 * What a sync pulls, per provider: one entry per REST collection, each with its record schema, the
 * shared apply function (the one conflict rule, src/integrations/apply/) and its sweep — what a FULL
 * run does to our mirrored rows whose provider record no longer exists.
 */
import { and, inArray, isNull, ne } from 'drizzle-orm';
import type { z } from 'zod';
import type { Tx } from '../../db/client.js';
import { refreshTokens, subscriptions, users } from '../../db/schema.js';
import { applyInvoice, applyInvoices, applySubscription, applySubscriptions, applyUser, applyUsers, providerInvoice, providerSubscription, providerUser, type ApplyOutcome, type ApplyTarget } from '../apply/index.js';
import type { Provider } from '../../db/providers.js';
import { sweepUnseen, type SweepContext, type SyncResourceName } from './mark-and-sweep.js';

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

const usersResource: SyncResource<z.infer<typeof providerUser>> = {
  name: 'users',
  path: '/users',
  schema: providerUser,
  apply: applyUser,
  applyBatch: applyUsers,
  /** Same effect as user.deleted: DEACTIVATED and sessions ended; OWNERs are never deactivated from outside. */
  async sweep(tx, ctx) {
    const gone = await sweepUnseen(tx, ctx, 'users', users, { integrationColumn: users.externalSource, tombstone: 'DEACTIVATED', also: ne(users.role, 'OWNER') });
    if (gone.length) {
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(inArray(refreshTokens.userId, gone), isNull(refreshTokens.revokedAt)));
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
    return (await sweepUnseen(tx, ctx, 'subscriptions', subscriptions, { integrationColumn: subscriptions.integrationId, tombstone: 'CANCELED' })).length;
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
