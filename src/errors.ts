import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';

/**
 * The one error table. Every refusal a client can see carries one of these codes in
 * `extensions.code`; anything else is an internal error and is masked.
 */
export const ErrorCode = {
  UNAUTHENTICATED: { http: 401, message: 'Authentication required' },
  FORBIDDEN: { http: 403, message: 'Not allowed' },
  NOT_FOUND: { http: 404, message: 'Not found' },
  BAD_USER_INPUT: { http: 400, message: 'Invalid input' },
  CONFLICT: { http: 409, message: 'Conflict' },
  RATE_LIMITED: { http: 429, message: 'Too many requests' },
  /** The HTTP body is over the size limit (answered by the HTTP layer, before GraphQL or webhooks). */
  PAYLOAD_TOO_LARGE: { http: 413, message: 'Payload too large' },
  /** REST (webhooks) only: the body is not application/json. */
  UNSUPPORTED_MEDIA_TYPE: { http: 415, message: 'Unsupported media type' },
  /** REST (webhooks) only: well-formed JSON that fails the event type's schema. */
  UNPROCESSABLE_ENTITY: { http: 422, message: 'Unprocessable entity' },
  SERVICE_UNAVAILABLE: { http: 503, message: 'Service temporarily unavailable' },
  INTERNAL_SERVER_ERROR: { http: 500, message: 'Internal server error' },
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

export interface FieldError {
  field: string;
  message: string;
}

/** An expected failure: its message and extensions are safe to show to the client. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCodeName, message?: string, extensions: Record<string, unknown> = {}) {
    super(message ?? ErrorCode[code].message, { extensions: { ...extensions, code } });
  }
  get code(): ErrorCodeName {
    return this.extensions.code as ErrorCodeName;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (why?: string) => new AppError('FORBIDDEN', why);
export const unauthenticated = (why?: string) => new AppError('UNAUTHENTICATED', why);
export const conflict = (why: string) => new AppError('CONFLICT', why);
export const badInput = (fields: FieldError[]) =>
  new AppError('BAD_USER_INPUT', fields.map((f) => `${f.field}: ${f.message}`).join('; '), { fields });

/** The Postgres error behind an error, if any (drizzle wraps driver errors in `cause`). */
export function databaseErrorOf(err: unknown): { code: string; severity: string } | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ('severity' in e && typeof (e as { code?: unknown }).code === 'string') return e as { code: string; severity: string };
  }
  return undefined;
}

/** No pooled connection within the acquire bound (src/db/client.ts). */
export const DB_ACQUIRE_TIMEOUT = 'DB_ACQUIRE_TIMEOUT';
/** A transaction's connection gave no answer within its bound (src/db/client.ts). */
export const DB_RESPONSE_TIMEOUT = 'DB_RESPONSE_TIMEOUT';
/** The pool knows the database is down (a connect failed, a probe is under way): failed at once (src/db/client.ts). */
export const DB_UNREACHABLE = 'DB_UNREACHABLE';

/**
 * Connection failures: socket errors, postgres.js's own connection codes, our bounded waits, and
 * SQLSTATEs 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too many connections)
 * and class 08 (connection exception). Nothing was stored; the client should retry later (503).
 */
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', DB_ACQUIRE_TIMEOUT, DB_RESPONSE_TIMEOUT, DB_UNREACHABLE,
  '57P01', '57P02', '57P03', '53300',
]);

/** The database is unreachable or refusing connections: the client should retry later. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = String((e as { code?: unknown }).code);
    if (CONNECTION_FAILURES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

/** Postgres SQLSTATEs that are the client's fault, mapped without leaking constraint or row details. */
export function fromDatabaseError(err: unknown): AppError | undefined {
  if (isDatabaseUnavailable(err)) return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly');
  const code = databaseErrorOf(err)?.code;
  switch (code) {
    case '23505':
      return conflict('A record with these values already exists');
    case '23503':
      return notFound('Referenced record');
    case '22P02':
    case '22001':
    case '23514':
      return badInput([{ field: 'input', message: 'Value rejected by a data constraint' }]);
    case '57014':
      return new AppError('SERVICE_UNAVAILABLE', 'The query took too long and was cancelled');
    case '42501':
      return forbidden();
    case '40001':
    case '40P01':
      return conflict('A concurrent change got in the way; retry the request');
    default:
      return undefined;
  }
}

/** Apollo formatError: known codes pass through; database errors are translated; the rest is masked. */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, log: (err: unknown) => void): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) return { ...formatted, message: original.message, extensions: { ...original.extensions } };
  const code = formatted.extensions?.code as string | undefined;
  // Apollo's own request errors (parse, validation, bad request, persisted query) are already safe.
  if (code && code !== 'INTERNAL_SERVER_ERROR' && !databaseErrorOf(original)) {
    // Apollo re-creates errors thrown by plugins (to strip extensions.http): keep our field details.
    const fields = code === 'BAD_USER_INPUT' && Array.isArray(formatted.extensions?.fields) ? { fields: formatted.extensions.fields } : {};
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code, ...fields } };
  }
  const mapped = fromDatabaseError(original);
  if (mapped) return { message: mapped.message, path: formatted.path, extensions: { ...mapped.extensions } };
  log(original);
  return { message: ErrorCode.INTERNAL_SERVER_ERROR.message, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
