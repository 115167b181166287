import { integrationProvider } from './schema.js';

/** The external providers an integration can connect to (the `integration_provider` enum). */
export type Provider = (typeof integrationProvider.enumValues)[number];
export const PROVIDERS: readonly Provider[] = integrationProvider.enumValues;

/** Each provider's kebab-case slug: queue names, mock-service paths. */
export const PROVIDER_SLUG: Record<Provider, string> = { USER_SERVICE: 'user-service', PAYMENT_SERVICE: 'payment-service', COMMUNICATION_SERVICE: 'communication-service' };
