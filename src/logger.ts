import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logger. Request-scoped children carry the request id. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, redact: ['req.headers.authorization', '*.password', '*.refreshToken'] });
}
