import DataLoader from 'dataloader';
import { loaderByArgs } from '../../db/batch.js';
import type { SyncRunRow } from '../../db/schema.js';
import type { Scope } from '../../db/scope.js';
import { latestRuns, syncRunCounts, syncRunPages } from './service.js';

/** Integration.lastSyncRun and Integration.syncRuns (with totalCount) for every integration of a list: one query each. */
export function syncLoaders(scope: Scope) {
  const syncRunCountByIntegrationId = new DataLoader((ids: readonly string[]) => syncRunCounts(scope, ids));
  return {
    lastSyncRunByIntegrationId: new DataLoader<string, SyncRunRow | null>((ids) => latestRuns(scope, ids)),
    syncRunCountByIntegrationId,
    syncRunPageByIntegrationId: loaderByArgs((ids, page: { first: number | null; after: string | null }) =>
      syncRunPages(scope, ids, page, (id) => syncRunCountByIntegrationId.load(id)),
    ),
  };
}
