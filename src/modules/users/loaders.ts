import DataLoader from 'dataloader';
import { inArray } from 'drizzle-orm';
import type { Scope } from '../../db/tenant-transaction.js';
import { users, type UserRow } from '../../db/schema.js';

/** One query per batch of user ids, under the operation's tenant transaction. */
export function userLoaders(scope: Scope) {
  return {
    userById: new DataLoader<string, UserRow | undefined>(async (ids) => {
      const rows = await scope.read((tx) => tx.select().from(users).where(inArray(users.id, [...ids])));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    }),
  };
}
