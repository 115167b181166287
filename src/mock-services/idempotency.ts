/**
 * Idempotency-Key support for create endpoints: a repeated key replays the first response instead of
 * creating again; reusing a key with a different body is a client bug and gets 422 (as Stripe does).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';
import type { CachedResponse, MockState } from './state.js';

/**
 * Runs `create` at most once per (scope, API key, Idempotency-Key). `create` must be synchronous so
 * that two concurrent requests with the same key cannot both miss the cache.
 */
export function idempotent(
  state: MockState,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: string,
  create: () => { status: number; body: unknown },
) {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') {
    const result = create();
    return reply.code(result.status).send(result.body);
  }
  // Scoped by API key so two tenants choosing the same key do not collide.
  const cacheKey = [scope, request.headers.authorization, key].join('\n');
  const fingerprint = JSON.stringify(request.body ?? null);
  const cached = state.idempotency.get(cacheKey);
  if (cached) {
    if (cached.fingerprint !== fingerprint) {
      return reply.code(422).send(errorBody('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was used with a different request body'));
    }
    return reply.code(cached.status).header('idempotent-replayed', 'true').send(cached.body);
  }
  const result = create();
  state.idempotency.set(cacheKey, { fingerprint, ...result });
  return reply.code(result.status).send(result.body);
}
