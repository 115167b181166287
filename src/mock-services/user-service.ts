/** Fake user directory: the source Tessera syncs users from. */
import { z } from 'zod';
import { notFound, parseInput } from './errors.js';
import { idempotent } from './idempotency.js';
import { readRoutes, type ProviderRoutes } from './provider.js';

const createUserSchema = z.object({
  email: z.email(),
  name: z.string().min(1).max(200),
});

const updateUserSchema = z.object({
  email: z.email().optional(),
  name: z.string().min(1).max(200).optional(),
  status: z.enum(['active', 'deleted']).optional(),
});

type IdParams = { Params: { id: string } };

export const userServiceRoutes: ProviderRoutes = (app, state) => {
  readRoutes(app, state, 'users', (user, includeDeleted) => includeDeleted || user.status !== 'deleted');

  app.post('/users', async (request, reply) => {
    const fields = parseInput(createUserSchema, request.body);
    return idempotent(state, request, reply, 'POST /users', () => ({ status: 201, body: state.store.createUser(fields) }));
  });

  // With an Idempotency-Key a retried PATCH replays the first answer instead of bumping the version again.
  app.patch<IdParams>('/users/:id', async (request, reply) => {
    const patch = parseInput(updateUserSchema, request.body);
    return idempotent(state, request, reply, `PATCH /users/${request.params.id}`, () => {
      const user = state.store.update('users', request.params.id, patch);
      if (!user) throw notFound('users', request.params.id);
      return { status: 200, body: user };
    });
  });

  // Soft delete; deleting twice is a no-op, so a retried DELETE does not bump the version again.
  app.delete<IdParams>('/users/:id', async (request) => {
    const user = state.store.get('users', request.params.id);
    if (!user) throw notFound('users', request.params.id);
    if (user.status === 'deleted') return user;
    return state.store.update('users', user.id, { status: 'deleted' });
  });
};
