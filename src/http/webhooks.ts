import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { App } from '../app.js';
import { refusal, WebhookReceiver, type WebhookResponse } from '../integrations/webhooks/receive.js';
import { normalizeSourceIp } from '../integrations/webhooks/sources.js';

/**
 * POST /webhooks/:integrationId. Its own encapsulated context: every body arrives as raw bytes
 * (signatures cover the exact bytes; re-serialized JSON would not verify), with its own size limit.
 * Refusals that happen before the handler (too large, unreadable) get the same JSON error shape.
 */
export function webhookRoutes(app: App): FastifyPluginAsync {
  const receiver = new WebhookReceiver(app);
  return async (instance: FastifyInstance) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: app.config.WEBHOOK_MAX_BODY_BYTES }, (_req, body, done) => done(null, body));
    instance.setErrorHandler((err: { statusCode?: number; code?: string }, req, reply) => {
      const r =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? refusal('PAYLOAD_TOO_LARGE', `The body is larger than ${app.config.WEBHOOK_MAX_BODY_BYTES} bytes`)
          : err.statusCode && err.statusCode < 500
            ? refusal(err.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_USER_INPUT', 'The request could not be read')
            : (req.log.error({ err }, 'webhook route failed'), refusal('INTERNAL_SERVER_ERROR', 'Internal error; retry later'));
      return send(reply, r);
    });
    instance.post<{ Params: { integrationId: string } }>('/webhooks/:integrationId', async (req, reply) => {
      const r = await receiver.receive({
        integrationId: req.params.integrationId,
        headers: req.headers,
        contentType: req.headers['content-type'],
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        requestId: req.id,
        sourceIp: normalizeSourceIp(req.ip), // behind TRUST_PROXY's proxies: the X-Forwarded-For client
      });
      return send(reply, r);
    });

    function send(reply: import('fastify').FastifyReply, r: WebhookResponse) {
      app.metrics.webhookRequests.inc({ outcome: String(r.status) });
      if (r.headers) reply.headers(r.headers);
      return reply.code(r.status).type('application/json').send(r.body);
    }
  };
}
