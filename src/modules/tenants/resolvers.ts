import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import * as tenants from './service.js';

export const tenantResolvers: Resolvers = {
  Query: {
    tenant: (_, __, ctx) => tenants.getTenant(ctx.scope!),
    platformTenants: async (_, __, ctx) => tenants.listAllTenants(ctx.app.platformDb, await ctx.operatorId()),
  },
  Mutation: {
    updateTenant: (_, { input }, ctx) => tenants.updateTenant(ctx.scope!, input),
    createTenant: async (_, { input }, ctx) => tenants.createTenant(ctx.app.platformDb, await ctx.operatorId(), input),
    suspendTenant: async (_, { id }, ctx) => tenants.setTenantStatus(ctx.app.platformDb, await ctx.operatorId(), id, 'SUSPENDED'),
    reactivateTenant: async (_, { id }, ctx) => tenants.setTenantStatus(ctx.app.platformDb, await ctx.operatorId(), id, 'ACTIVE'),
    changeTenantPlan: async (_, { id, plan }, ctx) => tenants.setTenantPlan(ctx.app.platformDb, await ctx.operatorId(), id, plan),
  },
};
