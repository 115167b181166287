/**
 * The one error pipeline. Three parts, each in one place:
 *  1. `ErrorCode`: every code a client can see and its HTTP status (README "Errors" documents it);
 *  2. `toAppError`: any thrown value (ours, the database's, Fastify's, Apollo's, an integration's)
 *     as a client-safe `AppError`; whatever is not understood is a bug, logged and masked;
 *  3. the transport shapes: `formatGraphQLError` (Apollo's formatError), `graphQLErrorBody` (the
 *     HTTP layer answering on /graphql) and `restErrorBody` (every other route), all built from (2).
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';

/**
 * Every code a client can see in `extensions.code` (GraphQL) or `error.code` (REST), with its HTTP
 * status when the whole request fails. Anything else is an internal error and is masked.
 */
export const ErrorCode = {
  /** The request itself is unreadable: malformed JSON or URL, batched or empty GraphQL request, wrong method for the operation. */
  BAD_REQUEST: { http: 400, message: 'Bad request' },
  /** A value is refused; `fields: [{ field, message }]` names each one. */
  BAD_USER_INPUT: { http: 400, message: 'Invalid input' },
  /** The query text does not parse, or is over the token limit (Apollo). */
  GRAPHQL_PARSE_FAILED: { http: 400, message: 'The operation could not be parsed' },
  /** The operation is not valid against the schema, or breaks an operation limit (Apollo, graphql-armor). */
  GRAPHQL_VALIDATION_FAILED: { http: 400, message: 'The operation is not valid' },
  /** `operationName` names no operation in the document (Apollo). */
  OPERATION_RESOLUTION_FAILURE: { http: 400, message: 'The operation to run could not be determined' },
  /** Automatic persisted queries: the hash is unknown here; send the query text with it (Apollo clients do). */
  PERSISTED_QUERY_NOT_FOUND: { http: 200, message: 'PersistedQueryNotFound' },
  /** Automatic persisted queries: this protocol version is not supported (only version 1 is). */
  PERSISTED_QUERY_NOT_SUPPORTED: { http: 400, message: 'PersistedQueryNotSupported' },
  UNAUTHENTICATED: { http: 401, message: 'Authentication required' },
  FORBIDDEN: { http: 403, message: 'Not allowed' },
  /** Unknown id (in your tenant), route or integration. */
  NOT_FOUND: { http: 404, message: 'Not found' },
  /** The route exists, the method doesn't (the `Allow` header lists those that do). */
  METHOD_NOT_ALLOWED: { http: 405, message: 'Method not allowed' },
  /** The client did not send its request in time (Node's requestTimeout). */
  REQUEST_TIMEOUT: { http: 408, message: 'Request timeout' },
  CONFLICT: { http: 409, message: 'Conflict' },
  /** A mutation with this `Idempotency-Key` is still running (same tenant and principal); retry after it ends to get its response. */
  IDEMPOTENCY_KEY_IN_USE: { http: 409, message: 'A request with this Idempotency-Key is still in progress' },
  /** This `Idempotency-Key` was used with a different operation or variables; use a new key for a new request. */
  IDEMPOTENCY_KEY_REUSED: { http: 422, message: 'This Idempotency-Key was used for a different request' },
  /** A single-use link's token (invitation, password reset, email change) is unknown, used, revoked, expired or not for this tenant: one answer for all. */
  INVALID_TOKEN: { http: 400, message: 'This link is invalid, has expired or has already been used' },
  /** The HTTP body is over the size limit (answered by the HTTP layer, before GraphQL or webhooks). */
  PAYLOAD_TOO_LARGE: { http: 413, message: 'Payload too large' },
  /** A URL path segment longer than the router reads (Fastify's maxParamLength, 100 characters). */
  URI_TOO_LONG: { http: 414, message: 'URI too long' },
  /** The body's content type is not one the route reads. */
  UNSUPPORTED_MEDIA_TYPE: { http: 415, message: 'Unsupported media type' },
  /** REST (webhooks) only: well-formed JSON that fails the event type's schema, or text Postgres can't store. */
  UNPROCESSABLE_ENTITY: { http: 422, message: 'Unprocessable entity' },
  /** `retryAfter` (seconds) says when to try again; HTTP adds `Retry-After`. */
  RATE_LIMITED: { http: 429, message: 'Too many requests' },
  /** graphql-ws: a subscribe beyond WS_MAX_SUBSCRIPTIONS_PER_SOCKET on one socket; refused for that id only (never sent over HTTP). */
  TOO_MANY_SUBSCRIPTIONS: { http: 429, message: 'Too many subscriptions on this socket' },
  /** The request's headers are larger than the server reads (Node's 16 KiB). */
  REQUEST_HEADER_FIELDS_TOO_LARGE: { http: 431, message: 'Request header fields too large' },
  /** The database or a provider is unavailable; retry later. */
  SERVICE_UNAVAILABLE: { http: 503, message: 'Service temporarily unavailable' },
  /** A bug: details are logged with the request id, never sent. */
  INTERNAL_SERVER_ERROR: { http: 500, message: 'Internal server error' },
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

export const isErrorCode = (code: unknown): code is ErrorCodeName => typeof code === 'string' && Object.hasOwn(ErrorCode, code);

/** The HTTP status of a code (500 for anything not in the table). */
export const httpStatusOf = (code: unknown): number => (isErrorCode(code) ? ErrorCode[code].http : 500);

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

/** An error class of a lower layer that knows what it means to a client (e.g. an outbound call's failure). */
export interface ClientFacing {
  toAppError(): AppError;
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (why?: string, extensions?: Record<string, unknown>) => new AppError('FORBIDDEN', why, extensions);
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

/**
 * node-postgres (under pg-boss) throws its connection failures without a code: these messages
 * (pg/lib/client.js, pg-pool) are its only mark.
 */
const PG_CONNECTION_FAILURES = /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)$/;

/** The database is unreachable or refusing connections: the client should retry later. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = String((e as { code?: unknown }).code);
    if (CONNECTION_FAILURES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if ((e as { code?: unknown }).code === undefined && PG_CONNECTION_FAILURES.test(String((e as { message?: unknown }).message))) return true;
  }
  return false;
}

/**
 * Postgres SQLSTATEs that are the client's fault, mapped without leaking constraint or row details.
 * Class 22 (data exception: bad text, dates out of range, numbers too large) should never get here —
 * the edge refuses such values with the field named — but if one does, it is still the input's fault.
 */
export function fromDatabaseError(err: unknown): AppError | undefined {
  if (isDatabaseUnavailable(err)) return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly');
  const code = databaseErrorOf(err)?.code;
  switch (code) {
    case '23505':
      return conflict('A record with these values already exists');
    case '23503':
      return notFound('Referenced record');
    case '23514':
      return badInput([{ field: 'input', message: 'Value rejected by a data constraint' }]);
    case '57014':
      return new AppError('SERVICE_UNAVAILABLE', 'The query took too long and was cancelled');
    case '42501':
      return forbidden();
    case '40001':
    case '40P01':
      return conflict('A concurrent change got in the way; retry the request');
    case '25P02':
      // The operation's transaction, aborted by another field's refusal (that field carries its own error).
      return new AppError('BAD_REQUEST', 'Not run: another field of this operation was refused by the database first, and nothing of the operation was kept');
    default:
      return code?.startsWith('22') ? badInput([{ field: 'input', message: 'Value rejected by the database' }]) : undefined;
  }
}

/** Where the pipeline reports what it refused or could not understand. */
export interface ErrorLog {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Fastify's and Node's HTTP errors carry a 4xx `statusCode`; their FST_ codes' messages are safe to show. */
const STATUS_CODES = new Map<number, ErrorCodeName>([
  [400, 'BAD_REQUEST'],
  [404, 'NOT_FOUND'],
  [405, 'METHOD_NOT_ALLOWED'],
  [413, 'PAYLOAD_TOO_LARGE'],
  [414, 'URI_TOO_LONG'],
  [415, 'UNSUPPORTED_MEDIA_TYPE'],
  [431, 'REQUEST_HEADER_FIELDS_TOO_LARGE'],
]);

/** Apollo answers a few request errors without a code: these are the client's fault. */
const APOLLO_UNCODED: Record<string, ErrorCodeName> = {
  'Unsupported persisted query version': 'PERSISTED_QUERY_NOT_SUPPORTED',
  'provided sha does not match query': 'BAD_REQUEST',
  // graphql-js stops coercing variables after 50 errors (e.g. a list of 2,000 bad enum values).
  'Too many errors processing variables, error limit reached. Execution aborted.': 'BAD_USER_INPUT',
};

/**
 * Any thrown value as the error the client sees. Known failures keep their code and details;
 * refusals by the database are logged at info with their SQLSTATE only (never the statement or
 * its values); anything else is a bug: logged at error level and masked.
 */
export function toAppError(err: unknown, log?: ErrorLog): AppError {
  const original = unwrapResolverError(err);
  if (original instanceof AppError) return original;
  const graphql = asGraphQLError(original);
  // A validation error whose cause is ours (a scalar or rule threw an AppError).
  if (graphql?.originalError instanceof AppError) return graphql.originalError;
  if (original && typeof (original as Partial<ClientFacing>).toAppError === 'function') return (original as ClientFacing).toAppError();
  const mapped = fromDatabaseError(original);
  if (mapped) {
    if (mapped.code !== 'SERVICE_UNAVAILABLE') log?.info({ sqlstate: databaseErrorOf(original)?.code, code: mapped.code }, 'request refused by the database');
    return mapped;
  }
  if (graphql && !databaseErrorOf(original)) {
    // Apollo's own request errors (parse, validation, bad request, persisted query) are safe to show.
    const { code, http: _http, ...details } = graphql.extensions;
    // Apollo re-creates errors thrown by plugins (to strip extensions.http): keep our details.
    if (isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR') return new AppError(code, graphql.message, details);
    const uncoded = code === undefined ? APOLLO_UNCODED[graphql.message] : undefined;
    if (uncoded) return new AppError(uncoded, graphql.message);
  }
  const status = (original as { statusCode?: unknown } | undefined)?.statusCode;
  const byStatus = typeof status === 'number' ? STATUS_CODES.get(status) : undefined;
  if (byStatus) {
    const fstCode = (original as { code?: unknown }).code;
    const safe = typeof fstCode === 'string' && fstCode.startsWith('FST_') ? (original as Error).message : undefined;
    return new AppError(byStatus, safe);
  }
  log?.error({ err: original }, 'unexpected error');
  return new AppError('INTERNAL_SERVER_ERROR');
}

/**
 * A GraphQLError from any copy of graphql-js (Apollo and graphql-tools may load the CommonJS build
 * while we import the ESM one, so `instanceof` is not reliable across them).
 */
function asGraphQLError(e: unknown): { message: string; extensions: Record<string, unknown>; originalError?: unknown } | undefined {
  if (!(e instanceof GraphQLError) && Object.prototype.toString.call(e) !== '[object GraphQLError]') return undefined;
  const extensions = (e as { extensions?: unknown }).extensions;
  return typeof extensions === 'object' && extensions !== null ? (e as never) : undefined;
}

/** Apollo's formatError: every GraphQL error the server sends goes through here. */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, log: ErrorLog): GraphQLFormattedError {
  const e = toAppError(error, log);
  const { http: _http, ...extensions } = e.extensions; // the HTTP status travels apart (see withHttpStatus)
  return {
    message: e.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions,
  };
}

/**
 * For errors Apollo answers before any plugin runs (a failed context): the error as a GraphQL error
 * that carries its HTTP status, as Apollo expects (`extensions.http`, removed by formatGraphQLError).
 */
export function withHttpStatus(err: unknown, log?: ErrorLog): GraphQLError {
  const e = toAppError(err, log);
  return new AppError(e.code, e.message, { ...e.extensions, http: { status: ErrorCode[e.code].http } });
}

export interface TransportError<B> {
  status: number;
  headers: Record<string, string>;
  body: B;
}

/** REST routes' one envelope (README "Errors"): always `code`, `message` and `requestId`; `fields` and the like when relevant. */
export interface RestErrorBody {
  error: { code: ErrorCodeName; message: string; requestId: string; fields?: FieldError[]; [detail: string]: unknown };
}

/** The GraphQL response the HTTP layer sends on /graphql when a request never reaches Apollo. */
export interface GraphQLErrorBody {
  errors: [{ message: string; extensions: { code: ErrorCodeName; [detail: string]: unknown } }];
}

function headersOf(e: AppError): Record<string, string> {
  const retryAfter = Number(e.extensions.retryAfter);
  return e.code === 'RATE_LIMITED' && retryAfter > 0 ? { 'retry-after': String(Math.ceil(retryAfter)) } : {};
}

/** Any error as a REST answer. */
export function restErrorBody(err: unknown, requestId: string, log?: ErrorLog): TransportError<RestErrorBody> {
  const e = toAppError(err, log);
  const { code, ...details } = e.extensions as { code: ErrorCodeName };
  return { status: ErrorCode[e.code].http, headers: headersOf(e), body: { error: { code, message: e.message, requestId, ...details } } };
}

/** Any error as a GraphQL response outside execution (Fastify refusing a /graphql request). */
export function graphQLErrorBody(err: unknown, log?: ErrorLog): TransportError<GraphQLErrorBody> {
  const e = toAppError(err, log);
  return { status: ErrorCode[e.code].http, headers: headersOf(e), body: { errors: [{ message: e.message, extensions: { ...(e.extensions as { code: ErrorCodeName }) } }] } };
}
