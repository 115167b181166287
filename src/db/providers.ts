import { integrationProvider } from './schema.js';

/** The external providers an integration can connect to (the `integration_provider` enum). */
export type Provider = (typeof integrationProvider.enumValues)[number];
export const PROVIDERS = integrationProvider.enumValues;

/** Each provider's kebab-case slug: in queue names, and the mock providers' URL paths. */
export const PROVIDER_SLUG: Record<Provider, string> = { USER_SERVICE: 'user-service', PAYMENT_SERVICE: 'payment-service', COMMUNICATION_SERVICE: 'communication-service' };
