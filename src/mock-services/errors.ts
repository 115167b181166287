/** One error envelope for every endpoint: { error: { code, message? } }. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message?: string,
  ) {
    super(message ?? code);
  }
}

export function errorBody(code: string, message?: string) {
  return { error: message ? { code, message } : { code } };
}

export function notFound(what: string, id: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', `${what} ${id} not found`);
}

/** Validates input with zod, turning failures into a 400 the caller can read. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const message = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  throw new HttpError(400, 'VALIDATION_ERROR', message);
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `${request.method} ${request.url} is not a mock-services route`)),
  );
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).send(errorBody(error.code, error.message));
    // Fastify's own client errors (malformed JSON, wrong content type) keep their status.
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'mock service failure');
    return reply.code(status).send(errorBody(status === 500 ? 'INTERNAL' : (error.code ?? 'BAD_REQUEST'), error.message));
  });
}
