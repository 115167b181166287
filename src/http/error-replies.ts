import crypto from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, graphQLErrorBody, restErrorBody, type ErrorLog } from '../errors.js';

/**
 * Every answer the HTTP layer gives for a failure goes through `sendError`, in one of two shapes
 * (README "Errors"): on /graphql a GraphQL response `{ errors: [{ message, extensions: { code } }] }`,
 * on every other route the REST envelope `{ error: { code, message, requestId, … } }`. Both carry
 * `x-request-id`. This covers Fastify's own refusals too: unknown routes (404) and methods (405),
 * body limits (413), content types (415), malformed JSON and URLs (400), and what Node refuses before
 * Fastify sees a request (431 for oversized headers, 400 for a malformed request line).
 */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown, log: ErrorLog): FastifyReply {
  const { status, headers, body } = isGraphQLPath(req.url) ? graphQLErrorBody(err, log) : restErrorBody(err, req.id, log);
  return reply.code(status).headers({ ...headers, 'x-request-id': req.id }).type('application/json; charset=utf-8').send(body);
}

const isGraphQLPath = (url: string) => url === '/graphql' || url.startsWith('/graphql?');

/** Fastify's error handler, 404/405 handler and router errors, all through sendError. Call before any route is added. */
export function registerErrorReplies(fastify: FastifyInstance, log: ErrorLog): void {
  const routes: { pattern: RegExp; method: string }[] = [];
  fastify.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : escapeRegExp(part))).join('/')}$`);
    for (const method of [route.method].flat()) routes.push({ pattern, method });
  });
  fastify.setErrorHandler((err: FastifyError, req, reply) => sendError(req, reply, err, log));
  fastify.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length === 0) return sendError(req, reply, new AppError('NOT_FOUND', `No route ${path}`), log);
    reply.header('allow', allowed.join(', '));
    return sendError(req, reply, new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use ${allowed.join(', ')}`), log);
  });
}

/** Fastify's `frameworkErrors` option: a URL the router can't decode (FST_ERR_BAD_URL) is a 400. */
export function frameworkErrors(log: ErrorLog) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => sendError(req, reply, err, log);
}

/**
 * Fastify's `clientErrorHandler`: Node refused the request before there is one (headers over
 * 16 KiB → 431, a malformed request line → 400). Written by hand on the socket, in the REST envelope
 * (no route is known), with a fresh request id.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const requestId = crypto.randomUUID();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const code = status === 431 ? 'REQUEST_HEADER_FIELDS_TOO_LARGE' : status === 408 ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST';
  const { body } = restErrorBody(new AppError(code, status === 400 ? 'The request could not be parsed' : undefined), requestId);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nx-request-id: ${requestId}\r\n\r\n${text}`,
  );
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
