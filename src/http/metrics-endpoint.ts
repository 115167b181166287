/**
 * GET /metrics (Prometheus text) names every tenant's integrations (ids in labels), so it is not
 * for the public:
 *  - METRICS_TOKEN: scrapers must send `Authorization: Bearer <token>` (compared in constant time);
 *    anything else gets 401 in the error envelope;
 *  - METRICS_PORT (and METRICS_HOST, default 127.0.0.1): /metrics moves to a listener of its own and
 *    is no longer served on PORT (404 there); the token applies there too when both are set.
 * Production refuses to start with neither (src/config.ts); development and tests serve it openly
 * on PORT, as before.
 */
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { AppError } from '../errors.js';
import { sendError } from './error-replies.js';

const digest = (s: string) => crypto.createHash('sha256').update(s).digest();

function handler(app: App) {
  const expected = app.config.METRICS_TOKEN ? digest(`Bearer ${app.config.METRICS_TOKEN}`) : undefined;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (expected) {
      const given = req.headers.authorization ?? '';
      const normalized = given.replace(/^bearer\s+/i, 'Bearer ');
      if (!crypto.timingSafeEqual(digest(normalized), expected)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        return sendError(req, reply, new AppError('UNAUTHENTICATED', 'Metrics need the bearer token (METRICS_TOKEN)'), app.log);
      }
    }
    return reply.header('content-type', app.metrics.registry.contentType).send(await app.metrics.registry.metrics());
  };
}

/** On the main listener, unless METRICS_PORT moves it to its own. */
export function registerMetricsRoute(fastify: FastifyInstance, app: App): void {
  if (app.config.METRICS_PORT === undefined) fastify.get('/metrics', handler(app));
}

/** The separate metrics listener when METRICS_PORT is set; its URL and its stop. */
export async function startMetricsListener(app: App): Promise<{ url: string; close(): Promise<void> } | undefined> {
  if (app.config.METRICS_PORT === undefined) return undefined;
  const server = Fastify({ logger: false });
  server.get('/metrics', handler(app));
  server.setNotFoundHandler((req, reply) => sendError(req, reply, new AppError('NOT_FOUND', 'Only /metrics is served here'), app.log));
  await server.listen({ host: app.config.METRICS_HOST, port: app.config.METRICS_PORT });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : app.config.METRICS_PORT;
  const host = app.config.METRICS_HOST.includes(':') ? `[${app.config.METRICS_HOST}]` : app.config.METRICS_HOST;
  return { url: `http://${host}:${port}`, close: () => server.close() };
}
