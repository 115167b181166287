import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as keys from './service.js';

export const apiKeyResolvers: Resolvers = {
  Query: {
    apiKeys: (_, { includeRevoked }, ctx) => keys.listApiKeys(ctx.scope!, includeRevoked ?? false),
  },
  Mutation: {
    createApiKey: async (_, { input }, ctx) => keys.createApiKey(ctx.scope!, await ctx.actor(), input),
    revokeApiKey: async (_, { id }, ctx) => keys.revokeApiKey(ctx.scope!, await ctx.actor(), id),
  },
  ApiKey: {
    createdBy: async (k, _, ctx) => (k.createdBy ? ((await ctx.loaders.userById.load(k.createdBy)) ?? null) : null),
  },
};
