import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import type { App } from '../app.js';
import { roleCheck } from '../auth/roles.js';
import { AppError, unauthenticated } from '../errors.js';
import { createContext } from '../graphql/context.js';
import { uploadUsers, type ImportFormat } from '../modules/imports/service.js';
import { sendError } from './error-replies.js';

const FORMATS: Record<string, ImportFormat> = { 'text/csv': 'CSV', 'application/x-ndjson': 'NDJSON', 'application/ndjson': 'NDJSON' };

/**
 * POST /imports/users: a CSV (header row: email,name,role) or NDJSON ({"email","name","role"} per
 * line) file of users, streamed (never held whole: the body limit of other routes does not apply;
 * IMPORT_MAX_BYTES does). Same bearer token (user or API key), ADMIN+. Answers 202 with the import
 * (`importJob(id)` follows it), or 200 with the earlier import of the same file.
 */
export function registerImportRoutes(app: App) {
  return async (fastify: FastifyInstance) => {
    // Scoped to this plugin: the body stays a stream for the handler.
    fastify.addContentTypeParser(Object.keys(FORMATS), (_req, payload, done) => done(null, payload));
    fastify.post('/imports/users', async (req, reply) => {
      try {
        const ctx = await createContext(app, { authorization: req.headers.authorization, requestId: req.id, clientIp: req.ip, userAgent: req.headers['user-agent'], transactions: 'short' });
        const viewer = await ctx.viewer();
        const allowed = roleCheck(viewer, 'ADMIN');
        if (allowed !== true) throw allowed;
        if (viewer.kind !== 'user') throw unauthenticated();
        const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = FORMATS[type];
        if (!format) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send text/csv or application/x-ndjson');
        const { job, duplicate } = await uploadUsers(app, viewer, ctx.request, format, req.body as Readable);
        return reply.code(duplicate ? 200 : 202).send({ id: job.id, status: job.status, duplicate, totalRows: job.totalRows, validRows: job.validRows, failedRows: job.failedRows });
      } catch (err) {
        // The client may still be sending: drain what is left so the answer reaches it.
        (req.body as Readable | undefined)?.resume?.();
        return sendError(req, reply, err, app.log);
      }
    });
  };
}
