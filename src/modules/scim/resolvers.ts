import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as tokens from './tokens.js';

export const scimResolvers: Resolvers = {
  Query: {
    scimTokens: (_, __, ctx) => tokens.listScimTokens(ctx.scope!),
  },
  Mutation: {
    createScimToken: async (_, { name }, ctx) => tokens.createScimToken(ctx.scope!, await ctx.actor(), name, ctx.app.config.publicUrl),
    revokeScimToken: (_, { id }, ctx) => tokens.revokeScimToken(ctx.scope!, id),
  },
};
