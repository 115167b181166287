import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import type { IntegrationPushRow } from '../../db/schema.js';
import * as pushes from './service.js';

export const pushResolvers: Resolvers = {
  Query: {
    integrationPushes: (_, args, ctx) => pushes.listPushes(ctx.scope!, args),
  },
  Mutation: {
    retryIntegrationPush: (_, { id }, ctx) => pushes.retryPush(ctx.app, ctx.scope!, id),
  },
  IntegrationPush: {
    userId: (p) => p.recordId,
  },
  IntegrationPushConnection: connectionResolvers<IntegrationPushRow>(),
};
