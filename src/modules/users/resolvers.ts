import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import { notFound } from '../../errors.js';
import type { UserRow } from '../../db/schema.js';
import * as users from './service.js';
import { itemErrorOf } from '../bulk.js';

export const userResolvers: Resolvers = {
  Query: {
    me: async (_, __, ctx) => {
      const actor = await ctx.actor();
      return (await ctx.loaders.userById.load(actor.userId)) ?? Promise.reject(notFound('User'));
    },
    users: (_, args, ctx) => users.listUsers(ctx.scope!, args),
    user: async (_, { id }, ctx) => (await ctx.loaders.userById.load(id)) ?? null,
  },
  Mutation: {
    createUser: async (_, { input }, ctx) => users.createUser(ctx.scope!, await ctx.actor(), input),
    createUsers: async (_, { inputs }, ctx) => users.createUsers(ctx.scope!, await ctx.actor(), inputs),
    updateUsers: async (_, { inputs }, ctx) => users.updateUsers(ctx.scope!, await ctx.actor(), inputs),
    updateUser: async (_, { id, input }, ctx) => users.updateUser(ctx.scope!, await ctx.actor(), id, input),
    changeUserRole: async (_, { id, role }, ctx) => users.changeUserRole(ctx.scope!, await ctx.actor(), id, role),
    deactivateUser: async (_, { id }, ctx) => users.setUserStatus(ctx.scope!, await ctx.actor(), id, 'DEACTIVATED'),
    reactivateUser: async (_, { id }, ctx) => users.setUserStatus(ctx.scope!, await ctx.actor(), id, 'ACTIVE'),
    deleteUser: async (_, { id }, ctx) => users.deleteUser(ctx.scope!, await ctx.actor(), id),
  },
  User: {
    organizations: (user, _, ctx) => ctx.loaders.organizationsByUserId.load(user.id),
    memberships: (user, _, ctx) => ctx.loaders.membershipsByUserId.load(user.id),
  },
  UserConnection: connectionResolvers<UserRow>(),
  UsersPayload: {
    results: (results) => results,
    succeeded: (results) => results.filter((r) => r.record).length,
    failed: (results) => results.filter((r) => r.error).length,
  },
  UserResult: { user: (r) => r.record, error: (r) => itemErrorOf(r.error) },
};
