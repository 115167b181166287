import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as account from './service.js';

export const accountResolvers: Resolvers = {
  Mutation: {
    requestPasswordReset: (_, args, ctx) => account.requestPasswordReset(ctx.app, args, ctx.request, ctx.address),
    resetPassword: (_, args, ctx) => account.resetPassword(ctx.app, args, ctx.request, ctx.address),
    requestEmailChange: async (_, args, ctx) => account.requestEmailChange(ctx.app, await ctx.actor(), ctx.request, args),
    changePassword: async (_, args, ctx) => account.changePassword(ctx.app, await ctx.actor(), ctx.request, ctx.claims?.kind === 'user' ? ctx.claims.sessionId : undefined, args),
    confirmEmailChange: (_, args, ctx) => account.confirmEmailChange(ctx.app, args, ctx.request, ctx.address),
  },
};
