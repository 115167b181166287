import DataLoader from 'dataloader';
import type { Scope } from '../../db/tenant-transaction.js';
import type { OrganizationRow, UserRow } from '../../db/schema.js';
import { usersByIds, usersWithOrganizationsByIds } from './queries.js';

/** One query per batch of user ids, under the operation's tenant transaction. */
export const userLoaders = {
  /** Users with their organizations in the same statement; primes each one's organizations for User.organizations. */
  userWithOrganizationsById: (scope: Scope, loaders: { organizationsByUserId: DataLoader<string, OrganizationRow[]> }) =>
    new DataLoader<string, UserRow | undefined>(async (ids) => {
      const rows = await scope.read((tx) => usersWithOrganizationsByIds(tx, ids));
      for (const r of rows) loaders.organizationsByUserId.prime(r.user.id, r.organizations);
      const byId = new Map(rows.map((r) => [r.user.id, r.user]));
      return ids.map((id) => byId.get(id));
    }),
  userById: (scope: Scope) =>
    new DataLoader<string, UserRow | undefined>(async (ids) => {
      const rows = await scope.read((tx) => usersByIds(tx, ids));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    }),
};
