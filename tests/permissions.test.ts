import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { allow } from 'graphql-shield';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAllRulesAssigned } from '../src/auth/permissions.js';
import { permissionMap } from '../src/graphql/permissions.js';
import { buildSchema, loadTypeDefs } from '../src/graphql/schema.js';
import { OPERATOR, errorCode, startTestServer, type TestServer } from './helpers/server.js';

const schema = buildSchema();
const rootTypes = [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!];
const map = permissionMap as unknown as Record<string, unknown>;

describe('the permission map covers the schema', () => {
  it('every Query, Mutation and Subscription field of the executable schema has its own rule', () => {
    const missing = rootTypes.flatMap((type) => Object.keys(type.getFields()).filter((f) => !(map[type.name] as Record<string, unknown>)[f]).map((f) => `${type.name}.${f}`));
    expect(missing).toEqual([]);
    expect(rootTypes.reduce((n, t) => n + Object.keys(t.getFields()).length, 0)).toBeGreaterThan(50); // it did look at the schema
  });

  it('every other object type has a rule for the type or for each of its fields', () => {
    const objectTypes = Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && !t.name.startsWith('__') && !rootTypes.includes(t as never));
    expect(objectTypes.filter((t) => !map[t.name]).map((t) => t.name)).toEqual([]);
  });

  it('the server refuses to start when a new root field has no rule', () => {
    for (const [sdl, problem] of [
      ['extend type Query { secretReport: String }', 'Query.secretReport: no rule'],
      ['extend type Mutation { dropEverything: Boolean }', 'Mutation.dropEverything: no rule'],
      ['extend type Subscription { everyChange: String }', 'Subscription.everyChange: no rule'],
    ] as const) {
      expect(() => buildSchema([...loadTypeDefs(), sdl])).toThrow(problem);
    }
  });

  it('...and when a new object type has no rule, even behind an allowed type', () => {
    expect(() => buildSchema([...loadTypeDefs(), 'type Secret { value: String } extend type User { secret: Secret }'])).toThrow('Secret: no rule');
  });

  it('a root type needs a rule per field, and stale names in the map are reported', () => {
    const probe = (overrides: Record<string, unknown>) => () => assertAllRulesAssigned(schema, { ...permissionMap, ...overrides } as never);
    expect(probe({ Query: allow })).toThrow('Query: needs a rule per field');
    expect(probe({ Subscription: { ...permissionMap.Subscription, heartbeet: allow } })).toThrow('Subscription.heartbeet: not a field of the schema');
    expect(probe({ Ghost: allow })).toThrow('Ghost: not an object type of the schema');
    expect(probe({ AuditLog: { id: allow } })).toThrow('AuditLog.occurredAt: no rule');
    expect(probe({})).not.toThrow();
  });
});

/** Fields anyone may call without a token; every other root field must refuse an anonymous caller. */
const PUBLIC = new Set([
  'Query.health',
  'Mutation.login',
  'Mutation.refreshSession',
  'Mutation.logout',
  'Mutation.platformLogin',
  'Mutation._noop',
  // The link's token is the credential (issue 13): anonymous by nature, rate limited per IP.
  'Mutation.acceptInvitation',
  'Mutation.requestPasswordReset',
  'Mutation.resetPassword',
  'Mutation.confirmEmailChange',
]);

/** A syntactically valid value for an argument type (the rule runs before any service looks at it). */
function sampleValue(type: GraphQLInputType): string {
  const t = getNullableType(type) as GraphQLInputType;
  if (isListType(t)) return `[${sampleValue(t.ofType)}]`;
  if (isEnumType(t)) return t.getValues()[0]!.name;
  if (isInputObjectType(t)) {
    const required = Object.values(t.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return `{ ${required.map((f) => `${f.name}: ${sampleValue(f.type)}`).join(', ')} }`;
  }
  if (isScalarType(t)) {
    const samples: Record<string, string> = { UUID: '"00000000-0000-4000-8000-000000000000"', EmailAddress: '"probe@example.test"', DateTime: '"2024-01-01T00:00:00Z"', Int: '1', Float: '1', Boolean: 'true', JSON: '{}' };
    return samples[t.name] ?? '"probe-value-123"';
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** `field(requiredArgs) { __typename }`, generated from the schema. */
function callOf(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const argText = args.length ? `(${args.map((a) => `${a.name}: ${sampleValue(a.type)}`).join(', ')})` : '';
  return `${field.name}${argText}${isObjectType(getNamedType(field.type)) ? ' { __typename }' : ''}`;
}

function rootCalls(s: GraphQLSchema) {
  return [s.getQueryType()!, s.getMutationType()!].flatMap((type) =>
    Object.values(type.getFields()).map((f) => ({ name: `${type.name}.${f.name}`, op: type.name === 'Query' ? 'query' : 'mutation', call: callOf(f) })),
  );
}

describe('deny by default, over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('every non-public Query and Mutation field refuses an anonymous caller with UNAUTHENTICATED', async () => {
    const calls = rootCalls(schema).filter((c) => !PUBLIC.has(c.name));
    const codes = await Promise.all(calls.map(async (c) => errorCode(await server.gql(`${c.op} { ${c.call} }`))));
    const answers = Object.fromEntries(calls.map((c, i) => [c.name, codes[i]]));
    expect(Object.keys(answers).length).toBeGreaterThan(45);
    expect(Object.entries(answers).filter(([, code]) => code !== 'UNAUTHENTICATED')).toEqual([]);
  });

  it('a rule with arguments is decided per call: in one operation a MEMBER may edit themself but not another user', async () => {
    const t = await server.seed.tenant();
    const [me, other] = [await t.user('MEMBER'), await t.user('MEMBER')];
    const mine = 'mine: updateUser(id: $me, input: { name: "Me" }) { name }';
    const theirs = 'theirs: updateUser(id: $other, input: { name: "Hacked" }) { name }';
    // Both orders: a decision cached for the operation instead of per arguments would let the second
    // call through (or refuse it) whatever its target. (The non-null payloads null the whole answer.)
    for (const fields of [`${mine} ${theirs}`, `${theirs} ${mine}`]) {
      const res = await server.gql(`mutation($me: UUID!, $other: UUID!) { ${fields} }`, { me: me.user.id, other: other.user.id }, { token: me.token });
      expect(res.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([['theirs', 'FORBIDDEN']]);
    }
    expect((await server.gql('mutation($me: UUID!) { updateUser(id: $me, input: { name: "Me" }) { name } }', { me: me.user.id }, { token: me.token })).data.updateUser).toEqual({ name: 'Me' });
    const [row] = (await server.ownerSql`select name from users where id = ${other.user.id}`) as unknown as [{ name: string }];
    expect(row.name).not.toBe('Hacked');
  });

  it('the REST audit export and GraphQL auditLogs answer every kind of caller alike (one role check)', { timeout: 60_000 }, async () => {
    const t = await server.seed.tenant();
    const op = await server.gql('mutation($e: EmailAddress!, $p: String!) { platformLogin(email: $e, password: $p) { accessToken } }', { e: OPERATOR.email, p: OPERATOR.password });
    const callers: Record<string, string | undefined> = {
      anonymous: undefined,
      operator: op.data.platformLogin.accessToken,
      OWNER: t.owner.token,
      ADMIN: (await t.user('ADMIN')).token,
      MEMBER: (await t.user('MEMBER')).token,
      VIEWER: (await t.user('VIEWER')).token,
    };
    const answers: Record<string, [string, string]> = {};
    for (const [who, token] of Object.entries(callers)) {
      const gql = await server.gql('{ auditLogs(first: 1) { edges { cursor } } }', {}, { token });
      const rest = await fetch(`${server.url}/audit-logs/export?from=2020-01-01T00:00:00Z`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      // Either REST envelope: { error: { code } } or { errors: [{ extensions: { code } }] }.
      const body = (await rest.text()) as string;
      const restCode = rest.status === 200 ? 'OK' : ((b) => b.error?.code ?? b.errors?.[0]?.extensions?.code)(JSON.parse(body));
      answers[who] = [errorCode(gql) ?? 'OK', restCode];
    }
    expect(answers).toEqual({
      anonymous: ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
      operator: ['FORBIDDEN', 'FORBIDDEN'],
      OWNER: ['OK', 'OK'],
      ADMIN: ['OK', 'OK'],
      MEMBER: ['FORBIDDEN', 'FORBIDDEN'],
      VIEWER: ['FORBIDDEN', 'FORBIDDEN'],
    });
  });
});
