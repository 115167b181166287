/**
 * The health model: a pure function from signals to a status, so the rules are unit-tested apart
 * from the database and the clock.
 *
 * DOWN      the circuit is open or isolated, most recent calls fail, or the health check fails with
 *           no traffic to say otherwise.
 * DEGRADED  it works, but something needs attention: half-open trial, a failed health check despite
 *           working calls, elevated call or webhook failure ratios, a stale sync, dead letters.
 * HEALTHY   there is evidence it works and nothing above applies.
 * UNKNOWN   no evidence yet (new integration, no calls, never checked).
 */
import type { CircuitStateName } from './types.js';

export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';

export interface HealthSignals {
  breakerState: CircuitStateName;
  /** Failed / all outbound calls in the window; null without calls. */
  failureRatio: number | null;
  callCount: number;
  /** From webhook processing (supplied by the jobs at merge); null when unknown. */
  webhookFailureRatio: number | null;
  lastSuccessfulSyncAgeSeconds: number | null;
  deadLetterCount: number | null;
  /** Result of the last GET /health; null if never checked. */
  lastCheckOk: boolean | null;
}

export interface HealthThresholds {
  /** Ratios only count once the window holds this many calls (one failure in two is noise). */
  minCalls: number;
  degradedFailureRatio: number;
  downFailureRatio: number;
  degradedWebhookFailureRatio: number;
  maxSyncAgeSeconds: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  minCalls: 5,
  degradedFailureRatio: 0.1,
  downFailureRatio: 0.5,
  degradedWebhookFailureRatio: 0.1,
  maxSyncAgeSeconds: 6 * 3600,
};

export interface HealthVerdict {
  status: HealthStatus;
  reason: string;
}

const pct = (r: number) => `${Math.round(r * 100)}%`;

export function evaluateHealth(s: HealthSignals, t: HealthThresholds = DEFAULT_THRESHOLDS): HealthVerdict {
  if (s.breakerState === 'ISOLATED') return { status: 'DOWN', reason: 'Circuit isolated by an administrator' };
  if (s.breakerState === 'OPEN') return { status: 'DOWN', reason: 'Circuit open after consecutive provider failures' };
  const enoughCalls = s.callCount >= t.minCalls && s.failureRatio != null;
  if (enoughCalls && s.failureRatio! >= t.downFailureRatio) return { status: 'DOWN', reason: `${pct(s.failureRatio!)} of recent calls failed` };
  if (s.lastCheckOk === false && !enoughCalls) return { status: 'DOWN', reason: 'Health check failed' };

  const degraded: string[] = [];
  if (s.breakerState === 'HALF_OPEN') degraded.push('Circuit half-open: recovery trial in progress');
  if (s.lastCheckOk === false) degraded.push('Health check failed');
  if (enoughCalls && s.failureRatio! >= t.degradedFailureRatio) degraded.push(`${pct(s.failureRatio!)} of recent calls failed`);
  if (s.webhookFailureRatio != null && s.webhookFailureRatio >= t.degradedWebhookFailureRatio) degraded.push(`${pct(s.webhookFailureRatio)} of webhooks failed processing`);
  if (s.lastSuccessfulSyncAgeSeconds != null && s.lastSuccessfulSyncAgeSeconds > t.maxSyncAgeSeconds) degraded.push('Last successful sync is too old');
  if (s.deadLetterCount != null && s.deadLetterCount > 0) degraded.push(`${s.deadLetterCount} dead-lettered job(s)`);
  if (degraded.length) return { status: 'DEGRADED', reason: degraded.join('; ') };

  const evidence = s.lastCheckOk === true || s.callCount > 0 || s.webhookFailureRatio != null || s.lastSuccessfulSyncAgeSeconds != null;
  return evidence ? { status: 'HEALTHY', reason: 'All signals normal' } : { status: 'UNKNOWN', reason: 'No signals yet' };
}
