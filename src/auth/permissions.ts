import { isObjectType, type GraphQLSchema } from 'graphql';
import { allow, chain, rule } from 'graphql-shield';
import { AppError, forbidden } from '../errors.js';
import type { RateLimitContext, RateLimitKind, RateLimits } from './rate-limits.js';
import { peopleOnlyCheck, platformOperatorCheck, roleCheck, selfOrRoleCheck, type Viewer } from './roles.js';
import type { TenantRole } from './tokens.js';

/**
 * The rules the permission map (src/graphql/permissions.ts) is made of. Each is a shield rule over
 * a check in ./roles.ts, so the REST routes call the very same check. Rules return (not throw) their
 * error so shield reports it as is.
 */

/** A shield rule or a combination of rules (chain, and, or…). */
export type ShieldRule = Parameters<typeof chain>[number];

/** What the rules read of the GraphQL context (src/graphql/context.ts builds it; auth sits below graphql). */
export interface PermissionContext extends RateLimitContext {
  viewer(): Promise<Viewer>;
  app: { rateLimits: Pick<RateLimits, 'check'> };
}

type ViewerCheck = (viewer: Viewer, args: Record<string, unknown>) => true | AppError;

/** How each rule below was made, for `accessCheck`: a viewer check, a chain of rules, or a rate limit. */
const made = new WeakMap<object, { check: ViewerCheck } | { chain: ShieldRule[] } | { counts: true }>();

/** A rule over a check of the viewer; a viewer that can't be resolved (suspended tenant, inactive user) answers its error. */
const viewerRule = (name: string, check: ViewerCheck, cache: 'contextual' | 'strict' = 'contextual') => {
  const r = rule(name, { cache })(async (_parent, args: Record<string, unknown>, ctx: PermissionContext) => {
    try {
      return check(await ctx.viewer(), args);
    } catch (err) {
      return err instanceof AppError ? err : Promise.reject(err);
    }
  });
  made.set(r, { check });
  return r;
};

/** shield's chain (every rule in order, the first refusal answers), remembered for `accessCheck`. */
const all = (...rules: ShieldRule[]) => {
  const r = chain(...rules);
  made.set(r, { chain: rules });
  return r;
};

/**
 * Would `viewer` pass the rule's checks of who may call (its rate limits aside, which count calls,
 * not callers)? For answering a field without running it: an idempotent replay
 * (src/http/idempotency.ts) must be refused exactly as the call would be now. A rule not made here
 * (other than `allow`) refuses.
 */
export function accessCheck(r: ShieldRule, viewer: Viewer, args: Record<string, unknown>): true | AppError {
  if (r === allow) return true;
  const how = made.get(r);
  if (!how) return forbidden();
  if ('check' in how) return how.check(viewer, args);
  if ('chain' in how) {
    for (const part of how.chain) {
      const res = accessCheck(part, viewer, args);
      if (res !== true) return res;
    }
  }
  return true;
}

/** One rule per tenant role: `ROLE.ADMIN` admits ADMIN and OWNER (the hierarchy in ./roles.ts). */
const roleRule = (min: TenantRole) => viewerRule(`hasRole:${min}`, (v) => roleCheck(v, min));
export const ROLE = { VIEWER: roleRule('VIEWER'), MEMBER: roleRule('MEMBER'), ADMIN: roleRule('ADMIN'), OWNER: roleRule('OWNER') } satisfies Record<TenantRole, ShieldRule>;

/** For fields on one user (`id` argument): the user themself, or `min` and above. Cached per arguments. */
export const SELF_OR = (min: TenantRole) => viewerRule(`selfOrRole:${min}`, (v, args) => selfOrRoleCheck(v, args.id, min), 'strict');

export const PLATFORM_OPERATOR = viewerRule('isPlatformOperator', platformOperatorCheck);

/** People only: `PEOPLE_ONLY('ADMIN')` admits ADMIN+ users and refuses API keys (keys can't create keys, change SSO/SCIM…). */
const NOT_AN_API_KEY = viewerRule('peopleOnly', peopleOnlyCheck);
export const PEOPLE_ONLY = (min: TenantRole) => all(ROLE[min], NOT_AN_API_KEY);

/**
 * Rate limits (src/auth/rate-limits.ts): graphql-rate-limit rules over the shared Postgres store,
 * configured per app. Chained after the role check, so refused calls don't spend the budget.
 */
const rateLimitRules = new Map<RateLimitKind, ShieldRule>();
/** One rule per kind (shield refuses two rules of one name), shared by every field that uses it. */
export const rateLimit = (kind: RateLimitKind): ShieldRule => {
  let r = rateLimitRules.get(kind);
  if (!r) {
    rateLimitRules.set(kind, (r = rule(`rateLimit:${kind}`, { cache: 'no_cache' })((parent, args, ctx: PermissionContext, info) => ctx.app.rateLimits.check(kind, parent, args, ctx, info))));
    made.set(r, { counts: true });
  }
  return r;
};
const TENANT_BUDGET = rateLimit('TENANT');
const MUTATION_LIMIT = rateLimit('MUTATION');

/** A tenant query: the role, then the tenant's per-minute budget. */
export const tenantQuery = (min: TenantRole) => all(ROLE[min], TENANT_BUDGET);
/** A tenant mutation: the role (a minimum role, or a rule such as SELF_OR), the user's mutation limit, the tenant's budget. */
export const tenantMutation = (role: TenantRole | ShieldRule) => all(typeof role === 'string' ? ROLE[role] : role, MUTATION_LIMIT, TENANT_BUDGET);
/**
 * Who may read or change how people get in: SSO connections, email domains, SSO enforcement and
 * SCIM tokens. A signed-in person with the role; the rule is its own so that every such field is
 * found in one place. Machine credentials (API keys, issue 15) must never pass it: a leaked key must
 * not be able to add an identity provider or mint a SCIM token (that would be a way to mint users).
 */
export const identityAdmin = (min: TenantRole) => all(ROLE[min], NOT_AN_API_KEY, MUTATION_LIMIT, TENANT_BUDGET);
export const identityQuery = (min: TenantRole) => all(ROLE[min], NOT_AN_API_KEY, TENANT_BUDGET);
/** A platform operator's mutation: the operator, then the mutation limit. */
export const operatorMutation = all(PLATFORM_OPERATOR, MUTATION_LIMIT);

type RuleTree = Record<string, ShieldRule | Record<string, ShieldRule>>;
const isFieldMap = (r: unknown): r is Record<string, ShieldRule> => typeof r === 'object' && r !== null && Object.getPrototypeOf(r) === Object.prototype;

/**
 * Start-up check of the map against the executable schema (as Hive's assertAllRulesAreAssigned):
 * with fallbackRule deny a field without a rule is silently refused, so every object type needs a
 * rule for the whole type or one per field, and Query, Mutation and Subscription one per field
 * (a decision per entry point). Names that are not in the schema are reported too (a stale map).
 * Throws one error listing every problem.
 */
export function assertAllRulesAssigned(schema: GraphQLSchema, map: RuleTree): void {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((t) => (t ? [t.name] : [])));
  const problems: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const rules = map[type.name];
    if (!rules) {
      problems.push(`${type.name}: no rule`);
      continue;
    }
    if (!isFieldMap(rules)) {
      if (roots.has(type.name)) problems.push(`${type.name}: needs a rule per field, not one for the whole type`);
      continue;
    }
    const fields = Object.keys(type.getFields());
    for (const field of fields) if (!rules[field]) problems.push(`${type.name}.${field}: no rule`);
    for (const field of Object.keys(rules)) if (!fields.includes(field)) problems.push(`${type.name}.${field}: not a field of the schema`);
  }
  for (const name of Object.keys(map)) if (!isObjectType(schema.getType(name))) problems.push(`${name}: not an object type of the schema`);
  if (problems.length) throw new Error(`The permission map does not cover the schema (fallbackRule is deny):\n  ${problems.join('\n  ')}`);
}
