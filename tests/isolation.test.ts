import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededTenant, SeededUser } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import type { OrganizationRow } from '../src/db/schema.js';

let server: TestServer;
let a: SeededTenant;
let b: SeededTenant;
let bMember: SeededUser;
let bOrg: OrganizationRow;
let aOrg: OrganizationRow;

beforeAll(async () => {
  server = await startTestServer();
  a = await server.seed.tenant();
  b = await server.seed.tenant();
  bMember = await b.user('MEMBER', 'Bea From B');
  bOrg = await b.organization('B secret org', [{ user: bMember.user }]);
  aOrg = await a.organization('A org', [{ user: a.owner.user }]);
});
afterAll(() => server.close());

/** Snapshot of B's data as the owner sees it, to prove nothing changed. */
async function snapshotB() {
  return server.ownerSql`
    select (select json_agg(u order by id) from users u where tenant_id = ${b.tenant.id}) as users,
           (select json_agg(o order by id) from organizations o where tenant_id = ${b.tenant.id}) as orgs,
           (select json_agg(m order by user_id) from organization_memberships m where tenant_id = ${b.tenant.id}) as members`;
}

describe('tenant isolation through GraphQL (A\'s OWNER aims at B\'s ids)', () => {
  it('lists show only A\'s rows', async () => {
    const res = await server.gql('{ users(first: 100) { totalCount edges { node { id email } } } organizations(first: 100) { edges { node { id } } } }', {}, { token: a.owner.token });
    const ids = res.data.users.edges.map((e: any) => e.node.id);
    expect(ids).toContain(a.owner.user.id);
    expect(ids).not.toContain(bMember.user.id);
    expect(ids).not.toContain(b.owner.user.id);
    expect(res.data.organizations.edges.map((e: any) => e.node.id)).toEqual([aOrg.id]);
    const search = await server.gql('{ users(filter: { search: "Bea" }) { totalCount edges { node { id } } } }', {}, { token: a.owner.token });
    expect(search.data.users).toEqual({ totalCount: 0, edges: [] });
  });

  it('lookups by B\'s ids return null', async () => {
    const res = await server.gql('query($u: UUID!, $o: UUID!) { user(id: $u) { id } organization(id: $o) { id } }', { u: bMember.user.id, o: bOrg.id }, { token: a.owner.token });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ user: null, organization: null });
  });

  it('organizations read ahead with a user or a page never show B\'s: B\'s user id, through fragments, after the operation is compiled', async () => {
    const query = 'query($u: UUID!) { user(id: $u) { ...U } users(first: 100) { edges { node { id organizations { id name } } } } } fragment U on User { id organizations { id name } }';
    for (let run = 0; run < 3; run++) {
      const res = await server.gql(query, { u: bMember.user.id }, { token: a.owner.token });
      expect(res.errors).toBeUndefined();
      expect(res.data.user).toBeNull();
      const orgIds = res.data.users.edges.flatMap((e: any) => e.node.organizations.map((o: any) => o.id));
      expect(orgIds).toContain(aOrg.id);
      expect(orgIds).not.toContain(bOrg.id);
      expect(JSON.stringify(res.data)).not.toContain('B secret org');
    }
  });

  const mutations: [string, string, () => Record<string, unknown>][] = [
    ['updateUser', 'mutation($id: UUID!) { updateUser(id: $id, input: { name: "pwned" }) { id } }', () => ({ id: bMember.user.id })],
    ['changeUserRole', 'mutation($id: UUID!) { changeUserRole(id: $id, role: VIEWER) { id } }', () => ({ id: bMember.user.id })],
    ['deactivateUser', 'mutation($id: UUID!) { deactivateUser(id: $id) { id } }', () => ({ id: bMember.user.id })],
    ['reactivateUser', 'mutation($id: UUID!) { reactivateUser(id: $id) { id } }', () => ({ id: bMember.user.id })],
    ['deleteUser', 'mutation($id: UUID!) { deleteUser(id: $id) { id } }', () => ({ id: bMember.user.id })],
    ['updateOrganization', 'mutation($id: UUID!) { updateOrganization(id: $id, input: { name: "pwned" }) { id } }', () => ({ id: bOrg.id })],
    ['deleteOrganization', 'mutation($id: UUID!) { deleteOrganization(id: $id) { id } }', () => ({ id: bOrg.id })],
    ['addOrganizationMember (B org)', 'mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role } }', () => ({ o: bOrg.id, u: a.owner.user.id })],
    ['addOrganizationMember (B user into A org)', 'mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role } }', () => ({ o: aOrg.id, u: bMember.user.id })],
    ['changeOrganizationMemberRole', 'mutation($o: UUID!, $u: UUID!) { changeOrganizationMemberRole(organizationId: $o, userId: $u, role: ADMIN) { role } }', () => ({ o: bOrg.id, u: bMember.user.id })],
    ['removeOrganizationMember', 'mutation($o: UUID!, $u: UUID!) { removeOrganizationMember(organizationId: $o, userId: $u) { id } }', () => ({ o: bOrg.id, u: bMember.user.id })],
  ];

  it.each(mutations)('%s answers NOT_FOUND and changes nothing in B', async (_name, query, vars) => {
    const before = await snapshotB();
    const res = await server.gql(query, vars(), { token: a.owner.token });
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(await snapshotB()).toEqual(before);
  });

  it('creating a user with an email that exists only in B succeeds in A (uniqueness is per tenant)', async () => {
    const res = await server.gql('mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "Twin" }) { email status } }', { e: bMember.user.email }, { token: a.owner.token });
    expect(res.errors).toBeUndefined();
    expect(res.data.createUser).toEqual({ email: bMember.user.email, status: 'INVITED' });
  });

  it('a duplicate inside A answers CONFLICT without naming anything of B', async () => {
    const res = await server.gql('mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "Dup" }) { id } }', { e: a.owner.user.email.toUpperCase() }, { token: a.owner.token });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(JSON.stringify(res.errors)).not.toMatch(/users_tenant|constraint|duplicate key|tenant_id/);
  });

  it('a token whose tid names B but is signed for A\'s user is refused (user not in B)', async () => {
    const forged = await server.app.tokens.signUserToken({ id: a.owner.user.id, tenantId: b.tenant.id, role: 'OWNER' });
    const res = await server.gql('{ users { edges { node { id } } } }', {}, { token: forged.token });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.data?.users ?? null).toBeNull();
  });

  it('a client-sent tenant header is ignored: the tenant comes from the verified token', async () => {
    const res = await server.gql('{ tenant { id } }', {}, { token: a.owner.token, headers: { 'x-tenant-id': b.tenant.id } });
    expect(res.data.tenant.id).toBe(a.tenant.id);
  });
});
