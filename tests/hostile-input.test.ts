/**
 * The proof of "no 5xx from any input": every argument (and every field of every input object
 * argument) of every Query and Mutation field, read from the running server's introspection, gets
 * each value of a hostile corpus — as an ADMIN and anonymously — while the other arguments hold
 * valid values. No answer may be a 5xx or carry INTERNAL_SERVER_ERROR / SERVICE_UNAVAILABLE, and
 * every error must carry a code from the error table.
 */
import crypto from 'node:crypto';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;
let schema: GraphQLSchema;

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
  const res = await server.gql(getIntrospectionQuery());
  schema = buildClientSchema(res.data);
});
afterAll(() => server.close());

const deep = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : [deep(levels - 1, leaf)]);
const deepObject = (levels: number): unknown => (levels === 0 ? 'x' : { a: deepObject(levels - 1) });

/** Values no well-behaved client sends. */
const CORPUS: unknown[] = [
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '',
  'x'.repeat(20_000),
  '💥🔥👩‍👩‍👧‍👦'.repeat(100),
  '\u202Eevil\u202C',
  'NaN',
  'Infinity',
  '1e309',
  '99999999999999999999999999',
  2 ** 31,
  -(2 ** 31) - 1,
  1e308,
  -1,
  0,
  true,
  null,
  [],
  {},
  { __proto__: { admin: true }, constructor: 'x' },
  deep(150, 'x'),
  deepObject(150),
  Array.from({ length: 2000 }, (_, i) => `v${i}`),
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '2026-02-30T00:00:00Z',
  'INVALID_ENUM_VALUE',
  'x@',
  "'; drop table users; --",
  '<script>alert(1)</script>',
];

/** A valid value of a type, for the arguments not under test. */
function validValue(type: GraphQLInputType, depth = 0): unknown {
  if (isNonNullType(type)) return validValue(type.ofType, depth);
  if (isListType(type)) return [validValue(type.ofType, depth)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type) && depth < 5) out[f.name] = validValue(f.type, depth + 1);
    return out;
  }
  switch (getNamedType(type).name) {
    case 'Int':
      return 1;
    case 'Float':
      return 1.5;
    case 'Boolean':
      return true;
    case 'UUID':
    case 'ID':
      return crypto.randomUUID();
    case 'DateTime':
      return new Date().toISOString();
    case 'EmailAddress':
      return `someone-${crypto.randomBytes(3).toString('hex')}@example.com`;
    case 'JSON':
      return {};
    default:
      return `valid-${crypto.randomBytes(3).toString('hex')}`;
  }
}

/** Where a bad value can go in a field's arguments: each argument, and each field of an input object argument (one level down). */
function positions(field: GraphQLField<unknown, unknown>): { arg: string; path: string[] }[] {
  const out: { arg: string; path: string[] }[] = [];
  for (const arg of field.args) {
    out.push({ arg: arg.name, path: [] });
    const named = getNamedType(arg.type);
    if (isInputObjectType(named)) for (const f of Object.values(named.getFields())) out.push({ arg: arg.name, path: [f.name] });
  }
  return out;
}

function operationFor(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>, bad: { arg: string; path: string[] }, value: unknown) {
  const variables: Record<string, unknown> = {};
  for (const arg of field.args) {
    if (arg.name !== bad.arg && !isNonNullType(arg.type)) continue;
    let v = arg.name === bad.arg && bad.path.length === 0 ? value : validValue(arg.type);
    if (arg.name === bad.arg && bad.path.length) {
      const base = (isListType(isNonNullType(arg.type) ? arg.type.ofType : arg.type) ? [validValue(getNamedType(arg.type) as GraphQLInputType)] : [v]) as Record<string, unknown>[];
      const target = (Array.isArray(v) ? (v[0] as Record<string, unknown>) : (v as Record<string, unknown>)) ?? base[0];
      const obj = { ...(target ?? {}), [bad.path[0]!]: value };
      v = Array.isArray(v) ? [obj] : obj;
    }
    variables[arg.name] = v;
  }
  const used = field.args.filter((a) => a.name in variables);
  const defs = used.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = used.map((a) => `${a.name}: $${a.name}`).join(', ');
  const named = getNamedType(field.type);
  const selection = isScalarType(named) || isEnumType(named) ? '' : ' { __typename }';
  return { query: `${kind}${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`, variables };
}

/** Runs `tasks` with at most `n` in flight. */
async function pool<T>(tasks: (() => Promise<T>)[], n: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  }));
  return results;
}

describe('hostile corpus over every Query and Mutation argument', () => {
  it.each(['ADMIN', 'anonymous'] as const)('as %s: no 5xx, no INTERNAL_SERVER_ERROR, every error coded', async (who) => {
    const admin = who === 'ADMIN' ? await t.user('ADMIN') : undefined;
    const cases: { query: string; variables: Record<string, unknown> }[] = [];
    for (const kind of ['query', 'mutation'] as const) {
      const root = kind === 'query' ? schema.getQueryType()! : schema.getMutationType()!;
      for (const field of Object.values(root.getFields())) {
        if (field.name.startsWith('__')) continue;
        // Anonymous callers reach the same edge check; the input objects' fields are covered as ADMIN.
        const where = who === 'ADMIN' ? positions(field) : positions(field).filter((p) => p.path.length === 0);
        for (const position of where) for (const value of CORPUS) cases.push(operationFor(kind, field, position, value));
      }
    }
    // Literals in the query text too (validation and the edge check see those, not the variables).
    for (const field of Object.values(schema.getQueryType()!.getFields())) {
      for (const arg of field.args.filter((a) => ['String', 'ID', 'Int'].includes(getNamedType(a.type).name))) {
        for (const literal of ['"a\\u0000b"', '"\\u0000"', '99999999999', '-1', '0', '""', '"0000-01-01T00:00:00Z"']) {
          const named = getNamedType(field.type);
          cases.push({ query: `{ ${field.name}(${arg.name}: ${literal})${isScalarType(named) || isEnumType(named) ? '' : ' { __typename }'} }`, variables: {} });
        }
      }
    }
    expect(cases.length).toBeGreaterThan(500);

    const failures: string[] = [];
    const codes = new Map<string, number>();
    await pool(
      cases.map((c) => async () => {
        const res = await server.gql(c.query, c.variables, admin ? { token: admin.token } : {});
        for (const e of res.errors ?? []) codes.set(String(e.extensions?.code), (codes.get(String(e.extensions?.code)) ?? 0) + 1);
        const bad = (res.errors ?? []).filter((e) => !e.extensions?.code || !(e.extensions.code in ErrorCode) || e.extensions.code === 'INTERNAL_SERVER_ERROR' || e.extensions.code === 'SERVICE_UNAVAILABLE');
        if (res.status >= 500 || bad.length) failures.push(`${res.status} ${JSON.stringify(bad[0] ?? res.errors?.[0])} ← ${c.query} ${JSON.stringify(c.variables).slice(0, 200)}`);
      }),
      8,
    );
    console.log(`${who}: ${cases.length} operations; error codes: ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(failures.slice(0, 15), `${failures.length} failures`).toEqual([]);
    if (admin) {
      // The ADMIN's token still works: the corpus changed nothing about who it is.
      expect((await server.gql('{ me { role } }', {}, { token: admin.token })).data).toEqual({ me: { role: 'ADMIN' } });
    }
  }, 600_000);
});
