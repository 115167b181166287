import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import { notFound } from '../../errors.js';
import * as invitations from './service.js';

export const invitationResolvers: Resolvers = {
  Query: {
    invitations: (_, args, ctx) => invitations.listInvitations(ctx.scope!, args),
  },
  Mutation: {
    inviteUser: async (_, { input }, ctx) => invitations.inviteUser(ctx.app, ctx.scope!, await ctx.actor(), input),
    resendInvitation: async (_, { userId }, ctx) => invitations.resendInvitation(ctx.app, ctx.scope!, await ctx.actor(), userId),
    revokeInvitation: async (_, { id }, ctx) => invitations.revokeInvitation(ctx.scope!, await ctx.actor(), id),
    inviteAllPendingUsers: async (_, __, ctx) => invitations.inviteAllPendingUsers(ctx.app, ctx.scope!, await ctx.actor()),
    acceptInvitation: (_, args, ctx) => invitations.acceptInvitation(ctx.app, args, ctx.request, ctx.address),
  },
  Invitation: {
    user: async (inv, _, ctx) => (await ctx.loaders.userById.load(inv.userId)) ?? Promise.reject(notFound('User')),
    email: async (inv, _, ctx) => inv.message?.toEmail ?? (await ctx.loaders.userById.load(inv.userId))?.email ?? '',
    acceptedAt: (inv) => inv.usedAt,
    invitedBy: async (inv, _, ctx) => (inv.createdBy ? ((await ctx.loaders.userById.load(inv.createdBy)) ?? null) : null),
  },
  InvitationConnection: connectionResolvers<invitations.InvitationView>(),
};
