/** Fake billing provider: read-only subscriptions and invoices (changes arrive via /_control or webhooks). */
import { readRoutes, type ProviderRoutes } from './provider.js';

export const paymentServiceRoutes: ProviderRoutes = (app, state) => {
  readRoutes(app, state, 'subscriptions');
  readRoutes(app, state, 'invoices');
};
