import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';

/** Providers accept any non-empty bearer API key; what matters to callers is sending one. */
export async function requireApiKey(request: FastifyRequest, reply: FastifyReply) {
  if (!/^Bearer\s+\S+/i.test(request.headers.authorization ?? '')) {
    return reply.code(401).send(errorBody('UNAUTHORIZED', 'Authorization: Bearer <api key> required'));
  }
}
