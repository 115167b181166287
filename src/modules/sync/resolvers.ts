import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import type { SyncRunRow } from '../../db/schema.js';
import * as sync from './service.js';

export const syncResolvers: Resolvers = {
  Query: {
    syncRuns: (_, args, ctx) => sync.listSyncRuns(ctx.scope!, args),
    syncRun: (_, { id }, ctx) => sync.getSyncRun(ctx.scope!, id),
  },
  Mutation: {
    triggerSync: async (_, { integrationId, mode }, ctx) => sync.triggerSync(ctx.app, ctx.scope!, (await ctx.actor()).userId, integrationId, mode),
  },
  SyncRunConnection: connectionResolvers<SyncRunRow>(),
  Integration: {
    syncRuns: (integration, { first, after }, ctx) => ctx.loaders.syncRunPageByIntegrationId.load({ id: integration.id, args: { first: first ?? null, after: after ?? null } }),
    lastSyncRun: (integration, _, ctx) => ctx.loaders.lastSyncRunByIntegrationId.load(integration.id),
  },
};
