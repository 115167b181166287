import type { Scope } from '../db/tenant-transaction.js';
import { unauthenticated } from '../errors.js';
import { integrationHealthLoaders } from '../modules/integration-health/loaders.js';
import { integrationLoaders } from '../modules/integrations/loaders.js';
import { organizationLoaders } from '../modules/organizations/loaders.js';
import { syncLoaders } from '../modules/sync/loaders.js';
import { userLoaders } from '../modules/users/loaders.js';

/** Every module's DataLoader factories, by the name resolvers use (`ctx.loaders.<name>`). */
const factories = { ...userLoaders, ...organizationLoaders, ...integrationLoaders, ...integrationHealthLoaders, ...syncLoaders };

export type Loaders = { [K in keyof typeof factories]: ReturnType<(typeof factories)[K]> };

/**
 * An operation's DataLoaders, each made on first use: an operation touches one or two of them, and
 * making all of them for every request was ~2 % of a request's CPU. The getters live on the prototype
 * (defined once), so a request allocates one small object.
 */
class OperationLoaders {
  readonly made = new Map<string, unknown>();
  constructor(readonly scope: Scope) {}
}
for (const [name, make] of Object.entries(factories) as [string, (scope: Scope, loaders: Loaders) => unknown][]) {
  Object.defineProperty(OperationLoaders.prototype, name, {
    get(this: OperationLoaders) {
      let loader = this.made.get(name);
      if (loader === undefined) this.made.set(name, (loader = make(this.scope, this as unknown as Loaders)));
      return loader;
    },
  });
}

/** Per-operation DataLoaders; without a tenant scope there is nothing they may read. */
export function createLoaders(scope: Scope | null): Loaders {
  if (!scope) {
    return new Proxy({} as Loaders, {
      get: () => {
        throw unauthenticated();
      },
    });
  }
  return new OperationLoaders(scope) as unknown as Loaders;
}
