import crypto from 'node:crypto';
import type { IntegrationTarget, Provider } from '../../src/integrations/types.js';
import type { MockServices } from '../../src/mock-services/server.js';

const PATHS: Record<Provider, string> = { USER_SERVICE: 'user-service', PAYMENT_SERVICE: 'payment-service', COMMUNICATION_SERVICE: 'communication-service' };

/** A made-up integration of a seeded tenant (the integrations table arrives at merge). */
export function makeTarget(mock: MockServices, tenantId: string, provider: Provider = 'USER_SERVICE'): IntegrationTarget {
  return { tenantId, id: crypto.randomUUID(), provider, baseUrl: `${mock.url}/${PATHS[provider]}`, apiKey: 'test-api-key' };
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
