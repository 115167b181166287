import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import type { SeededTenant } from './helpers/seed.js';
import { users } from '../src/db/schema.js';
import { actors, inTenant } from '../src/db/tenant-transaction.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
  for (let i = 0; i < 7; i++) await t.user(i % 2 ? 'VIEWER' : 'MEMBER', i === 3 ? 'Zed Special' : undefined);
});
afterAll(() => server.close());

const PAGE = 'query($first: Int, $after: String, $filter: UserFilter) { users(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email role status } } } }';

describe('users connection', () => {
  it('pages through every user exactly once in a stable order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const res: any = await server.gql(PAGE, { first: 3, after }, { token: t.owner.token });
      seen.push(...res.data.users.edges.map((e: any) => e.node.id));
      if (!res.data.users.pageInfo.hasNextPage) break;
      after = res.data.users.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    const all = await server.gql(PAGE, { first: 100 }, { token: t.owner.token });
    expect(all.data.users.edges.map((e: any) => e.node.id)).toEqual(seen);
    expect(all.data.users.totalCount).toBe(8);
  });

  it('filters by search, role and status', async () => {
    const viewers = await server.gql(PAGE, { filter: { role: 'VIEWER' } }, { token: t.owner.token });
    expect(viewers.data.users.edges.every((e: any) => e.node.role === 'VIEWER')).toBe(true);
    expect(viewers.data.users.totalCount).toBe(3);
    const zed = await server.gql(PAGE, { filter: { search: 'zed spec' } }, { token: t.owner.token });
    expect(zed.data.users.totalCount).toBe(1);
    const wildcard = await server.gql(PAGE, { filter: { search: '%' } }, { token: t.owner.token });
    expect(wildcard.data.users.totalCount).toBe(0); // LIKE wildcards are escaped
    const invited = await server.gql(PAGE, { filter: { status: 'INVITED' } }, { token: t.owner.token });
    expect(invited.data.users.totalCount).toBe(0);
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'not-a-cursor' }, 'after'],
    [{ filter: { search: 'x'.repeat(101) } }, 'filter.search'],
  ])('bad page arguments %j → BAD_USER_INPUT on %s', async (vars, field) => {
    const res = await server.gql(PAGE, vars, { token: t.owner.token });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res.errors![0]!.extensions!.fields ?? res.errors![0]!.message)).toContain(field);
  });

  it('invalid scalars are rejected before any resolver runs', async () => {
    const badId = await server.gql('{ user(id: "1 OR 1=1") { id } }', {}, { token: t.owner.token });
    expect(badId.status).toBe(400);
    expect(errorCode(badId)).toBe('GRAPHQL_VALIDATION_FAILED');
    const badEmail = await server.gql('mutation { createUser(input: { email: "nope", name: "N" }) { id } }', {}, { token: t.owner.token });
    expect(badEmail.status).toBe(400);
  });
});

describe('user mutations', () => {
  it('creates, updates, changes role, deactivates, reactivates and deletes', async () => {
    const created = await server.gql('mutation { createUser(input: { email: "Kim@Example.test", name: "  Kim  ", role: ADMIN, password: "kims-password-1" }) { id email name role status } }', {}, { token: t.owner.token });
    const kim = created.data.createUser;
    expect(kim).toMatchObject({ email: 'kim@example.test', name: 'Kim', role: 'ADMIN', status: 'ACTIVE' });
    const updated = await server.gql('mutation($id: UUID!) { updateUser(id: $id, input: { name: "Kimberly" }) { name } }', { id: kim.id }, { token: t.owner.token });
    expect(updated.data.updateUser.name).toBe('Kimberly');
    const role = await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: MEMBER) { role } }', { id: kim.id }, { token: t.owner.token });
    expect(role.data.changeUserRole.role).toBe('MEMBER');
    const off = await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { status } }', { id: kim.id }, { token: t.owner.token });
    expect(off.data.deactivateUser.status).toBe('DEACTIVATED');
    const on = await server.gql('mutation($id: UUID!) { reactivateUser(id: $id) { status } }', { id: kim.id }, { token: t.owner.token });
    expect(on.data.reactivateUser.status).toBe('ACTIVE');
    const del = await server.gql('mutation($id: UUID!) { deleteUser(id: $id) { id } }', { id: kim.id }, { token: t.owner.token });
    expect(del.data.deleteUser.id).toBe(kim.id);
    expect((await server.gql('query($id: UUID!) { user(id: $id) { id } }', { id: kim.id }, { token: t.owner.token })).data.user).toBeNull();
  });

  it('reports every bad field at once', async () => {
    const res = await server.gql('mutation { createUser(input: { email: "ok@x.test", name: "   ", password: "short" }) { id } }', {}, { token: t.owner.token });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'password' })]);
  });

  it('when a mutation fails, its non-null result nulls the whole response, and nothing of the operation is kept', async () => {
    const res = await server.gql(
      'mutation { a: createOrganization(input: { name: "Kept" }) { id } b: createOrganization(input: { name: "kept" }) { id } }',
      {},
      { token: t.owner.token },
    );
    expect(res.data).toBeNull(); // GraphQL null propagation: the client saw no result...
    expect(errorCode(res)).toBe('CONFLICT');
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from organizations where tenant_id = ${t.tenant.id} and lower(name) = 'kept'`) as unknown as [{ n: number }];
    expect(n).toBe(0); // ...so no half of it was committed either
    const single = await server.gql('mutation { createOrganization(input: { name: "Kept" }) { id } }', {}, { token: t.owner.token });
    expect(single.data.createOrganization.id).toBeTruthy();
  });
});

describe('organizations', () => {
  it('lists organizations with members and each user\'s organizations', async () => {
    const m = await t.user('MEMBER');
    const org = await t.organization('Research', [{ user: m.user, role: 'ADMIN' }]);
    const res = await server.gql(
      'query($id: UUID!, $u: UUID!) { organization(id: $id) { name members { role joinedAt user { id } } } user(id: $u) { organizations { name } memberships { role organization { id } } } }',
      { id: org.id, u: m.user.id },
      { token: t.owner.token },
    );
    expect(res.data.organization).toMatchObject({ name: 'Research', members: [{ role: 'ADMIN', user: { id: m.user.id } }] });
    expect(res.data.user).toEqual({ organizations: [{ name: 'Research' }], memberships: [{ role: 'ADMIN', organization: { id: org.id } }] });
    const dup = await server.gql('mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role } }', { o: org.id, u: m.user.id }, { token: t.owner.token });
    expect(errorCode(dup)).toBe('CONFLICT');
    const search = await server.gql('{ organizations(filter: { search: "resea" }) { totalCount edges { node { name } } } }', {}, { token: t.owner.token });
    expect(search.data.organizations).toEqual({ totalCount: 1, edges: [{ node: { name: 'Research' } }] });
  });

  it('each user\'s organizations, read with the page, are the database\'s for every filter, cursor and alias', async () => {
    const a = await t.user('MEMBER', 'Orgful Ann');
    const b = await t.user('MEMBER', 'Orgless Bob');
    const c = await t.user('VIEWER', 'Orgful Cid');
    await t.organization('Zeta team', [{ user: a.user }, { user: c.user }]);
    await t.organization('Alpha team', [{ user: a.user }]);
    const truth = async (id: string) =>
      (await server.ownerSql<{ name: string }[]>`select o.name from organization_memberships m join organizations o on o.id = m.organization_id where m.user_id = ${id} order by o.name`).map((r) => r.name);
    const PAGE_WITH_ORGS = 'query($first: Int, $after: String, $filter: UserFilter) { users(first: $first, after: $after, filter: $filter) { pageInfo { hasNextPage endCursor } edges { node { id organizations { name } } } } }';
    const check = async (edges: { node: { id: string; organizations: { name: string }[] } }[]) => {
      for (const { node } of edges) expect(node.organizations.map((o) => o.name)).toEqual(await truth(node.id));
    };
    for (const filter of [undefined, { search: 'orgful' }, { role: 'VIEWER' }, { status: 'ACTIVE', search: 'o' }]) {
      let after: string | null = null;
      const ids: string[] = [];
      for (let guard = 0; guard < 20; guard++) {
        const res: any = await server.gql(PAGE_WITH_ORGS, { first: 2, after, filter }, { token: t.owner.token });
        expect(res.errors).toBeUndefined();
        await check(res.data.users.edges);
        ids.push(...res.data.users.edges.map((e: any) => e.node.id));
        if (!res.data.users.pageInfo.hasNextPage) break;
        after = res.data.users.pageInfo.endCursor;
      }
      if (filter?.search === 'orgful') expect(ids.sort()).toEqual([a.user.id, c.user.id].sort());
    }
    // Two pages in one operation (aliases), and a user asked for twice: each answer is its own.
    const both = await server.gql(
      'query($u: UUID!) { first: users(first: 3) { edges { node { id organizations { name } } } } all: users(first: 50) { edges { node { id organizations { name } } } } one: user(id: $u) { organizations { name } } }',
      { u: a.user.id },
      { token: t.owner.token },
    );
    await check(both.data.first.edges);
    await check(both.data.all.edges);
    expect(both.data.all.edges.map((e: any) => e.node.id)).toEqual(expect.arrayContaining([a.user.id, b.user.id, c.user.id]));
    expect(both.data.one.organizations).toEqual([{ name: 'Alpha team' }, { name: 'Zeta team' }]);
  });

  it('costs a constant number of SQL round trips per operation, whatever the page size', async () => {
    const orgs = [await t.organization(), await t.organization()];
    for (let i = 0; i < 25; i++) {
      const u = await t.user('MEMBER');
      await server.gql('mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role } }', { o: orgs[i % 2]!.id, u: u.user.id }, { token: t.owner.token });
    }
    const trips = async (first: number) => {
      const before = server.queryCount();
      const res = await server.gql(`{ users(first: ${first}) { edges { node { id email organizations { name } } } } }`, {}, { token: t.owner.token });
      expect(res.data.users.edges).toHaveLength(first);
      return server.queryCount() - before;
    };
    const counts = [await trips(2), await trips(10), await trips(30)];
    expect(new Set(counts).size).toBe(1);
    expect(counts[0]).toBeLessThanOrEqual(5); // BEGIN, app_begin, users, memberships batch, COMMIT
  });

  it('sends drizzle statements prepared, so a statement with parameters is one round trip, not Describe then Bind', async () => {
    // drizzle runs queries through postgres.js `unsafe()` unprepared; unprepared, postgres.js waits
    // for a Describe before every Bind. src/db/client.ts prepares them (once per connection).
    const prepared = await inTenant(server.app.db, actors.system('test', t.tenant.id), async (tx) => {
      await tx.select({ id: users.id }).from(users).where(eq(users.email, 'prepared-probe@example.test'));
      return tx.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like '%prepared-probe%' or (statement like 'select "id" from "users" where "users"."email" = $1%')`);
    });
    expect((prepared as unknown as { n: number }[])[0]!.n).toBe(1);
  });

  it('the prepared view of the client keeps postgres.js\'s call forms', async () => {
    const sql = server.app.db.$client;
    expect(await sql.unsafe('select 1 as n')).toEqual([{ n: 1 }]);
    expect(await sql.unsafe('select $1::int as n', [2])).toEqual([{ n: 2 }]);
    const inTx = await sql.begin('read only', async (tx) => {
      const named = await tx.savepoint('probe', (sp) => sp.unsafe('select $1::int as n', [3]));
      return [...named, ...(await tx`select ${4}::int as n`)];
    });
    expect(inTx).toEqual([{ n: 3 }, { n: 4 }]);
    const reserved = await sql.reserve();
    try {
      expect(await reserved.unsafe('select $1::int as n', [5])).toEqual([{ n: 5 }]);
    } finally {
      reserved.release();
    }
  });
});
