import { eq } from 'drizzle-orm';
import { integrations, type IntegrationRow } from '../db/schema.js';
import { withTenant } from '../db/tenant-context.js';
import type { IntegrationDeps } from './deps.js';
import { secretBinding, type SecretBox } from './secrets.js';
import type { IntegrationTarget } from './types.js';

/** What an integration's credentials column holds (encrypted). */
export interface Credentials {
  apiKey: string;
}

/** The outbound client's view of an integration: its API root and decrypted credentials. */
export function toTarget(secrets: SecretBox, row: IntegrationRow): IntegrationTarget {
  const creds = JSON.parse(secrets.decrypt(row.credentialsEncrypted, secretBinding(row.tenantId, row.id, 'credentials'))) as Credentials;
  return { tenantId: row.tenantId, id: row.id, provider: row.provider, baseUrl: row.baseUrl, apiKey: creds.apiKey };
}

/** Loads one integration as the SYSTEM actor (jobs: health checks, sync) and builds its outbound target. */
export async function loadIntegrationTarget(app: Pick<IntegrationDeps, 'db' | 'secrets'>, tenantId: string, integrationId: string): Promise<IntegrationTarget | null> {
  const [row] = await withTenant(app.db, { tenantId, actorType: 'SYSTEM', actorId: 'integrations' }, (tx) =>
    tx.select().from(integrations).where(eq(integrations.id, integrationId)),
  );
  return row ? toTarget(app.secrets, row) : null;
}
