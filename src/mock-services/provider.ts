/** What the three providers share: request counting, faults, an open /health and API-key auth on the rest. */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { requireApiKey } from './auth.js';
import { notFound, parseInput } from './errors.js';
import { faultHook } from './faults.js';
import { listQuerySchema, paginate } from './pagination.js';
import type { MockState } from './state.js';
import type { CollectionName, Collections, ServiceName } from './types.js';

export type ProviderRoutes = (app: FastifyInstance, state: MockState) => void;

export function providerPlugin(service: ServiceName, state: MockState, routes: ProviderRoutes): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onResponse', async (_request, reply) => state.requests.record(service, reply.statusCode));
    app.addHook('onRequest', faultHook(state.faults, service));
    // Health needs no API key (load balancers have none) but does obey faults.
    app.get('/health', async () => ({ status: 'ok' }));
    await app.register(async (authed) => {
      authed.addHook('onRequest', requireApiKey);
      routes(authed, state);
    });
  };
}

/** GET /<path> (paginated) and GET /<path>/:id for one collection. */
export function readRoutes<C extends CollectionName>(
  app: FastifyInstance,
  state: MockState,
  collection: C,
  visible?: (record: Collections[C], includeDeleted: boolean) => boolean,
): void {
  app.get(`/${collection}`, async (request) => {
    const query = parseInput(listQuerySchema, request.query);
    return paginate(state.store.list(collection), query, visible && ((r) => visible(r, query.include_deleted)));
  });
  app.get<{ Params: { id: string } }>(`/${collection}/:id`, async (request) => {
    const record = state.store.get(collection, request.params.id);
    if (!record) throw notFound(collection, request.params.id);
    return record;
  });
}
