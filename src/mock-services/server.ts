/** One Fastify instance serving the three fake providers plus the /_control API. */
import type { AddressInfo } from 'node:net';
import Fastify, { LogController } from 'fastify';
import { communicationServiceRoutes } from './communication-service.js';
import { controlRoutes } from './control-api.js';
import { installErrorHandlers } from './errors.js';
import { paymentServiceRoutes } from './payment-service.js';
import { providerPlugin } from './provider.js';
import { MockState } from './state.js';
import { userServiceRoutes } from './user-service.js';
import { MockOidcIdp, oidcIdpRoutes } from './oidc-idp.js';
import { MockSamlIdp, samlIdpRoutes } from './saml-idp.js';

export { MockState } from './state.js';
export { MockOidcIdp } from './oidc-idp.js';
export { MockSamlIdp } from './saml-idp.js';

export interface MockServicesOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  seedUsers?: number;
  /** PRNG seed; the same seed yields the same data. */
  seed?: number;
  logger?: boolean;
}

export interface MockServices {
  url: string;
  port: number;
  close(): Promise<void>;
  state: MockState;
  /** The OpenID Connect provider at /oidc (issuer `${url}/oidc`). */
  oidc: MockOidcIdp;
  /** The SAML identity provider at /saml (entity id `${url}/saml`, metadata at /saml/metadata). */
  saml: MockSamlIdp;
}

export async function startMockServices(opts: MockServicesOptions = {}): Promise<MockServices> {
  const host = opts.host ?? '127.0.0.1';
  const state = new MockState({ seed: opts.seed ?? 1, seedUsers: opts.seedUsers ?? 50 });
  // Per-request logs would drown benchmark output; startup and errors are still logged.
  const app = Fastify({
    logger: opts.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
  });
  installErrorHandlers(app);

  await app.register(providerPlugin('user-service', state, userServiceRoutes), { prefix: '/user-service' });
  await app.register(providerPlugin('payment-service', state, paymentServiceRoutes), { prefix: '/payment-service' });
  await app.register(providerPlugin('communication-service', state, communicationServiceRoutes), { prefix: '/communication-service' });
  await app.register(controlRoutes(state), { prefix: '/_control' });
  const oidc = new MockOidcIdp();
  await app.register(oidcIdpRoutes(oidc));
  const saml = new MockSamlIdp();
  await app.register(samlIdpRoutes(saml));

  await app.listen({ port: opts.port ?? 0, host });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://${urlHost(host)}:${port}`;
  oidc.issuer = `${url}/oidc`;
  saml.baseUrl = `${url}/saml`;
  return {
    url,
    port,
    close: async () => {
      state.outbox.clear(); // pending deliveries and webhooks die with the mock
      await app.close();
    },
    state,
    oidc,
    saml,
  };
}

/** A wildcard bind address is not dialable; IPv6 literals need brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
