import type { Provider } from '../db/providers.js';

/**
 * What the outbound client needs to know about an integration. At merge this is built from an
 * `integrations` row (credentials decrypted); until then tests make targets up.
 */
export interface IntegrationTarget {
  tenantId: string;
  id: string;
  provider: Provider;
  /** The provider's API root, e.g. https://api.example.com/v1 (no trailing slash needed). */
  baseUrl: string;
  apiKey: string;
}

export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'ISOLATED';
