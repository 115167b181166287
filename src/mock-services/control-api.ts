/** /_control: unauthenticated test and demo knobs. Faults never apply here. */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { HttpError, notFound, parseInput } from './errors.js';
import { webhookControlRoutes } from './control-webhooks.js';
import { faultUpdateSchema } from './faults.js';
import type { MockState } from './state.js';
import { COLLECTIONS, SERVICES, type CollectionName } from './types.js';

const MAX_USERS = 200_000;

const serviceQuerySchema = z.object({ service: z.enum(SERVICES).optional() });
const resetSchema = z.object({ seedUsers: z.number().int().min(0).max(MAX_USERS).optional() });
const bulkUsersSchema = z.object({ count: z.number().int().min(1).max(MAX_USERS) });
const messagesQuerySchema = z.object({
  to: z.string().max(254).optional(),
  /** The sender's metadata.kind (Tessera: INVITATION, PASSWORD_RESET, EMAIL_CHANGE, EMAIL_CHANGED_NOTICE). */
  kind: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  /** Seconds to wait for at least one matching message (a demo's "check the inbox" right after sending). */
  wait: z.coerce.number().min(0).max(30).default(0),
});

function recordCounts(state: MockState): Record<CollectionName, number> {
  return Object.fromEntries(COLLECTIONS.map((c) => [c, state.store.count(c)])) as Record<CollectionName, number>;
}

export function controlRoutes(state: MockState): FastifyPluginAsync {
  return async (app) => {
    app.get('/faults', async () => state.faults.snapshot());
    app.post('/faults', async (request) => {
      state.faults.update(parseInput(faultUpdateSchema, request.body));
      return state.faults.snapshot();
    });
    app.delete('/faults', async (request) => {
      state.faults.clear(parseInput(serviceQuerySchema, request.query).service);
      return state.faults.snapshot();
    });

    app.get('/requests', async () => state.requests.snapshot(SERVICES));
    app.delete('/requests', async () => {
      state.requests.clear();
      return state.requests.snapshot(SERVICES);
    });

    app.post('/reset', async (request) => {
      state.reset(parseInput(resetSchema, request.body).seedUsers);
      return recordCounts(state);
    });

    app.post('/users', async (request, reply) => {
      const { count } = parseInput(bulkUsersSchema, request.body);
      for (let i = 0; i < count; i++) state.store.createUser();
      return reply.code(201).send({ created: count, total: state.store.count('users') });
    });

    app.post<{ Params: { collection: string; id: string } }>('/:collection/:id/touch', async (request) => {
      const { collection, id } = request.params;
      if (!isCollection(collection)) throw new HttpError(404, 'NOT_FOUND', `unknown collection ${collection}`);
      const record = state.store.update(collection, id);
      if (!record) throw notFound(collection, id);
      return record;
    });

    // The communication service's "sent mail": newest first, with subject, text and the links in it.
    app.get('/messages', async (request) => {
      const query = parseInput(messagesQuerySchema, request.query);
      const until = Date.now() + query.wait * 1000;
      let messages = state.outbox.list(query);
      while (!messages.length && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        messages = state.outbox.list(query);
      }
      return { messages };
    });

    webhookControlRoutes(app, state);
  };
}

function isCollection(name: string): name is CollectionName {
  return (COLLECTIONS as readonly string[]).includes(name);
}
