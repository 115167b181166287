import crypto from 'node:crypto';
import { execute, getNamedType, getNullableType, isListType, isNonNullType, isObjectType, parse, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKeys,
  apiKeyUsage,
  scimTokens,
  ssoConnections,
  tenantDomains,
  integrationCircuits,
  integrationHealth,
  integrationHealthChanges,
  integrationPushes,
  integrations,
  organizationMemberships,
  organizations,
  outboundMessages,
  refreshTokens,
  sessions,
  syncRuns,
  users,
  userTokens,
  webhookEvents,
} from '../src/db/schema.js';
import { actors, ShortTransactionScope } from '../src/db/tenant-transaction.js';
import { createContext } from '../src/graphql/context.js';
import { buildSchema } from '../src/graphql/schema.js';
import { createTenant } from '../src/modules/tenants/service.js';
import { otherSigningKey } from './helpers/saml.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * Constant round trips (ARCHITECTURE invariant 2): for every list query of the schema (a Query field
 * returning a list or a connection), with every nested field generated from the schema, the
 * statements an operation sends must not depend on how many rows it returns. One tenant holds 5 of
 * everything, another 50 (users in organizations, integrations with their health, circuit, history,
 * sync runs and pushes, webhook events of 50 integrations…); every list is asked for with `first` = 5
 * or 50 (nested lists too) and the two statement counts must be equal. A new list or field is covered as soon as
 * it is in the schema; a new required argument fails here until it gets a sample value.
 */

const SMALL = 5;
const LARGE = 50;
/** Rows of each nested list per parent (sync runs, pushes, history per integration): parents vary 5 vs 50, which is what a per-row query would show. */
const NESTED = 5;
/** Object levels below the list field; deep enough for webhookEvents → edges → node → integration → syncRuns → edges → node. */
const MAX_DEPTH = 8;

/** List fields no list query reaches, and where their statements are bounded instead. */
const NOT_UNDER_A_LIST_QUERY: Record<string, string> = {
  'UsersPayload.results': 'bulk mutation results (in memory); tests/bulk.test.ts compares the statements of 5 and 500 items',
  'MembersPayload.results': 'the same, for addOrganizationMembers',
  'ItemError.fields': 'the refused fields of one item, held in its error (no query)',
  'ImportJob.errors': 'under importJob(id), a single object: one query, paged by first (1–100)',
  'ImportRowError.fields': 'the refused fields of one row, a column of its error row (no query)',
};

let server: TestServer;
let largeWorld: World;
let samlCert: string;
const schema = buildSchema();

interface World {
  n: number;
  tenant: SeededTenant;
  integrationId: string;
  operatorToken: string;
}

/** Sample values for required arguments, by name. A list with a required argument not here fails the test. */
const requiredArgs = (w: World): Record<string, string> => ({ integrationId: `"${w.integrationId}"` });

function unwrapList(field: GraphQLField<unknown, unknown>) {
  return isListType(getNullableType(field.type));
}
const isConnection = (t: unknown): t is GraphQLObjectType => isObjectType(t) && 'edges' in t.getFields() && 'pageInfo' in t.getFields();

/** `(first: n, integrationId: "…")`: `first` whenever the field takes it, required arguments from the samples. */
function argsOf(field: GraphQLField<unknown, unknown>, w: World, path: string): string {
  const samples = requiredArgs(w);
  const args: string[] = [];
  for (const a of field.args) {
    if (a.name === 'first') args.push(`first: ${w.n}`);
    else if (isNonNullType(a.type) && a.defaultValue === undefined) {
      const sample = samples[a.name];
      if (!sample) throw new Error(`${path}(${a.name}:) is required and has no sample value: add one to requiredArgs`);
      args.push(`${a.name}: ${sample}`);
    }
  }
  return args.length ? `(${args.join(', ')})` : '';
}

/** Every field of the type; object fields recursively, skipping types already on the path (cycles) and past MAX_DEPTH. */
/** Type.field of every object field some generated operation selects. */
const reached = new Set<string>();

function selectionOf(type: GraphQLObjectType, w: World, seen: string[], objectPaths: string[], path: string): string {
  const parts: string[] = [];
  for (const field of Object.values(type.getFields())) {
    const named = getNamedType(field.type);
    const fieldPath = `${path}.${field.name}`;
    if (!isObjectType(named)) {
      parts.push(`${field.name}${argsOf(field, w, fieldPath)}`);
      continue;
    }
    if (seen.includes(named.name) || seen.length >= MAX_DEPTH) continue;
    const inner = selectionOf(named, w, [...seen, named.name], objectPaths, fieldPath);
    if (!inner) continue;
    objectPaths.push(fieldPath);
    reached.add(`${type.name}.${field.name}`);
    parts.push(`${field.name}${argsOf(field, w, fieldPath)} { ${inner} }`);
  }
  return parts.join(' ');
}

/** Every Query field that returns a list or a connection. */
const listQueries = Object.values(schema.getQueryType()!.getFields()).filter((f) => unwrapList(f) || isConnection(getNamedType(f.type)));

function operationFor(field: GraphQLField<unknown, unknown>, w: World) {
  const named = getNamedType(field.type) as GraphQLObjectType;
  const objectPaths: string[] = [];
  const selection = selectionOf(named, w, [named.name], objectPaths, field.name);
  return { query: `{ ${field.name}${argsOf(field, w, field.name)} { ${selection} } }`, objectPaths };
}

/** Paths (without list indexes) that hold a non-empty object or list somewhere in the result. */
function filledPaths(value: unknown, path: string, out: Set<string>) {
  if (Array.isArray(value)) {
    if (value.length) out.add(path);
    for (const v of value) filledPaths(v, path, out);
  } else if (value && typeof value === 'object') {
    out.add(path);
    for (const [k, v] of Object.entries(value)) filledPaths(v, `${path}.${k}`, out);
  }
}

/** Runs one operation as the server does (one operation transaction, the permission map) and counts its statements. */
async function run(query: string, token: string, variableValues?: Record<string, unknown>) {
  const before = server.queryCount();
  const ctx = await createContext(server.app, { authorization: `Bearer ${token}` });
  const result = await execute({ schema, document: parse(query), contextValue: ctx, variableValues });
  await ctx.scope?.finish(!result.errors);
  return { result, statements: server.queryCount() - before };
}

const pgTime = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000);

/** A tenant with n of everything the lists show, rows whose nested fields have values. */
async function seedWorld(n: number, operatorToken: string): Promise<World> {
  const tenant = await server.seed.tenant();
  const tenantId = tenant.tenant.id;
  const scope = new ShortTransactionScope(server.app.db, actors.system('round-trips-seed', tenantId));
  const integrationIds = await scope.write(async (tx) => {
    const us = await tx
      .insert(users)
      .values(Array.from({ length: n }, (_, i) => ({ tenantId, email: `u${i}@rt.test`, name: `User ${i}`, role: 'MEMBER' as const })))
      .returning({ id: users.id });
    const orgs = await tx
      .insert(organizations)
      .values(Array.from({ length: n }, (_, i) => ({ tenantId, name: `Org ${i}`, description: `Org ${i}` })))
      .returning({ id: organizations.id });
    // Each user in 3 organizations, each organization with 3 members: nested lists have values without
    // multiplying the answer (users → organizations → members would be n³ objects with everyone everywhere).
    await tx
      .insert(organizationMemberships)
      .values(us.flatMap((u, i) => [0, 1, 2].map((j) => ({ tenantId, organizationId: orgs[(i + j) % n]!.id, userId: u.id, role: j === 0 ? ('ADMIN' as const) : ('MEMBER' as const) }))));
    const ints = await tx
      .insert(integrations)
      .values(
        Array.from({ length: n }, (_, i) => ({
          tenantId,
          provider: 'USER_SERVICE' as const,
          name: `Integration ${i}`,
          baseUrl: 'http://127.0.0.1:1/user-service',
          credentialsEncrypted: 'unused',
          webhookSecretEncrypted: 'unused',
        })),
      )
      .returning({ id: integrations.id });
    // The first integration holds n of each (the root lists syncRuns, integrationPushes and
    // integrationHealthHistory page through it); the others NESTED, enough for their nested lists to have values.
    const perIntegration = (k: number) => (k === 0 ? n : NESTED);
    const signals = { breakerState: 'CLOSED', callCount: 3, failureRatio: 0, webhookFailureRatio: 0, deadLetterCount: 0, lastCheckOk: true };
    await tx.insert(integrationHealth).values(ints.map((x) => ({ tenantId, integrationId: x.id, status: 'HEALTHY' as const, reason: 'ok', signals, lastCheckOk: true, lastCheckAt: new Date() })));
    await tx.insert(integrationCircuits).values(ints.map((x) => ({ tenantId, integrationId: x.id, state: 'CLOSED' as const, reason: 'ok' })));
    await tx.insert(integrationHealthChanges).values(
      ints.flatMap((x, k) => Array.from({ length: perIntegration(k) }, (_, i) => ({ tenantId, integrationId: x.id, status: 'HEALTHY' as const, previousStatus: 'DEGRADED' as const, reason: `change ${i}`, signals, changedAt: pgTime(i) }))),
    );
    await tx.insert(syncRuns).values(
      ints.flatMap((x, k) =>
        Array.from({ length: perIntegration(k) }, (_, i) => ({ tenantId, integrationId: x.id, mode: 'FULL' as const, status: 'SUCCEEDED' as const, trigger: 'MANUAL' as const, requestedBy: tenant.owner.user.id, createdAt: pgTime(i), startedAt: pgTime(i), finishedAt: pgTime(i) })),
      ),
    );
    await tx.insert(integrationPushes).values(
      ints.flatMap((x, k) =>
        Array.from({ length: perIntegration(k) }, (_, i) => ({
          tenantId,
          integrationId: x.id,
          resource: 'users',
          recordId: us[i % us.length]!.id,
          operation: 'UPDATE',
          payload: { i },
          idempotencyKey: crypto.randomUUID(),
          status: 'SENT' as const,
          externalId: `ext-${i}`,
          externalVersion: 1,
        })),
      ),
    );
    await tx.insert(webhookEvents).values(
      Array.from({ length: n }, (_, i) => ({
        tenantId,
        integrationId: ints[i]!.id, // one event per integration: WebhookEvent.integration reads n different rows
        providerEventId: `evt-${i}`,
        type: 'user.updated',
        payload: { id: i },
        deliveryId: `msg-${i}`,
        deliveryTimestamp: pgTime(i),
        status: 'PROCESSED' as const,
        attempts: 1,
        outcome: 'updated',
        processedAt: pgTime(i),
      })),
    );
    // Invitations (each with its message) of the n users, and n live sessions of the owner (mySessions).
    const messages = await tx
      .insert(outboundMessages)
      .values(us.map((u, i) => ({ tenantId, integrationId: ints[0]!.id, userId: u.id, kind: 'INVITATION', toEmail: `u${i}@rt.test`, subject: 'Invited', idempotencyKey: crypto.randomUUID(), status: 'SENT' as const, deliveryStatus: 'DELIVERED' as const })))
      .returning({ id: outboundMessages.id });
    await tx.insert(userTokens).values(
      us.map((u, i) => ({ tenantId, userId: u.id, purpose: 'INVITATION' as const, tokenHash: crypto.randomUUID(), createdBy: us[(i + 1) % n]!.id, expiresAt: new Date(Date.now() + 86_400_000), messageId: messages[i]!.id, createdAt: pgTime(i) })),
    );
    const families = Array.from({ length: n }, () => crypto.randomUUID());
    const expiresAt = new Date(Date.now() + 86_400_000);
    await tx.insert(sessions).values(families.map((id, i) => ({ tenantId, id, userId: tenant.owner.user.id, userAgent: 'rt', ipAddress: '127.0.0.1', expiresAt, lastUsedAt: pgTime(i) })));
    await tx.insert(refreshTokens).values(families.map((familyId) => ({ tenantId, userId: tenant.owner.user.id, familyId, tokenHash: crypto.randomUUID(), expiresAt })));
    // API keys, each made by another user (ApiKey.createdBy reads n users), each used once.
    const keys = await tx
      .insert(apiKeys)
      .values(us.map((u, i) => ({ tenantId, name: `Key ${i}`, role: 'VIEWER' as const, prefix: `tsk_${i}`, keyHash: crypto.randomBytes(32).toString('hex'), createdBy: u.id })))
      .returning({ id: apiKeys.id });
    await tx.insert(apiKeyUsage).values(keys.map((k) => ({ tenantId, apiKeyId: k.id, lastUsedAt: new Date(), lastUsedIp: '127.0.0.1' })));
    await tx.insert(scimTokens).values(us.map((u, i) => ({ tenantId, name: `SCIM ${i}`, tokenHash: crypto.randomBytes(32).toString('hex'), createdBy: u.id })));
    // SSO connections and claimed (unverified: a verified domain is unique across tenants) email domains.
    // Every other one SAML, with a certificate (its fields are read from the row and the PEM, no statement).
    await tx.insert(ssoConnections).values(
      us.map((_, i) => ({
        tenantId,
        name: `SSO ${i}`,
        roleClaim: 'groups',
        roleMapping: { [`group-${i}`]: 'MEMBER' as const },
        ...(i % 2
          ? { protocol: 'SAML' as const, samlIdpEntityId: `https://idp${i}.rt.test/saml`, samlIdpSsoUrl: `https://idp${i}.rt.test/saml/sso`, samlIdpCertificates: [samlCert] }
          : { protocol: 'OIDC' as const, oidcIssuer: `https://idp${i}.rt.test`, oidcClientId: `client-${i}` }),
      })),
    );
    await tx.insert(tenantDomains).values(us.map((_, i) => ({ tenantId, domain: `d${i}.${tenantId.slice(0, 8)}.rt.test` })));
    return ints.map((x) => x.id);
  });
  return { n, tenant, integrationId: integrationIds[0]!, operatorToken };
}

/** Bare tenants, so the platform operator's list holds `total` tenants. */
async function tenantsUpTo(total: number) {
  const [{ n }] = (await server.ownerSql`select count(*)::int as n from tenants`) as unknown as [{ n: number }];
  for (let i = n; i < total; i++) {
    const slug = `rt-${crypto.randomBytes(4).toString('hex')}`;
    await createTenant(server.app.platformDb, 'test', { slug, name: slug, ownerEmail: `o@${slug}.test`, ownerName: 'O' });
  }
}

const measured: Record<string, { small?: number; large?: number }> = {};
const results: Record<string, Record<'small' | 'large', { statements: number; rootLength: number; filled: Set<string>; objectPaths: string[]; errors?: unknown }>> = {};

async function measureAll(label: 'small' | 'large', w: World) {
  for (const field of listQueries) {
    const { query, objectPaths } = operationFor(field, w);
    let { result, statements } = await run(query, w.tenant.owner.token);
    if (result.errors?.[0]?.extensions?.code === 'FORBIDDEN') ({ result, statements } = await run(query, w.operatorToken)); // the operator's lists
    const root = result.data?.[field.name] as { edges?: unknown[] } | unknown[] | undefined;
    const rootLength = Array.isArray(root) ? root.length : (root?.edges?.length ?? -1);
    const filled = new Set<string>();
    filledPaths(result.data?.[field.name], field.name, filled);
    (results[field.name] ??= {} as never)[label] = { statements, rootLength, filled, objectPaths, errors: result.errors };
    (measured[field.name] ??= {})[label] = statements;
  }
}

beforeAll(async () => {
  server = await startTestServer();
  samlCert = (await otherSigningKey()).cert;
  const operatorToken = (await server.app.tokens.signPlatformToken('operator:round-trips@test')).token;
  const small = await seedWorld(SMALL, operatorToken);
  await tenantsUpTo(SMALL);
  await measureAll('small', small);
  const large = (largeWorld = await seedWorld(LARGE, operatorToken));
  await tenantsUpTo(LARGE);
  await measureAll('large', large);
  console.info('statements per list query (5 rows / 50 rows):', Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, `${v.small} / ${v.large}`])));
}, 300_000);
afterAll(() => server?.close());

describe('every list query costs the same statements for 5 rows as for 50, nested fields included', () => {
  it('finds the list queries in the schema', () => {
    expect(listQueries.map((f) => f.name)).toEqual(expect.arrayContaining(['users', 'organizations', 'integrations', 'webhookEvents', 'syncRuns', 'integrationPushes', 'auditLogs', 'platformTenants']));
  });

  it('every list field of the schema (nested ones too) is reached by some generated operation', () => {
    const listFields = Object.values(schema.getTypeMap())
      .filter((t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith('__') && !['Query', 'Mutation', 'Subscription'].includes(t.name))
      // Lists of records (a list of scalars, like webhookAllowedSources, is one column's value).
      .flatMap((t) => Object.values(t.getFields()).filter((f) => (unwrapList(f) && isObjectType(getNamedType(f.type))) || isConnection(getNamedType(f.type))).map((f) => `${t.name}.${f.name}`));
    expect(listFields.length).toBeGreaterThan(3);
    expect(listFields.filter((f) => !reached.has(f) && !NOT_UNDER_A_LIST_QUERY[f])).toEqual([]);
  });

  it.each(listQueries.map((f) => f.name))('%s', (name) => {
    const r = results[name]!;
    expect(r.small.errors).toBeUndefined();
    expect(r.large.errors).toBeUndefined();
    // The lists are full: 5 rows, then 50 (so the comparison means something)...
    expect([r.small.rootLength, r.large.rootLength]).toEqual([SMALL, LARGE]);
    // ...and every nested object and list has values somewhere in the 50-row answer.
    expect(r.large.objectPaths.filter((p) => !r.large.filled.has(p))).toEqual([]);
    expect(r.large.statements).toBe(r.small.statements);
  });
});

describe('batched nested pages', () => {
  it('Integration.syncRuns and .healthHistory give the pages of the root lists, after a cursor too', async () => {
    const w = largeWorld;
    const q = `query($id: UUID!, $after: String) {
      integration(id: $id) { syncRuns(first: 7, after: $after) { totalCount pageInfo { endCursor hasNextPage } edges { node { id } } } healthHistory(first: 7) { id } }
      syncRuns(integrationId: $id, first: 7, after: $after) { totalCount pageInfo { endCursor hasNextPage } edges { node { id } } }
      integrationHealthHistory(integrationId: $id, first: 7) { id } }`;
    const page1 = (await run(q, w.tenant.owner.token, { id: w.integrationId })).result;
    expect(page1.errors).toBeUndefined();
    const d1 = page1.data as any;
    expect(d1.integration.syncRuns).toEqual(d1.syncRuns);
    expect(d1.integration.syncRuns).toMatchObject({ totalCount: LARGE, pageInfo: { hasNextPage: true } });
    expect(d1.integration.syncRuns.edges).toHaveLength(7);
    expect(d1.integration.healthHistory).toEqual(d1.integrationHealthHistory);
    expect(d1.integration.healthHistory).toHaveLength(7);
    const page2 = (await run(q, w.tenant.owner.token, { id: w.integrationId, after: d1.syncRuns.pageInfo.endCursor })).result;
    const d2 = page2.data as any;
    expect(d2.integration.syncRuns).toEqual(d2.syncRuns);
    const ids = [...d1.syncRuns.edges, ...d2.syncRuns.edges].map((e: any) => e.node.id);
    expect(new Set(ids).size).toBe(14); // no overlap between the pages
  });

  it('a bad nested page argument fails its field with BAD_USER_INPUT, never a 500', async () => {
    const w = largeWorld;
    for (const field of ['syncRuns(first: 0) { totalCount }', 'syncRuns(first: 101) { totalCount }', 'syncRuns(after: "not-a-cursor") { totalCount }', 'healthHistory(first: 0) { id }', 'healthHistory(first: 1000) { id }']) {
      const { result } = await run(`{ integrations { id ${field} } }`, w.tenant.owner.token);
      expect(result.errors?.length).toBeGreaterThan(0);
      expect(new Set(result.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['BAD_USER_INPUT']));
    }
  });
});
