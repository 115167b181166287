import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import type { Context } from '../../graphql/context.js';
import { forbidden } from '../../errors.js';
import * as tenants from './service.js';

async function operatorId(ctx: Context): Promise<string> {
  const v = await ctx.viewer();
  if (v.kind !== 'platform') throw forbidden();
  return v.operatorId;
}

export const tenantResolvers: Resolvers = {
  Query: {
    tenant: (_, __, ctx) => tenants.getTenant(ctx.scope!),
    platformTenants: async (_, __, ctx) => tenants.listAllTenants(ctx.app.platformDb, await operatorId(ctx)),
  },
  Mutation: {
    updateTenant: (_, { input }, ctx) => tenants.updateTenant(ctx.scope!, input),
    createTenant: async (_, { input }, ctx) => tenants.createTenant(ctx.app.platformDb, await operatorId(ctx), input),
    suspendTenant: async (_, { id }, ctx) => tenants.setTenantStatus(ctx.app.platformDb, await operatorId(ctx), id, 'SUSPENDED'),
    reactivateTenant: async (_, { id }, ctx) => tenants.setTenantStatus(ctx.app.platformDb, await operatorId(ctx), id, 'ACTIVE'),
    changeTenantPlan: async (_, { id, plan }, ctx) => tenants.setTenantPlan(ctx.app.platformDb, await operatorId(ctx), id, plan),
  },
};
