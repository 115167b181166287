/** Fake email/SMS provider: Tessera sends messages here and later reads their delivery status. */
import { z } from 'zod';
import { parseInput } from './errors.js';
import { idempotent } from './idempotency.js';
import { readRoutes, type ProviderRoutes } from './provider.js';

// Content fields (subject, body) are accepted and dropped: only delivery metadata is modelled.
const sendMessageSchema = z.object({
  to_email: z.email(),
  user_external_id: z.string().min(1).optional(),
  channel: z.enum(['email', 'sms']).default('email'),
});

export const communicationServiceRoutes: ProviderRoutes = (app, state) => {
  readRoutes(app, state, 'messages');

  app.post('/messages', async (request, reply) => {
    const fields = parseInput(sendMessageSchema, request.body);
    return idempotent(state, request, reply, 'POST /messages', () => ({
      status: 201,
      body: state.store.createMessage(fields),
    }));
  });
};
