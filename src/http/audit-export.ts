import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app.js';
import { roleCheck } from '../auth/roles.js';
import { createContext } from '../graphql/context.js';
import { sendError } from './error-replies.js';
import { exportAuditLogs, toExportLine, validateExportQuery } from '../modules/audit/service.js';

/**
 * GET /audit-logs/export?from=<ISO>&to=<ISO>: the tenant's audit entries in [from, to) as NDJSON,
 * oldest first, streamed batch by batch. Same bearer token and role rule (ADMIN+) as auditLogs.
 * Refusals before the first byte are the REST error envelope (sendError).
 */
export function registerAuditExport(fastify: FastifyInstance, app: App) {
  fastify.get('/audit-logs/export', async (req, reply) => {
    try {
      const ctx = await createContext(app, {
        authorization: req.headers.authorization,
        requestId: req.id,
        clientIp: req.ip,
        userAgent: req.headers['user-agent'],
        transactions: 'short',
      });
      // The same check as the permission map's rule for auditLogs (tenantQuery('ADMIN')).
      const allowed = roleCheck(await ctx.viewer(), 'ADMIN');
      if (allowed !== true) throw allowed;
      validateExportQuery(req.query);
      const batches = exportAuditLogs(ctx.scope!, req.query);
      async function* lines() {
        for await (const rows of batches) yield rows.map(toExportLine).join('');
      }
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit-logs.ndjson"')
        .send(Readable.from(lines()));
    } catch (err) {
      return sendError(req, reply, err, app.log);
    }
  });
}
