import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { WebhookReceiver } from '../integrations/webhooks/receive.js';
import { normalizeSourceIp } from '../integrations/webhooks/sources.js';
import type { WebhookResponse } from '../integrations/webhooks/types.js';
import { sendError } from './error-replies.js';

/**
 * POST /webhooks/:integrationId. Its own encapsulated context: every body arrives as raw bytes
 * (signatures cover the exact bytes; re-serialized JSON would not verify), with its own size limit.
 * Refusals, the receiver's and Fastify's (too large, unreadable), are the REST error envelope.
 */
export function webhookRoutes(app: App): FastifyPluginAsync {
  const receiver = new WebhookReceiver(app);
  return async (instance: FastifyInstance) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    // Every outcome counts, including Fastify's refusals before the handler.
    instance.addHook('onResponse', async (_req, reply) => void app.metrics.webhookRequests.inc({ outcome: String(reply.statusCode) }));
    instance.post<{ Params: { integrationId: string } }>('/webhooks/:integrationId', { bodyLimit: app.config.WEBHOOK_MAX_BODY_BYTES }, async (req, reply) => {
      const r = await receiver.receive({
        integrationId: req.params.integrationId,
        headers: req.raw.headersDistinct,
        contentType: req.headers['content-type'],
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        requestId: req.id,
        sourceIp: normalizeSourceIp(req.ip), // behind TRUST_PROXY's proxies: the X-Forwarded-For client
      });
      return send(req, reply, r);
    });

    function send(req: FastifyRequest, reply: FastifyReply, r: WebhookResponse) {
      if (r.headers) reply.headers(r.headers);
      if (r.error) return sendError(req, reply, r.error, app.log);
      return reply.code(r.status).type('application/json').send(r.body);
    }
  };
}
