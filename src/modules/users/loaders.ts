import DataLoader from 'dataloader';
import type { Scope } from '../../db/tenant-transaction.js';
import type { UserRow } from '../../db/schema.js';
import { usersByIds } from './queries.js';

/** One query per batch of user ids, under the operation's tenant transaction. */
export const userLoaders = {
  userById: (scope: Scope) =>
    new DataLoader<string, UserRow | undefined>(async (ids) => {
      const rows = await scope.read((tx) => usersByIds(tx, ids));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    }),
};
