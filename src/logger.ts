import { pino, stdSerializers, type Logger } from 'pino';

export type { Logger };

/** The one logger. Request-scoped children carry the request id. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: ['req.headers.authorization', '*.password', '*.refreshToken'],
    // Database errors carry the statement's parameters (hashes, tokens, emails): never log them.
    serializers: { err: (err: Error) => omit(stdSerializers.err(err), ['parameters', 'args', 'query', 'types']) },
  });
}

function omit<T extends object>(obj: T, keys: string[]): T {
  const copy = { ...obj } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as T;
}
