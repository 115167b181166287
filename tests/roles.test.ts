import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantRole } from '../src/auth/tokens.js';
import type { SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;
const tokens = {} as Record<TenantRole, string>;

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
  tokens.OWNER = t.owner.token;
  for (const role of ['ADMIN', 'MEMBER', 'VIEWER'] as const) tokens[role] = (await t.user(role)).token;
});
afterAll(() => server.close());

/** Each case builds a fresh target, so the mutation can succeed when the role allows it. */
interface Case {
  query: string;
  vars: () => Promise<Record<string, unknown>>;
  allowed: TenantRole[];
}
const memberTarget = async () => ({ id: (await t.user('MEMBER')).user.id });
const org = async () => ({ id: (await t.organization()).id });
const ADMINS: TenantRole[] = ['OWNER', 'ADMIN'];

const cases: Record<string, Case> = {
  updateTenant: { query: 'mutation { updateTenant(input: { name: "Renamed" }) { id } }', vars: async () => ({}), allowed: ['OWNER'] },
  createUser: { query: 'mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "New" }) { id } }', vars: async () => ({ e: `new-${Math.random()}@x.test` }), allowed: ADMINS },
  updateUser: { query: 'mutation($id: UUID!) { updateUser(id: $id, input: { name: "Edited" }) { id } }', vars: memberTarget, allowed: ADMINS },
  changeUserRole: { query: 'mutation($id: UUID!) { changeUserRole(id: $id, role: VIEWER) { role } }', vars: memberTarget, allowed: ADMINS },
  deactivateUser: { query: 'mutation($id: UUID!) { deactivateUser(id: $id) { status } }', vars: memberTarget, allowed: ADMINS },
  reactivateUser: { query: 'mutation($id: UUID!) { reactivateUser(id: $id) { status } }', vars: memberTarget, allowed: ADMINS },
  deleteUser: { query: 'mutation($id: UUID!) { deleteUser(id: $id) { id } }', vars: memberTarget, allowed: ADMINS },
  createOrganization: { query: 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', vars: async () => ({ n: `Org ${Math.random()}` }), allowed: ADMINS },
  updateOrganization: { query: 'mutation($id: UUID!) { updateOrganization(id: $id, input: { description: "d" }) { id } }', vars: org, allowed: ADMINS },
  deleteOrganization: { query: 'mutation($id: UUID!) { deleteOrganization(id: $id) { id } }', vars: org, allowed: ADMINS },
  addOrganizationMember: {
    query: 'mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role } }',
    vars: async () => ({ o: (await org()).id, u: (await memberTarget()).id }),
    allowed: ADMINS,
  },
  changeOrganizationMemberRole: {
    query: 'mutation($o: UUID!, $u: UUID!) { changeOrganizationMemberRole(organizationId: $o, userId: $u, role: ADMIN) { role } }',
    vars: async () => {
      const u = await t.user('MEMBER');
      return { o: (await t.organization(undefined, [{ user: u.user }])).id, u: u.user.id };
    },
    allowed: ADMINS,
  },
  removeOrganizationMember: {
    query: 'mutation($o: UUID!, $u: UUID!) { removeOrganizationMember(organizationId: $o, userId: $u) { id } }',
    vars: async () => {
      const u = await t.user('MEMBER');
      return { o: (await t.organization(undefined, [{ user: u.user }])).id, u: u.user.id };
    },
    allowed: ADMINS,
  },
  createTenant: {
    query: 'mutation { createTenant(input: { slug: "sneaky", name: "S", ownerEmail: "o@s.test", ownerName: "O" }) { id } }',
    vars: async () => ({}),
    allowed: [],
  },
  suspendTenant: { query: 'mutation($id: UUID!) { suspendTenant(id: $id) { id } }', vars: async () => ({ id: t.tenant.id }), allowed: [] },
  reactivateTenant: { query: 'mutation($id: UUID!) { reactivateTenant(id: $id) { id } }', vars: async () => ({ id: t.tenant.id }), allowed: [] },
  changeTenantPlan: { query: 'mutation($id: UUID!) { changeTenantPlan(id: $id, plan: ENTERPRISE) { id } }', vars: async () => ({ id: t.tenant.id }), allowed: [] },
};

const ROLES: TenantRole[] = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'];
const matrix = Object.entries(cases).flatMap(([name, c]) => ROLES.map((role) => [name, role, c.allowed.includes(role)] as const));

describe('role matrix: every mutation × every role', () => {
  it.each(matrix)('%s as %s → allowed: %s', async (name, role, allowed) => {
    const c = cases[name]!;
    const res = await server.gql(c.query, await c.vars(), { token: tokens[role] });
    if (allowed) {
      expect(res.errors).toBeUndefined();
      expect(res.data[name]).toBeTruthy();
    } else {
      expect(errorCode(res)).toBe('FORBIDDEN');
    }
  });

  it.each(Object.keys(cases))('%s without a token → UNAUTHENTICATED', async (name) => {
    const c = cases[name]!;
    const res = await server.gql(c.query, await c.vars());
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });
});

describe('rules that depend on the target', () => {
  const q = {
    update: 'mutation($id: UUID!) { updateUser(id: $id, input: { name: "x" }) { id } }',
    role: 'mutation($id: UUID!, $r: Role!) { changeUserRole(id: $id, role: $r) { role } }',
    deactivate: 'mutation($id: UUID!) { deactivateUser(id: $id) { status } }',
    del: 'mutation($id: UUID!) { deleteUser(id: $id) { id } }',
  };

  it('ADMINs cannot touch OWNERs or grant OWNER', async () => {
    const owner2 = await t.user('OWNER');
    for (const query of [q.update, q.deactivate, q.del]) expect(errorCode(await server.gql(query, { id: owner2.user.id }, { token: tokens.ADMIN }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(q.role, { id: owner2.user.id, r: 'MEMBER' }, { token: tokens.ADMIN }))).toBe('FORBIDDEN');
    const member = await t.user('MEMBER');
    expect(errorCode(await server.gql(q.role, { id: member.user.id, r: 'OWNER' }, { token: tokens.ADMIN }))).toBe('FORBIDDEN');
    const create = await server.gql('mutation { createUser(input: { email: "boss@x.test", name: "Boss", role: OWNER }) { id } }', {}, { token: tokens.ADMIN });
    expect(errorCode(create)).toBe('FORBIDDEN');
  });

  it('nobody can raise their own role; anyone may edit their own name', async () => {
    const admin = await t.user('ADMIN');
    expect(errorCode(await server.gql(q.role, { id: admin.user.id, r: 'OWNER' }, { token: admin.token }))).toBe('FORBIDDEN');
    const viewer = await t.user('VIEWER');
    expect(errorCode(await server.gql(q.role, { id: viewer.user.id, r: 'ADMIN' }, { token: viewer.token }))).toBe('FORBIDDEN');
    const self = await server.gql('mutation($id: UUID!) { updateUser(id: $id, input: { name: "Me Myself" }) { name } }', { id: viewer.user.id }, { token: viewer.token });
    expect(self.data.updateUser.name).toBe('Me Myself');
  });

  it('the last active OWNER cannot be demoted, deactivated or deleted; with a second OWNER, demotion works', async () => {
    const solo = await server.seed.tenant();
    const id = solo.owner.user.id;
    const demote = await server.gql(q.role, { id, r: 'ADMIN' }, { token: solo.owner.token });
    expect(errorCode(demote)).toBe('CONFLICT');
    const second = await solo.user('OWNER');
    // With a second OWNER, the first can be deactivated...
    expect(errorCode(await server.gql(q.deactivate, { id }, { token: second.token }))).toBeUndefined();
    // ...and now the second is the last active OWNER: it cannot demote itself.
    expect(errorCode(await server.gql(q.role, { id: second.user.id, r: 'ADMIN' }, { token: second.token }))).toBe('CONFLICT');
    expect(errorCode(await server.gql(q.del, { id: second.user.id }, { token: second.token }))).toBe('FORBIDDEN'); // never yourself
  });

  it('two OWNERs demoting each other at the same moment leave one OWNER', async () => {
    const tt = await server.seed.tenant();
    const other = await tt.user('OWNER');
    const results = await Promise.all([
      server.gql(q.role, { id: other.user.id, r: 'ADMIN' }, { token: tt.owner.token }),
      server.gql(q.role, { id: tt.owner.user.id, r: 'ADMIN' }, { token: other.token }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from users where tenant_id = ${tt.tenant.id} and role = 'OWNER'`) as unknown as [{ n: number }];
    expect(n).toBe(1);
  });

  it('four OWNERs demoting and deactivating each other at once: queued, not deadlocked (no "concurrent change", no 503), and one OWNER is left', async () => {
    const tt = await server.seed.tenant();
    const owners = [tt.owner, ...(await Promise.all([1, 2, 3].map(() => tt.user('OWNER'))))];
    const calls = owners.flatMap((o, i) => {
      const next = owners[(i + 1) % owners.length]!;
      return [
        server.gql(q.role, { id: next.user.id, r: 'VIEWER' }, { token: o.token }),
        server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { id } }', { id: next.user.id }, { token: o.token }),
      ];
    });
    const results = await Promise.all(calls);
    for (const r of results) {
      if (!r.errors) continue;
      // Refused because the caller was demoted or deactivated meanwhile, or to keep an OWNER: never a lock's casualty.
      expect(r.errors[0]!.extensions!.code).toMatch(/^(CONFLICT|FORBIDDEN|UNAUTHENTICATED)$/);
      expect(r.errors[0]!.message).not.toMatch(/concurrent change|took too long/);
    }
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from users where tenant_id = ${tt.tenant.id} and role = 'OWNER' and status = 'ACTIVE'`) as unknown as [{ n: number }];
    expect(n).toBeGreaterThanOrEqual(1);
  });

  it('an organization ADMIN who is a tenant MEMBER manages their own organization only', async () => {
    const lead = await t.user('MEMBER');
    const mine = await t.organization(undefined, [{ user: lead.user, role: 'ADMIN' }]);
    const theirs = await t.organization();
    const newcomer = await t.user('MEMBER');
    const add = 'mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role user { id } } }';
    expect((await server.gql(add, { o: mine.id, u: newcomer.user.id }, { token: lead.token })).data.addOrganizationMember.user.id).toBe(newcomer.user.id);
    expect(errorCode(await server.gql(add, { o: theirs.id, u: newcomer.user.id }, { token: lead.token }))).toBe('FORBIDDEN');
  });

  it('a demotion takes effect at once, even with a token that still says ADMIN', async () => {
    const admin = await t.user('ADMIN');
    await server.gql(q.role, { id: admin.user.id, r: 'VIEWER' }, { token: tokens.OWNER });
    const res = await server.gql('mutation { createOrganization(input: { name: "Too late" }) { id } }', {}, { token: admin.token });
    expect(errorCode(res)).toBe('FORBIDDEN');
  });
});
