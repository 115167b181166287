import type { App } from '../../src/app.js';
import { actors, ShortTransactionScope } from '../../src/db/tenant-transaction.js';
import { PROVIDER_SLUG, type Provider } from '../../src/db/providers.js';
import type { IntegrationTarget } from '../../src/integrations/types.js';
import type { MockServices } from '../../src/mock-services/server.js';
import { createIntegration } from '../../src/modules/integrations/service.js';
import { toTarget } from '../../src/integrations/targets.js';

export const providerUrl = (mock: { url: string }, provider: Provider) => `${mock.url}/${PROVIDER_SLUG[provider]}`;

/** A real integration of a seeded tenant pointing at the mock provider; returns its outbound target and webhook secret. */
export async function createTestIntegration(app: App, mock: MockServices | { url: string }, tenantId: string, provider: Provider = 'USER_SERVICE', name?: string) {
  const scope = new ShortTransactionScope(app.db, actors.system('test', tenantId));
  const created = await createIntegration(scope, app, {
    provider,
    name: name ?? `${provider} ${Math.random().toString(36).slice(2, 8)}`,
    baseUrl: providerUrl(mock, provider),
    apiKey: 'test-api-key',
  });
  return { target: toTarget(app.secrets, created.integration), secret: created.webhookSecret, row: created.integration };
}

/** The outbound target of a new integration of a seeded tenant, pointing at the mock provider. */
export async function makeTarget(app: App, mock: MockServices, tenantId: string, provider: Provider = 'USER_SERVICE'): Promise<IntegrationTarget> {
  return (await createTestIntegration(app, mock, tenantId, provider)).target;
}

/** The mock's /_control API. */
export function mockControl(mock: MockServices) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${mock.url}/_control${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json() as Promise<any>;
  };
  return {
    faults: (f: Record<string, unknown>) => call('POST', '/faults', f),
    clearFaults: () => call('DELETE', '/faults'),
    clearRequests: () => call('DELETE', '/requests'),
    requests: async (service: string): Promise<{ total: number; byStatus: Record<string, number> }> => (await call('GET', '/requests'))[service],
  };
}

/** Settings that make breakers and retries fast enough for tests. */
export const FAST_OUTBOUND_ENV = {
  OUTBOUND_TIMEOUT_MS: '1000',
  OUTBOUND_MAX_RETRIES: '2',
  OUTBOUND_RETRY_BASE_MS: '10',
  OUTBOUND_RETRY_MAX_MS: '50',
  OUTBOUND_BREAKER_THRESHOLD: '3',
  OUTBOUND_HALF_OPEN_AFTER_MS: '1000',
  CIRCUIT_CACHE_TTL_MS: '1000',
};
