import DataLoader from 'dataloader';
import { asc, inArray } from 'drizzle-orm';
import type { Scope } from '../../db/tenant-transaction.js';
import { organizationMemberships, organizations, type MembershipRow, type OrganizationRow } from '../../db/schema.js';
import { organizationsOfUsers } from './queries.js';

/** Batched reads for the fields that fan out per row: a page of users costs one membership query. */
export const organizationLoaders = {
  organizationById: (scope: Scope) =>
    new DataLoader<string, OrganizationRow | undefined>(async (ids) => {
      const rows = await scope.read((tx) => tx.select().from(organizations).where(inArray(organizations.id, [...ids])));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    }),
  /** Each user's organizations, ordered by name. */
  organizationsByUserId: (scope: Scope) => new DataLoader<string, OrganizationRow[]>((userIds) => scope.read((tx) => organizationsOfUsers(tx, userIds))),
  membershipsByUserId: (scope: Scope) =>
    new DataLoader<string, MembershipRow[]>(async (userIds) => {
      const rows = await scope.read((tx) => tx.select().from(organizationMemberships).where(inArray(organizationMemberships.userId, [...userIds])));
      return userIds.map((id) => rows.filter((r) => r.userId === id));
    }),
  membershipsByOrganizationId: (scope: Scope) =>
    new DataLoader<string, MembershipRow[]>(async (orgIds) => {
      const rows = await scope.read((tx) =>
        tx.select().from(organizationMemberships).where(inArray(organizationMemberships.organizationId, [...orgIds])).orderBy(asc(organizationMemberships.createdAt)),
      );
      return orgIds.map((id) => rows.filter((r) => r.organizationId === id));
    }),
};
