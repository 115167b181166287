import DataLoader from 'dataloader';
import { inArray } from 'drizzle-orm';
import type { Scope } from '../../db/tenant-transaction.js';
import { integrations, type IntegrationRow } from '../../db/schema.js';

/** WebhookEvent.integration (and any field naming an integration) for a whole list in one query. */
export const integrationLoaders = {
  integrationById: (scope: Scope) =>
    new DataLoader<string, IntegrationRow | null>(async (ids) => {
      const rows = await scope.read((tx) => tx.select().from(integrations).where(inArray(integrations.id, [...ids])));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
};
