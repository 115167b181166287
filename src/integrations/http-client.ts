/**
 * Outbound HTTP to providers, one client per integration, built from cockatiel policies:
 *
 *   retry (idempotent requests only) → shared-circuit admission → bulkhead (per provider)
 *     → circuit breaker (per integration) → timeout (cooperative: aborts the fetch) → fetch
 *
 * - Retry sits outside everything, so a backoff wait holds no bulkhead slot and every attempt is
 *   re-admitted (an attempt after the circuit opened fails fast). It retries only GET/HEAD or
 *   requests carrying an Idempotency-Key, only retriable failures (never CircuitOpenError), with
 *   exponential backoff and full jitter, and waits at least the provider's Retry-After (capped).
 * - The bulkhead is outside the breaker so that "too busy here" never counts as a provider failure.
 * - The breaker counts timeouts, network errors and 5xx; 4xx and 429 are the provider answering.
 */
import crypto from 'node:crypto';
import { fetch } from 'undici';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  handleWhen,
  retry,
  timeout,
  type BulkheadPolicy,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import type { Metrics, OutboundOutcome } from '../metrics.js';
import type { CallStatsRecorder } from './call-stats.js';
import type { CircuitRegistry } from './circuit-registry.js';
import { CircuitOpenError, ProviderHttpError, ProviderUnavailableError, isProviderFailure, isRetriable, parseRetryAfter } from './errors.js';
import type { Provider } from '../db/providers.js';
import type { IntegrationTarget } from './types.js';
import { OutboundAddressRefused, type OutboundPolicy } from './outbound-policy.js';

export interface OutboundOptions {
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retryAfterCapMs: number;
  bulkheadLimit: number;
  bulkheadQueue: number;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Makes a non-GET request safe to retry; the provider must deduplicate on it. */
  idempotencyKey?: string;
}

export interface ProviderResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * Exponential backoff with full jitter, except that a Retry-After from the provider (429/503) is a
 * floor: we never come back sooner than it asked, and never wait longer than the cap.
 */
export class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly o: Pick<OutboundOptions, 'retryBaseMs' | 'retryMaxMs' | 'retryAfterCapMs'>) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const exp = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.max(0, context.attempt - 1));
    const jittered = Math.random() * exp;
    const error = 'error' in context.result ? context.result.error : undefined;
    const hinted = error instanceof ProviderHttpError ? error.retryAfterMs : null;
    const duration = hinted == null ? jittered : Math.min(this.o.retryAfterCapMs, Math.max(hinted, jittered));
    return { duration, next: (c) => this.next(c) };
  }
}

export interface OutboundDeps {
  circuits: CircuitRegistry;
  stats: CallStatsRecorder;
  metrics: Metrics;
  options: OutboundOptions;
  /** Where calls may connect (SSRF): every connection's resolved addresses are checked. */
  policy: OutboundPolicy;
}

/** The process's outbound clients: one per integration, one bulkhead per provider. */
export class OutboundClients {
  private clients = new Map<string, IntegrationClient>();
  private bulkheads = new Map<Provider, BulkheadPolicy>();
  private readonly retryPolicy: RetryPolicy;
  private readonly timeoutPolicy: TimeoutPolicy;

  constructor(readonly deps: OutboundDeps) {
    const o = deps.options;
    // maxAttempts is the number of retries; without it cockatiel retries forever (STACK.md).
    this.retryPolicy = retry(handleWhen(isRetriable), { maxAttempts: o.maxRetries, backoff: new RetryAfterBackoff(o) });
    this.timeoutPolicy = timeout(o.timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
  }

  client(target: IntegrationTarget): IntegrationClient {
    const existing = this.clients.get(target.id);
    if (existing && sameTarget(existing.target, target)) return existing;
    const created = new IntegrationClient(target, this.deps, this.bulkheadFor(target.provider), this.retryPolicy, this.timeoutPolicy);
    this.clients.set(target.id, created);
    return created;
  }

  private bulkheadFor(provider: Provider): BulkheadPolicy {
    let b = this.bulkheads.get(provider);
    if (!b) {
      b = bulkhead(this.deps.options.bulkheadLimit, this.deps.options.bulkheadQueue);
      this.bulkheads.set(provider, b);
    }
    return b;
  }
}

export class IntegrationClient {
  constructor(
    readonly target: IntegrationTarget,
    private readonly deps: OutboundDeps,
    private readonly bulkheadPolicy: BulkheadPolicy,
    private readonly retryPolicy: RetryPolicy,
    private readonly timeoutPolicy: TimeoutPolicy,
  ) {}

  get<T = unknown>(path: string, opts: Omit<RequestOptions, 'body'> = {}) {
    return this.request<T>('GET', path, opts);
  }

  post<T = unknown>(path: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}) {
    return this.request<T>('POST', path, { ...opts, body });
  }

  /** Throws ProviderHttpError, ProviderUnavailableError or CircuitOpenError; see the module comment. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ProviderResponse<T>> {
    const upper = method.toUpperCase();
    const idempotent = upper === 'GET' || upper === 'HEAD' || !!opts.idempotencyKey;
    const attempt = () => this.attempt<T>(upper, path, opts);
    return idempotent ? this.retryPolicy.execute(attempt) : attempt();
  }

  private async attempt<T>(method: string, path: string, opts: RequestOptions): Promise<ProviderResponse<T>> {
    const { circuits, stats, metrics } = this.deps;
    const provider = this.target.provider;
    let admission;
    try {
      admission = await circuits.admit(this.target);
    } catch (err) {
      metrics.outboundCalls.inc({ provider, outcome: 'circuit_open' });
      throw err;
    }
    const breaker = circuits.breaker(this.target);
    const started = performance.now();
    try {
      const res = await this.bulkheadPolicy.execute(() => breaker.execute(() => this.timeoutPolicy.execute(({ signal }) => this.fetchOnce<T>(method, path, opts, signal))));
      metrics.outboundCalls.inc({ provider, outcome: 'success' });
      metrics.outboundDuration.observe({ provider }, (performance.now() - started) / 1000);
      stats.record(this.target, true);
      if (admission === 'trial') circuits.trialSucceeded(this.target);
      return res;
    } catch (raw) {
      const err = this.translate(raw);
      const outcome = outcomeOf(err);
      metrics.outboundCalls.inc({ provider, outcome });
      if (outcome !== 'circuit_open' && outcome !== 'bulkhead_full') {
        metrics.outboundDuration.observe({ provider }, (performance.now() - started) / 1000);
        // 429 is neither: the provider is up and asking us to slow down.
        if (outcome !== 'rate_limited') stats.record(this.target, !isProviderFailure(err));
      }
      if (admission === 'trial') {
        if (isProviderFailure(err)) circuits.trialFailed(this.target, err);
        else if (err instanceof ProviderHttpError) circuits.trialSucceeded(this.target);
      }
      throw err;
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
      return new CircuitOpenError(this.target.id, err instanceof IsolatedCircuitError ? 'ISOLATED' : 'OPEN');
    }
    if (err instanceof BulkheadRejectedError) return new ProviderUnavailableError('BULKHEAD_FULL', `Too many concurrent calls to ${this.target.provider}`, { cause: err });
    if (err instanceof TaskCancelledError) return new ProviderUnavailableError('TIMEOUT', `No answer within ${this.deps.options.timeoutMs} ms`, { cause: err });
    return err;
  }

  private async fetchOnce<T>(method: string, path: string, opts: RequestOptions, signal: AbortSignal): Promise<ProviderResponse<T>> {
    const url = `${this.target.baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.target.apiKey}`,
      'x-request-id': crypto.randomUUID(),
      ...opts.headers,
    };
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let response: Awaited<ReturnType<typeof fetch>>;
    let text: string;
    try {
      // The policy's dispatcher refuses, before the socket opens, any address that is not allowed (DNS rebinding included).
      const dispatcher = this.deps.policy.dispatcher();
      response = await fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal, redirect: 'error', dispatcher });
      text = await response.text();
    } catch (err) {
      if (signal.aborted) throw new ProviderUnavailableError('TIMEOUT', `No answer within ${this.deps.options.timeoutMs} ms`, { cause: err });
      const refused = (err as { cause?: unknown }).cause;
      if (refused instanceof OutboundAddressRefused) throw new ProviderUnavailableError('ADDRESS_REFUSED', `Refused to connect to ${refused.message}`, { cause: err });
      throw new ProviderUnavailableError('NETWORK', `Could not reach ${this.target.provider}`, { cause: err });
    }
    if (!response.ok) {
      throw new ProviderHttpError(response.status, `${this.target.provider} answered ${response.status} to ${method} ${path}`, parseRetryAfter(response.headers.get('retry-after')));
    }
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }
}

function outcomeOf(err: unknown): OutboundOutcome {
  if (err instanceof CircuitOpenError) return 'circuit_open';
  if (err instanceof ProviderUnavailableError) return err.reason === 'TIMEOUT' ? 'timeout' : err.reason === 'BULKHEAD_FULL' ? 'bulkhead_full' : 'network';
  if (err instanceof ProviderHttpError) return err.status === 429 ? 'rate_limited' : err.status >= 500 ? 'http_5xx' : 'http_4xx';
  return 'network';
}

function sameTarget(a: IntegrationTarget, b: IntegrationTarget): boolean {
  return a.tenantId === b.tenantId && a.provider === b.provider && a.baseUrl === b.baseUrl && a.apiKey === b.apiKey;
}
