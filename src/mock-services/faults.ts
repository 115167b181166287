/**
 * Fault injection, switchable at run time per provider: outage (503), random 500s, added latency
 * and rate limiting (429 + Retry-After). Tests and benchmarks drive it through /_control/faults.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createRng, type Rng } from './data.js';
import { errorBody } from './errors.js';
import { SERVICES, type ServiceName } from './types.js';

export interface FaultConfig {
  errorRate: number;
  latencyMs: number;
  down: boolean;
  rateLimit: { retryAfterSeconds: number } | null;
  /** communication-service: share of sent messages that bounce, and how long until a message's status (and its webhook) comes. */
  bounceRate: number;
  deliveryDelayMs: number;
}

export const faultUpdateSchema = z.object({
  service: z.enum(SERVICES).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  down: z.boolean().optional(),
  rateLimit: z.object({ retryAfterSeconds: z.number().int().min(0) }).nullable().optional(),
  bounceRate: z.number().min(0).max(1).optional(),
  deliveryDelayMs: z.number().int().min(0).max(600_000).optional(),
});
export type FaultUpdate = z.infer<typeof faultUpdateSchema>;

const NO_FAULTS: FaultConfig = { errorRate: 0, latencyMs: 0, down: false, rateLimit: null, bounceRate: 0, deliveryDelayMs: 200 };

export class FaultRegistry {
  private configs = allServices(NO_FAULTS);
  // Seeded so that an errorRate run is reproducible from a fresh start.
  private rng: Rng = createRng(7);

  get(service: ServiceName): FaultConfig {
    return this.configs[service];
  }

  /** Merges the given fields into one service's faults, or every service's when none is named. */
  update({ service, ...fields }: FaultUpdate): void {
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    for (const name of service ? [service] : SERVICES) this.configs[name] = { ...this.configs[name], ...defined };
  }

  clear(service?: ServiceName): void {
    for (const name of service ? [service] : SERVICES) this.configs[name] = NO_FAULTS;
  }

  snapshot(): Record<ServiceName, FaultConfig> {
    return { ...this.configs };
  }

  /** True for roughly errorRate of calls. */
  shouldFail(errorRate: number): boolean {
    return errorRate > 0 && this.rng() < errorRate;
  }
}

/** onRequest hook for one provider; it runs before auth, because an outage does not check credentials. */
export function faultHook(faults: FaultRegistry, service: ServiceName) {
  return async (_request: FastifyRequest, reply: FastifyReply) => {
    const config = faults.get(service);
    if (config.latencyMs > 0) await sleep(config.latencyMs);
    if (config.down) return reply.code(503).send(errorBody('SERVICE_UNAVAILABLE', `${service} is down`));
    if (config.rateLimit) {
      return reply
        .code(429)
        .header('retry-after', String(config.rateLimit.retryAfterSeconds))
        .send(errorBody('RATE_LIMITED', 'Too many requests'));
    }
    if (faults.shouldFail(config.errorRate)) return reply.code(500).send(errorBody('INTERNAL', 'Injected failure'));
  };
}

function allServices<T>(value: T): Record<ServiceName, T> {
  return Object.fromEntries(SERVICES.map((s) => [s, value])) as Record<ServiceName, T>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
