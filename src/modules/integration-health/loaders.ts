import DataLoader from 'dataloader';
import { loaderByArgs } from '../../db/batch.js';
import type { Scope } from '../../db/tenant-transaction.js';
import { circuitsOf, healthChangesOf, healthOf } from './service.js';

/** Integration.health, .circuit and .healthHistory for every integration of a list: one statement each per operation. */
export const integrationHealthLoaders = {
  healthByIntegrationId: (scope: Scope) => new DataLoader((ids: readonly string[]) => healthOf(scope, ids)),
  circuitByIntegrationId: (scope: Scope) => new DataLoader((ids: readonly string[]) => circuitsOf(scope, ids)),
  healthChangesByIntegrationId: (scope: Scope) => loaderByArgs((ids, args: { first: number | null }) => healthChangesOf(scope, ids, args.first)),
};
