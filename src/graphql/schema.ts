import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLScalarType, type GraphQLSchema } from 'graphql';
import { dateProblem } from '../validation.js';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { mergeResolvers } from '@graphql-tools/merge';
import { applyMiddleware, middleware } from 'graphql-middleware';
import { allow } from 'graphql-shield';
import { DateTimeResolver, EmailAddressResolver, JSONResolver, UUIDResolver } from 'graphql-scalars';
import { assertAllRulesAssigned } from '../auth/permissions.js';
import { auditResolvers } from '../modules/audit/resolvers.js';
import { authResolvers } from '../modules/auth/resolvers.js';
import { organizationResolvers } from '../modules/organizations/resolvers.js';
import { tenantResolvers } from '../modules/tenants/resolvers.js';
import { userResolvers } from '../modules/users/resolvers.js';
import type { Resolvers } from './generated/resolvers-types.js';
import { heartbeatResolvers } from './heartbeat.js';
import { permissionMap, permissions, READ_AHEAD_FIELDS } from './permissions.js';
import { readAheadRootQueries } from './read-ahead.js';
import { integrationHealthResolvers } from '../modules/integration-health/resolvers.js';
import { integrationResolvers } from '../modules/integrations/resolvers.js';
import { webhookResolvers } from '../modules/webhooks/resolvers.js';
import { pushResolvers } from '../modules/pushes/resolvers.js';
import { syncResolvers } from '../modules/sync/resolvers.js';
import { invitationResolvers } from '../modules/invitations/resolvers.js';
import { accountResolvers } from '../modules/account/resolvers.js';
import { sessionResolvers } from '../modules/sessions/resolvers.js';
import { apiKeyResolvers } from '../modules/api-keys/resolvers.js';
import { importResolvers } from '../modules/imports/resolvers.js';
import { scimResolvers } from '../modules/scim/resolvers.js';
import { ssoResolvers } from '../modules/sso/resolvers.js';

const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema');

export function loadTypeDefs(): string[] {
  return fs
    .readdirSync(schemaDir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => fs.readFileSync(path.join(schemaDir, f), 'utf8'));
}

/** graphql-scalars' DateTime, refusing instants Postgres can't store (years outside 1–9999). */
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  parseValue: (value) => storable(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast, variables) => storable(DateTimeResolver.parseLiteral(ast, variables)),
});
function storable(d: unknown): unknown {
  const problem = d instanceof Date ? dateProblem(d) : undefined;
  if (problem) throw new TypeError(`DateTime out of range: ${problem}`);
  return d;
}

/**
 * graphql-scalars' UUID, in its canonical form and lower case: Postgres compares uuids regardless of case, so
 * an upper-case id names the same row while an id compared as text ("is it me?") would not match.
 */
const UUID = new GraphQLScalarType({
  ...UUIDResolver.toConfig(),
  parseValue: (value) => canonicalUuid(UUIDResolver.parseValue(value)),
  parseLiteral: (ast, variables) => canonicalUuid(UUIDResolver.parseLiteral(ast, variables)),
});
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Also only the 8-4-4-4-12 form: graphql-scalars lets "<uuid>}" through, which Postgres refuses mid-transaction. */
const canonicalUuid = (id: unknown): unknown => {
  const canonical = typeof id === 'string' ? id.toLowerCase() : id;
  if (typeof canonical !== 'string' || !CANONICAL_UUID.test(canonical)) throw new TypeError(`Value is not a valid UUID: ${String(id).slice(0, 60)}`);
  return canonical;
};

const scalars: Resolvers = { DateTime, EmailAddress: EmailAddressResolver, UUID, JSON: JSONResolver };
const root: Resolvers = { Query: { health: () => 'ok' } };

/**
 * SDL from schema/, resolvers from each module, the permission map around all of it. Throws (so the
 * server refuses to start) when the map leaves a field of the schema without a rule.
 */
export function buildSchema(typeDefs: string[] = loadTypeDefs()): GraphQLSchema {
  const resolvers = mergeResolvers([scalars, root, heartbeatResolvers, authResolvers, tenantResolvers, userResolvers, organizationResolvers, integrationHealthResolvers, integrationResolvers, webhookResolvers, syncResolvers, pushResolvers, auditResolvers, scimResolvers, apiKeyResolvers, invitationResolvers, accountResolvers, sessionResolvers, ssoResolvers, importResolvers]);
  const schema = makeExecutableSchema({ typeDefs, resolvers: resolvers as never });
  assertAllRulesAssigned(schema, permissionMap);
  return applyMiddleware(schema, readAheadRootQueries(schema, READ_AHEAD_FIELDS), onlyDecidingRules(permissions));
}

/**
 * The shield middleware without the fields whose rule is `allow` (object types reached only through a
 * root field, which already decided). Wrapped, each of their fields would resolve through an async
 * middleware that evaluates `allow` and returns what the resolver returns: a page of 20 users with
 * their organizations is some 200 promises per request, for nothing. Root fields and any type or
 * field with another rule (fallbackRule deny included) keep their middleware.
 */
function onlyDecidingRules(shieldMiddleware: typeof permissions): typeof permissions {
  const map = permissionMap as Record<string, unknown>;
  return middleware((schema) => {
    const generated = shieldMiddleware.generate(schema) as Record<string, Record<string, unknown>>;
    const kept: Record<string, Record<string, unknown>> = {};
    for (const [type, fields] of Object.entries(generated)) {
      const rule = map[type];
      if (rule === allow) continue;
      const fieldRules = rule && typeof rule === 'object' && Object.getPrototypeOf(rule) === Object.prototype ? (rule as Record<string, unknown>) : undefined;
      kept[type] = fieldRules ? Object.fromEntries(Object.entries(fields).filter(([field]) => fieldRules[field] !== allow || isRoot(type))) : fields;
    }
    return kept as never;
  });
}
const isRoot = (type: string) => type === 'Query' || type === 'Mutation' || type === 'Subscription';
