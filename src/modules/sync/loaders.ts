import DataLoader from 'dataloader';
import { loaderByArgs } from '../../db/batch.js';
import type { SyncRunRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { latestRuns, syncRunCounts, syncRunPages } from './service.js';

/** Integration.lastSyncRun and Integration.syncRuns (with totalCount) for every integration of a list: one query each. */
export const syncLoaders = {
  lastSyncRunByIntegrationId: (scope: Scope) => new DataLoader<string, SyncRunRow | null>((ids) => latestRuns(scope, ids)),
  syncRunCountByIntegrationId: (scope: Scope) => new DataLoader((ids: readonly string[]) => syncRunCounts(scope, ids)),
  /** Counts each page's total through the operation's count loader (`loaders`). */
  syncRunPageByIntegrationId: (scope: Scope, loaders: { syncRunCountByIntegrationId: DataLoader<string, number> }) =>
    loaderByArgs((ids, page: { first: number | null; after: string | null }) => syncRunPages(scope, ids, page, (id) => loaders.syncRunCountByIntegrationId.load(id))),
};
