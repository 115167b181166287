import DataLoader from 'dataloader';
import { loaderByArgs } from '../../db/batch.js';
import type { Scope } from '../../db/scope.js';
import { circuitsOf, healthChangesOf, healthOf } from './service.js';

/** Integration.health, .circuit and .healthHistory for every integration of a list: one statement each per operation. */
export function integrationHealthLoaders(scope: Scope) {
  return {
    healthByIntegrationId: new DataLoader((ids: readonly string[]) => healthOf(scope, ids)),
    circuitByIntegrationId: new DataLoader((ids: readonly string[]) => circuitsOf(scope, ids)),
    healthChangesByIntegrationId: loaderByArgs((ids, args: { first: number | null }) => healthChangesOf(scope, ids, args.first)),
  };
}
