import { pino, stdSerializers, type Logger } from 'pino';

export type { Logger };

/** The one logger. Request-scoped children carry the request id. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: ['req.headers.authorization', '*.password', '*.refreshToken', '*.webhookSecret', '*.apiKey', '*.secret'],
    // Database errors carry the statement's parameters (hashes, tokens, emails): never log them.
    serializers: { err: (err: Error) => withoutParams(err, omit(stdSerializers.err(err), ['parameters', 'params', 'args', 'query', 'types'])) },
  });
}

/** drizzle's query errors repeat the parameters in their message ("Failed query: …\nparams: …"): keep the statement and the causes. */
function withoutParams<T extends { message: string; stack?: string }>(err: Error, serialized: T): T {
  if (!('params' in err) || !err.message.includes('\nparams: ')) return serialized;
  const causes: string[] = [];
  for (let c = err.cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) causes.push(c.message);
  const message = [`${err.message.split('\nparams: ')[0]}\nparams: [omitted]`, ...causes].join(': ');
  return { ...serialized, message, stack: serialized.stack?.split(err.message).join(message) };
}

function omit<T extends object>(obj: T, keys: string[]): T {
  const copy = { ...obj } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as T;
}
