import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as account from './service.js';

export const accountResolvers: Resolvers = {
  Mutation: {
    requestPasswordReset: (_, args, ctx) => account.requestPasswordReset(ctx.app, args, ctx.request, ctx.address),
    resetPassword: (_, args, ctx) => account.resetPassword(ctx.app, args, ctx.request, ctx.address),
    requestEmailChange: async (_, args, ctx) => account.requestEmailChange(ctx.app, await ctx.actor(), ctx.request, args),
    confirmEmailChange: (_, args, ctx) => account.confirmEmailChange(ctx.app, args, ctx.request, ctx.address),
  },
};
