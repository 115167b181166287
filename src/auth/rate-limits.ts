import type { GraphQLResolveInfo } from 'graphql';
import type postgres from 'postgres';
import { createRateLimitRule, type GraphQLRateLimitDirectiveArgs } from 'graphql-rate-limit';
import type { IRule } from 'graphql-shield';
import { sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { RequestScope } from '../db/tenant-transaction.js';
import { AppError, fromDatabaseError } from '../errors.js';
import { PostgresRateLimitStore, type RateLimitStoreOptions } from './rate-limit-store.js';
import type { AccessClaims } from './tokens.js';

/** What the limits read of the GraphQL context (src/graphql/context.ts builds it; auth sits below graphql). */
export interface RateLimitContext {
  request: { clientIp?: string | undefined };
  /** The tenant the request's X-Tenant header or host names (password-reset limits count per tenant + email). */
  address?: { header?: string | undefined; host?: string | undefined };
  claims: AccessClaims | null;
  scope: RequestScope | null;
}

/**
 * The limits the permission map names (src/graphql/permissions.ts):
 *  - AUTH:     login / platformLogin per client IP + tenant + email, refreshSession per IP + tenant;
 *  - MUTATION: every mutation, per user (anonymous callers: per IP);
 *  - TENANT:   every root field of a tenant user, per tenant per minute, by the tenant's plan;
 *  - PASSWORD_RESET: requestPasswordReset per client IP, and per tenant + email whoever asks (both must pass);
 *  - TOKEN:    the single-use-link mutations (acceptInvitation, resetPassword, confirmEmailChange) per client IP, as login.
 * Each is a graphql-rate-limit `createRateLimitRule` over the shared Postgres store, with
 * `enableBatchRequestCache` so aliases of one field in one request count one by one.
 */
export type RateLimitKind = 'LOGIN' | 'PLATFORM_LOGIN' | 'REFRESH' | 'MUTATION' | 'TENANT' | 'PASSWORD_RESET' | 'TOKEN';
type Plan = 'FREE' | 'STARTER' | 'PRO' | 'ENTERPRISE';

const requestKeys = new WeakMap<object, string>();
let nextRequestKey = 0;
/** A key per GraphQL context that the client can't choose (unlike x-request-id): see the store's note. */
function requestKeyOf(ctx: object): string {
  let key = requestKeys.get(ctx);
  if (!key) requestKeys.set(ctx, (key = (nextRequestKey++).toString(36)));
  return key;
}

const lower = (s: string) => s.trim().toLowerCase();
/** rt_<tenant uuid>_<secret> → the tenant: refresh is limited per IP + tenant, not per (guessable) token. */
const refreshTenant = (fieldIdentity: string) => /^refreshSession:rt_([0-9a-f-]{36})_/.exec(fieldIdentity)?.[1] ?? 'invalid';

interface Limiter {
  store: PostgresRateLimitStore;
  /** One library rule per distinct max and identity args (TENANT has one per plan, sharing the counter). */
  rule(max: number, identityArgs?: readonly string[]): IRule;
}

export class RateLimits {
  readonly enabled: boolean;
  private readonly limiters: Record<'AUTH' | 'REFRESH' | 'MUTATION' | 'TENANT' | 'RESET_IP' | 'RESET_EMAIL' | 'TOKEN', Limiter>;
  private readonly plans = new Map<string, { plan: Plan; until: number }>();
  /** Tenants refused by their budget: until when (this process's view; see tenantOverBudget). */
  private readonly overBudget = new Map<string, number>();
  private readonly scim: PostgresRateLimitStore;

  constructor(
    private readonly config: Config,
    private readonly client: postgres.Sql,
  ) {
    this.enabled = config.RATE_LIMITS_ENABLED;
    this.scim = new PostgresRateLimitStore(client, { namespace: 'scim', windowMs: 60_000, perField: false });
    const authWindow = config.RATE_LIMIT_AUTH_WINDOW_SECONDS * 1000;
    const resetWindow = config.RATE_LIMIT_PASSWORD_RESET_WINDOW_SECONDS * 1000;
    this.limiters = {
      AUTH: this.limiter(client, { namespace: 'auth', windowMs: authWindow, perField: true, fieldKey: lower }, (ctx) => `ip:${ctx.request.clientIp ?? ''}`),
      REFRESH: this.limiter(client, { namespace: 'refresh', windowMs: authWindow, perField: true, fieldKey: refreshTenant }, (ctx) => `ip:${ctx.request.clientIp ?? ''}`),
      MUTATION: this.limiter(client, { namespace: 'mutation', windowMs: 60_000, perField: false }, (ctx) =>
        ctx.claims?.kind === 'user' ? `user:${ctx.claims.tenantId}:${ctx.claims.userId}` : ctx.claims?.kind === 'platform' ? `op:${ctx.claims.operatorId}` : `ip:${ctx.request.clientIp ?? ''}`,
      ),
      TENANT: this.limiter(client, { namespace: 'tenant', windowMs: 60_000, perField: false }, (ctx) => `tenant:${ctx.claims?.kind === 'user' ? ctx.claims.tenantId : ''}`),
      RESET_IP: this.limiter(client, { namespace: 'pwreset-ip', windowMs: resetWindow, perField: false }, (ctx) => `ip:${ctx.request.clientIp ?? ''}`),
      // Per tenant + email, from any IP: the tenant is the argument, else the address (header, host).
      RESET_EMAIL: this.limiter(client, { namespace: 'pwreset-email', windowMs: resetWindow, perField: true, fieldKey: lower }, (ctx) =>
        `addr:${(ctx.address?.header ?? ctx.address?.host ?? '').trim().toLowerCase().slice(0, 300)}`,
      ),
      TOKEN: this.limiter(client, { namespace: 'token', windowMs: authWindow, perField: false }, (ctx) => `ip:${ctx.request.clientIp ?? ''}`),
    };
  }

  private limiter(client: postgres.Sql, options: RateLimitStoreOptions, identify: (ctx: RateLimitContext) => string): Limiter {
    const store = new PostgresRateLimitStore(client, options);
    const rules = new Map<string, IRule>();
    const window = `${options.windowMs}ms`;
    return {
      store,
      rule: (max, identityArgs) => {
        const key = `${max}:${identityArgs?.join(',') ?? ''}`;
        let r = rules.get(key);
        if (!r) {
          // One library config per max: the store reads the max from the context identity (for leases).
          const factory = createRateLimitRule({
            store,
            enableBatchRequestCache: true,
            identifyContext: (ctx: RateLimitContext) => `${requestKeyOf(ctx)}|${max}|${identify(ctx)}`,
            formatError: () => `Too many requests: at most ${max} per ${options.windowMs / 1000} s`,
            createError: (message) => new AppError('RATE_LIMITED', message, { retryAfter: store.retryAfterSeconds() }),
          });
          rules.set(key, (r = factory({ max, window, identityArgs })));
        }
        return r;
      },
    };
  }

  /**
   * For REST routes without a GraphQL context (the SSO start and callback, which write flow state for
   * anonymous callers): counts one call of `route` by client IP in the auth window, at most
   * RATE_LIMIT_LOGIN_MAX. Shares the TOKEN limiter's store under its own identity.
   */
  async checkIp(route: string, clientIp: string | undefined): Promise<true | AppError> {
    if (!this.enabled) return true;
    const store = this.limiters.TOKEN.store;
    const hits = await store.hit(`rest:${route}|ip:${clientIp ?? ''}`);
    if (hits <= this.config.RATE_LIMIT_LOGIN_MAX) return true;
    return new AppError('RATE_LIMITED', `Too many requests: at most ${this.config.RATE_LIMIT_LOGIN_MAX} per ${this.config.RATE_LIMIT_AUTH_WINDOW_SECONDS} s`, { retryAfter: store.retryAfterSeconds() });
  }

  /**
   * A SCIM request (src/http/scim.ts, no GraphQL context): counts one call of the token in the
   * current minute, at most RATE_LIMIT_SCIM_PER_MINUTE. Directories (Okta, Entra ID) back off on 429
   * with Retry-After.
   */
  async checkScimToken(tokenId: string): Promise<true | AppError> {
    if (!this.enabled) return true;
    const hits = await this.scim.hit(`token:${tokenId}`);
    if (hits <= this.config.RATE_LIMIT_SCIM_PER_MINUTE) return true;
    return new AppError('RATE_LIMITED', `Too many requests: at most ${this.config.RATE_LIMIT_SCIM_PER_MINUTE} per minute per SCIM token`, { retryAfter: this.scim.retryAfterSeconds() });
  }

  close(): Promise<void> {
    return this.client.end({ timeout: 5 });
  }

  /** Runs one limit for a field; true, or the RATE_LIMITED error. Store failures answer like the database does. */
  async check(kind: RateLimitKind, parent: unknown, args: Record<string, unknown>, ctx: RateLimitContext, info: GraphQLResolveInfo): Promise<true | Error> {
    if (!this.enabled) return true;
    if (kind === 'PASSWORD_RESET') {
      // Both must pass: the IP's budget first, so one IP can't exhaust many addresses' budgets.
      const byIp = await this.run(this.limiters.RESET_IP, this.config.RATE_LIMIT_PASSWORD_RESET_IP_MAX, undefined, parent, args, ctx, info);
      if (byIp !== true) return byIp;
      return this.run(this.limiters.RESET_EMAIL, this.config.RATE_LIMIT_PASSWORD_RESET_EMAIL_MAX, ['tenantSlug', 'email'], parent, args, ctx, info);
    }
    if (kind === 'TOKEN') return this.run(this.limiters.TOKEN, this.config.RATE_LIMIT_LOGIN_MAX, undefined, parent, args, ctx, info);
    let limiter: Limiter;
    let max: number;
    let fieldConfig: Pick<GraphQLRateLimitDirectiveArgs, 'identityArgs'> = {};
    switch (kind) {
      case 'LOGIN':
      case 'PLATFORM_LOGIN':
        limiter = this.limiters.AUTH;
        max = this.config.RATE_LIMIT_LOGIN_MAX;
        fieldConfig = { identityArgs: kind === 'LOGIN' ? ['input.tenantSlug', 'input.email'] : ['email'] };
        break;
      case 'REFRESH':
        limiter = this.limiters.REFRESH;
        max = this.config.RATE_LIMIT_REFRESH_MAX;
        fieldConfig = { identityArgs: ['refreshToken'] };
        break;
      case 'MUTATION':
        limiter = this.limiters.MUTATION;
        max = this.config.RATE_LIMIT_MUTATIONS_PER_MINUTE;
        break;
      case 'TENANT': {
        if (ctx.claims?.kind !== 'user' || !ctx.scope) return true; // no tenant, no tenant budget
        const tenantId = ctx.claims.tenantId;
        const result = await this.run(this.limiters.TENANT, this.budget(await this.planOf(ctx)), undefined, parent, args, ctx, info);
        if (result instanceof AppError && result.code === 'RATE_LIMITED') {
          if (this.overBudget.size > 10_000) this.overBudget.clear();
          this.overBudget.set(tenantId, Date.now() + Number(result.extensions.retryAfter ?? 1) * 1000);
        }
        return result;
      }
    }
    return this.run(limiter, max, fieldConfig.identityArgs, parent, args, ctx, info);
  }

  /**
   * Whether this process refused the tenant's budget in a window that has not ended yet. Read-ahead
   * (src/graphql/read-ahead.ts) asks, so a tenant over its budget costs the database no reads: its
   * requests are refused after app_begin, as before read-ahead.
   */
  tenantOverBudget(tenantId: string): boolean {
    const until = this.overBudget.get(tenantId);
    return until !== undefined && until > Date.now();
  }

  private async run(limiter: Limiter, max: number, identityArgs: readonly string[] | undefined, parent: unknown, args: Record<string, unknown>, ctx: RateLimitContext, info: GraphQLResolveInfo): Promise<true | Error> {
    try {
      const rule = limiter.rule(max, identityArgs);
      const result = await rule.resolve(parent as object, args, ctx as never, info, SHIELD_OPTIONS);
      return result === true ? true : result instanceof Error ? result : new AppError('RATE_LIMITED');
    } catch (err) {
      const mapped = fromDatabaseError(err);
      if (mapped) return mapped;
      throw err;
    }
  }

  private budget(plan: Plan): number {
    const c = this.config;
    return { FREE: c.RATE_LIMIT_TENANT_FREE_PER_MINUTE, STARTER: c.RATE_LIMIT_TENANT_STARTER_PER_MINUTE, PRO: c.RATE_LIMIT_TENANT_PRO_PER_MINUTE, ENTERPRISE: c.RATE_LIMIT_TENANT_ENTERPRISE_PER_MINUTE }[plan];
  }

  /** The tenant's plan, cached for a minute per process (a plan change reaches the budget within a minute). */
  private async planOf(ctx: RateLimitContext): Promise<Plan> {
    const tenantId = (ctx.claims as { tenantId: string }).tenantId;
    const cached = this.plans.get(tenantId);
    if (cached && cached.until > Date.now()) return cached.plan;
    const rows = (await ctx.scope!.read((tx) => tx.execute(sql`select plan from tenants`))) as unknown as { plan: Plan }[];
    const plan = rows[0]?.plan ?? 'FREE';
    if (this.plans.size > 10_000) this.plans.clear();
    this.plans.set(tenantId, { plan, until: Date.now() + 60_000 });
    return plan;
  }
}

/** Rules are resolved by hand here; debug makes store errors throw (mapped above) instead of a silent deny. */
const SHIELD_OPTIONS = { debug: true, allowExternalErrors: true } as unknown as Parameters<IRule['resolve']>[4];
