/**
 * Repeated operations run compiled (graphql-jit, src/graphql/compiled-executor.ts), first runs by
 * graphql-js: an operation answers the same either way, data, errors (code, path, message) and
 * status, whatever the variables.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
  const m = await t.user('MEMBER');
  await t.organization('Compiled', [{ user: m.user }, { user: t.owner.user }]);
});
afterAll(() => server.close());

/** Each answer of `runs` runs of one operation, as status + body. */
async function answers(query: string, variables: Record<string, unknown>, runs = 4) {
  const out: unknown[] = [];
  for (let i = 0; i < runs; i++) {
    const res = await server.gql(query, variables, { token: t.owner.token });
    out.push({ status: res.status, data: res.data, errors: res.errors });
  }
  return out;
}

describe('compiled execution', () => {
  it('answers a repeated operation as its first, interpreted run did: nested lists, aliases, fragments, @include and @skip', async () => {
    const query = `query($id: UUID!, $orgs: Boolean!, $skipPage: Boolean!) {
      me { id email role }
      u: user(id: $id) { ...U organizations @include(if: $orgs) { name } }
      users(first: 3) @skip(if: $skipPage) { totalCount edges { cursor node { __typename id role organizations { name } } } pageInfo { hasNextPage endCursor } }
    }
    fragment U on User { id name status }`;
    for (const variables of [
      { id: t.owner.user.id, orgs: true, skipPage: false },
      { id: t.owner.user.id, orgs: false, skipPage: true },
      { id: crypto.randomUUID(), orgs: true, skipPage: false },
    ]) {
      const [first, ...rest] = await answers(query, variables);
      expect((first as { errors?: unknown }).errors).toBeUndefined();
      for (const r of rest) expect(r).toEqual(first);
    }
  });

  it('answers errors as the interpreted run did: a refused argument, a missing row, a bad variable after compiling', async () => {
    const query = 'query($first: Int, $id: UUID!, $filter: UserFilter) { users(first: $first, filter: $filter) { totalCount } integration(id: $id) { id } health }';
    const [first, ...rest] = await answers(query, { first: 1000, id: crypto.randomUUID() });
    expect(JSON.stringify(first)).toContain('BAD_USER_INPUT');
    for (const r of rest) expect(r).toEqual(first);
    // Compiled by now: a variable that does not coerce is refused as graphql-js refuses it.
    for (const variables of [{ first: 1, id: 'not-a-uuid' }, { first: 'x', id: crypto.randomUUID() }, { first: 1 }, { id: crypto.randomUUID(), filter: '' }, { id: crypto.randomUUID(), filter: { role: 'KING' } }]) {
      const bad = await server.gql(query, variables, { token: t.owner.token });
      expect(bad.status).toBe(400);
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(bad.data).toBeUndefined();
      // The same operation as another text (a document of its own, never run before: interpreted).
      const fresh = await server.gql(`${query} # ${crypto.randomUUID()}`, variables, { token: t.owner.token });
      expect({ status: bad.status, errors: bad.errors }).toEqual({ status: fresh.status, errors: fresh.errors });
    }
  });

  it('a failed non-null field nulls its parent as the interpreted run did, with the field\'s error and path', async () => {
    // The same organization name twice in one operation: the second create fails, non-null data nulls it all.
    const query = 'mutation($a: String!, $b: String!) { a: createOrganization(input: { name: $a }) { id } b: createOrganization(input: { name: $b }) { id } }';
    const runs: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const name = `Twice ${i} ${crypto.randomUUID().slice(0, 8)}`;
      const res = await server.gql(query, { a: name, b: name.toLowerCase() }, { token: t.owner.token });
      runs.push({ status: res.status, data: res.data, errors: res.errors?.map((e) => ({ path: e.path, code: e.extensions?.code })) });
    }
    expect(runs[0]).toEqual({ status: 200, data: null, errors: [{ path: ['b'], code: 'CONFLICT' }] });
    for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
  });
});
