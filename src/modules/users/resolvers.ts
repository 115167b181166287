import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import { notFound } from '../../errors.js';
import type { UserRow } from '../../db/schema.js';
import * as users from './service.js';
import { itemErrorOf } from '../bulk.js';
import { selects } from '../../graphql/look-ahead.js';

export const userResolvers: Resolvers = {
  Query: {
    me: async (_, __, ctx) => {
      const actor = await ctx.actor();
      return (await ctx.loaders.userById.load(actor.userId)) ?? Promise.reject(notFound('User'));
    },
    users: async (_, args, ctx, info) => {
      const page = await users.listUsers(ctx.scope!, args, { withOrganizations: selects(info, 'edges', 'node', 'organizations') });
      // Read with the page: User.organizations takes them from its DataLoader without a query.
      for (const user of page.rows) {
        const organizations = page.organizations?.get(user.id);
        if (organizations) ctx.loaders.organizationsByUserId.prime(user.id, organizations);
      }
      return page;
    },
    user: async (_, { id }, ctx, info) => {
      // The organizations' read leaves with the user's (one round trip, not two): the id is known.
      if (selects(info, 'organizations')) ctx.loaders.organizationsByUserId.load(id).catch(() => undefined);
      return (await ctx.loaders.userById.load(id)) ?? null;
    },
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
