/**
 * Typed outcomes of an outbound call, so callers (jobs, health checks) can decide what to do.
 * Each says what it means to a client (`toAppError`, read by the error pipeline in src/errors.ts)
 * should one ever reach a response.
 */
import { AppError, toAppError, type ClientFacing } from '../errors.js';

/** ADDRESS_REFUSED: the outbound policy refused the address the host resolved to (SSRF); nothing was sent. */
export type UnavailableReason = 'TIMEOUT' | 'NETWORK' | 'BULKHEAD_FULL' | 'ADDRESS_REFUSED';

/** The provider could not be reached or answered too late (no HTTP status to report). */
export class ProviderUnavailableError extends Error implements ClientFacing {
  override name = 'ProviderUnavailableError';
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  toAppError(): AppError {
    return new AppError('SERVICE_UNAVAILABLE', 'The provider is unavailable');
  }
}

/** The integration's circuit is open (here or in another process) or isolated: the call was not made. */
export class CircuitOpenError extends Error implements ClientFacing {
  override name = 'CircuitOpenError';
  constructor(
    readonly integrationId: string,
    readonly state: 'OPEN' | 'HALF_OPEN' | 'ISOLATED',
  ) {
    super(`Circuit for integration ${integrationId} is ${state}; call not attempted`);
  }
  toAppError(): AppError {
    return new AppError('SERVICE_UNAVAILABLE', 'The provider is unavailable');
  }
}

/** The provider answered with a non-2xx status. */
export class ProviderHttpError extends Error implements ClientFacing {
  override name = 'ProviderHttpError';
  constructor(
    readonly status: number,
    message: string,
    /** Parsed Retry-After, in ms, when the provider sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
  toAppError(): AppError {
    return this.status === 429
      ? new AppError('RATE_LIMITED', 'The provider is rate limiting us', this.retryAfterMs != null ? { retryAfter: Math.ceil(this.retryAfterMs / 1000) } : {})
      : new AppError('SERVICE_UNAVAILABLE', `The provider answered ${this.status}`);
  }
}

/** Counts against the breaker and the failure ratio: the provider is failing, not our request. */
export function isProviderFailure(err: unknown): boolean {
  if (err instanceof ProviderUnavailableError) return err.reason !== 'BULKHEAD_FULL';
  return err instanceof ProviderHttpError && err.status >= 500;
}

/** Worth another attempt (only ever asked for idempotent requests). */
export function isRetriable(err: unknown): boolean {
  if (err instanceof ProviderUnavailableError) return err.reason !== 'BULKHEAD_FULL' && err.reason !== 'ADDRESS_REFUSED';
  if (err instanceof ProviderHttpError) return err.status === 429 || err.status === 500 || err.status === 502 || err.status === 503 || err.status === 504;
  return false; // CircuitOpenError, BrokenCircuitError, programming errors: never
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unparsable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** A job's expected failure whose message we wrote for the tenant (e.g. "The integration was deleted"). */
export class JobFailure extends Error {}

/**
 * A background failure as stored for clients to read (a webhook event's, push's or message's
 * lastError, a sync run's error, a circuit's reason). An outbound call's or a JobFailure's message is
 * ours to show (what we called, what it answered); anything else is the error pipeline's client-safe
 * answer (src/errors.ts), "CODE: message": a database refusal by its code, never the statement or its
 * values; anything not understood masked. The caller logs the full error for operators.
 */
export function failureMessage(err: unknown): string {
  if (err instanceof ProviderUnavailableError || err instanceof CircuitOpenError || err instanceof ProviderHttpError || err instanceof JobFailure) return err.message.slice(0, 2000);
  const e = toAppError(err);
  return e.code === 'INTERNAL_SERVER_ERROR' ? 'INTERNAL_SERVER_ERROR: Internal error (see the server log)' : `${e.code}: ${e.message}`.slice(0, 2000);
}
