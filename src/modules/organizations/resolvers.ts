import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { connectionResolvers } from '../../graphql/connection.js';
import { notFound } from '../../errors.js';
import type { OrganizationRow } from '../../db/schema.js';
import * as orgs from './service.js';
import { itemErrorOf } from '../bulk.js';

export const organizationResolvers: Resolvers = {
  Query: {
    organizations: (_, args, ctx) => orgs.listOrganizations(ctx.scope!, args),
    organization: async (_, { id }, ctx) => (await ctx.loaders.organizationById.load(id)) ?? null,
  },
  Mutation: {
    createOrganization: async (_, { input }, ctx) => orgs.createOrganization(ctx.scope!, await ctx.actor(), input),
    updateOrganization: (_, { id, input }, ctx) => orgs.updateOrganization(ctx.scope!, id, input),
    deleteOrganization: (_, { id }, ctx) => orgs.deleteOrganization(ctx.scope!, id),
    addOrganizationMembers: async (_, { organizationId, members }, ctx) => orgs.addMembers(ctx.scope!, await ctx.actor(), organizationId, members),
    addOrganizationMember: async (_, { organizationId, userId, role }, ctx) => orgs.addMember(ctx.scope!, await ctx.actor(), organizationId, userId, role ?? 'MEMBER'),
    changeOrganizationMemberRole: async (_, { organizationId, userId, role }, ctx) => orgs.changeMemberRole(ctx.scope!, await ctx.actor(), organizationId, userId, role),
    removeOrganizationMember: async (_, { organizationId, userId }, ctx) => orgs.removeMember(ctx.scope!, await ctx.actor(), organizationId, userId),
  },
  Organization: {
    members: (org, _, ctx) => ctx.loaders.membershipsByOrganizationId.load(org.id),
  },
  OrganizationMember: {
    user: async (m, _, ctx) => (await ctx.loaders.userById.load(m.userId)) ?? Promise.reject(notFound('User')),
    organization: async (m, _, ctx) => (await ctx.loaders.organizationById.load(m.organizationId)) ?? Promise.reject(notFound('Organization')),
    joinedAt: (m) => m.createdAt,
  },
  OrganizationConnection: connectionResolvers<OrganizationRow>(),
  MembersPayload: {
    results: (results) => results,
    succeeded: (results) => results.filter((r) => r.record).length,
    failed: (results) => results.filter((r) => r.error).length,
  },
  MemberResult: { member: (r) => r.record, error: (r) => itemErrorOf(r.error) },
};
