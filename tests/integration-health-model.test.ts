import { describe, expect, it } from 'vitest';
import { parseRetryAfter, ProviderHttpError } from '../src/integrations/errors.js';
import { evaluateHealth, type HealthSignals } from '../src/integrations/health.js';
import { RetryAfterBackoff } from '../src/integrations/http-client.js';

const base: HealthSignals = {
  breakerState: 'CLOSED',
  failureRatio: null,
  callCount: 0,
  webhookFailureRatio: null,
  lastSuccessfulSyncAgeSeconds: null,
  deadLetterCount: null,
  lastCheckOk: null,
};

describe('evaluateHealth', () => {
  it('is UNKNOWN without evidence and HEALTHY with a passing check', () => {
    expect(evaluateHealth(base).status).toBe('UNKNOWN');
    expect(evaluateHealth({ ...base, lastCheckOk: true }).status).toBe('HEALTHY');
    expect(evaluateHealth({ ...base, callCount: 3, failureRatio: 0 }).status).toBe('HEALTHY');
  });

  it('is DOWN when the circuit is open or isolated, whatever else says', () => {
    expect(evaluateHealth({ ...base, breakerState: 'OPEN', lastCheckOk: true })).toMatchObject({ status: 'DOWN', reason: expect.stringMatching(/open/i) });
    expect(evaluateHealth({ ...base, breakerState: 'ISOLATED' })).toMatchObject({ status: 'DOWN', reason: expect.stringMatching(/isolated/i) });
  });

  it('uses the failure ratio only with enough calls', () => {
    expect(evaluateHealth({ ...base, callCount: 2, failureRatio: 1, lastCheckOk: true }).status).toBe('HEALTHY');
    expect(evaluateHealth({ ...base, callCount: 10, failureRatio: 0.6 }).status).toBe('DOWN');
    expect(evaluateHealth({ ...base, callCount: 10, failureRatio: 0.2 }).status).toBe('DEGRADED');
    expect(evaluateHealth({ ...base, callCount: 10, failureRatio: 0.05 }).status).toBe('HEALTHY');
  });

  it('is DOWN on a failed check without traffic, DEGRADED on a failed check with working traffic', () => {
    expect(evaluateHealth({ ...base, lastCheckOk: false }).status).toBe('DOWN');
    expect(evaluateHealth({ ...base, lastCheckOk: false, callCount: 20, failureRatio: 0 }).status).toBe('DEGRADED');
  });

  it('is DEGRADED for half-open, webhook failures, stale sync and dead letters, listing every reason', () => {
    expect(evaluateHealth({ ...base, breakerState: 'HALF_OPEN' }).status).toBe('DEGRADED');
    const v = evaluateHealth({ ...base, lastCheckOk: true, webhookFailureRatio: 0.5, lastSuccessfulSyncAgeSeconds: 7 * 3600, deadLetterCount: 2 });
    expect(v.status).toBe('DEGRADED');
    expect(v.reason).toMatch(/webhooks.*sync.*dead-letter/);
  });
});

describe('Retry-After', () => {
  it('parses seconds and HTTP dates', () => {
    expect(parseRetryAfter('1')).toBe(1000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });

  it('waits at least Retry-After, at most the cap, and jitters otherwise', () => {
    const b = new RetryAfterBackoff({ retryBaseMs: 100, retryMaxMs: 1000, retryAfterCapMs: 30_000 });
    const ctx = (error: Error, attempt = 1) => ({ attempt, signal: new AbortController().signal, result: { error } });
    expect(b.next(ctx(new ProviderHttpError(429, 'x', 2000))).duration).toBeGreaterThanOrEqual(2000);
    expect(b.next(ctx(new ProviderHttpError(503, 'x', 120_000))).duration).toBe(30_000);
    for (let i = 0; i < 20; i++) expect(b.next(ctx(new ProviderHttpError(503, 'x'), 3)).duration).toBeLessThanOrEqual(400);
  });
});
