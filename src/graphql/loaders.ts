import type { Scope } from '../db/scope.js';
import { unauthenticated } from '../errors.js';
import { integrationHealthLoaders } from '../modules/integration-health/loaders.js';
import { integrationLoaders } from '../modules/integrations/loaders.js';
import { organizationLoaders } from '../modules/organizations/loaders.js';
import { syncLoaders } from '../modules/sync/loaders.js';
import { userLoaders } from '../modules/users/loaders.js';

export type Loaders = ReturnType<typeof userLoaders> &
  ReturnType<typeof organizationLoaders> &
  ReturnType<typeof integrationLoaders> &
  ReturnType<typeof integrationHealthLoaders> &
  ReturnType<typeof syncLoaders>;

/** Per-operation DataLoaders; without a tenant scope there is nothing they may read. */
export function createLoaders(scope: Scope | null): Loaders {
  if (!scope) {
    return new Proxy({} as Loaders, {
      get: () => {
        throw unauthenticated();
      },
    });
  }
  return { ...userLoaders(scope), ...organizationLoaders(scope), ...integrationLoaders(scope), ...integrationHealthLoaders(scope), ...syncLoaders(scope) };
}
