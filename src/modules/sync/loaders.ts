import DataLoader from 'dataloader';
import type { SyncRunRow } from '../../db/schema.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { latestRuns } from './service.js';

/** Integration.lastSyncRun for every integration of a list in one query. */
export function syncLoaders(scope: Scope) {
  return {
    lastSyncRunByIntegrationId: new DataLoader<string, SyncRunRow | null>((ids) => latestRuns(scope, ids)),
  };
}
