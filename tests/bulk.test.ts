/**
 * Bulk mutations (issue 15): createUsers, updateUsers, addOrganizationMembers. Each item succeeds or
 * fails on its own with a result at its index; statements per call don't grow with the items.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import type { SeededTenant } from './helpers/seed.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const CREATE_USERS = `mutation($inputs: [CreateUserInput!]!) { createUsers(inputs: $inputs) { succeeded failed results { index user { id email status role } error { code message fields { field message } } } } }`;
const UPDATE_USERS = `mutation($inputs: [UpdateUsersItem!]!) { updateUsers(inputs: $inputs) { succeeded failed results { index user { id name role status } error { code message } } } }`;
const ADD_MEMBERS = `mutation($org: UUID!, $members: [OrganizationMemberInput!]!) { addOrganizationMembers(organizationId: $org, members: $members) { succeeded failed results { index member { role user { id } } error { code message } } } }`;

const invitees = (n: number, tag = crypto.randomBytes(3).toString('hex')) => Array.from({ length: n }, (_, i) => ({ email: `bulk-${tag}-${i}@bulk.test`, name: `Bulk ${i}` }));

/** Statements the app pool sent for one request. */
async function statements<T>(run: () => Promise<T>): Promise<{ result: T; n: number }> {
  const before = server.queryCount();
  const result = await run();
  return { result, n: server.queryCount() - before };
}

async function bigTenant(): Promise<SeededTenant> {
  return server.seed.tenant();
}

describe('createUsers', () => {
  it('500 items in one call: a result per item, bad items fail alone with their code and fields, one audit entry per row with the call’s request id', async () => {
    const t = await bigTenant();
    const admin = await t.user('ADMIN');
    const items: Record<string, unknown>[] = invitees(500);
    items[3] = { email: 'long@bulk.test', name: ' ', password: 'short' }; // BAD_USER_INPUT naming both fields (a malformed email is the EmailAddress scalar's: it refuses the whole call)
    items[7] = { ...items[6] }; // the same email as item 6: CONFLICT
    items[9] = { email: admin.user.email, name: 'Taken' }; // already in the tenant: CONFLICT
    items[11] = { email: 'boss@bulk.test', name: 'Boss', role: 'OWNER' }; // above the ADMIN's role: FORBIDDEN
    items[12] = { email: 'pw@bulk.test', name: 'With password', password: 'a-long-password' };
    const requestId = `bulk-${crypto.randomUUID()}`;
    const res = await server.gql(CREATE_USERS, { inputs: items }, { token: admin.token, headers: { 'x-request-id': requestId } });
    expect(res.errors).toBeUndefined();
    const { results, succeeded, failed } = res.data.createUsers;
    expect(results).toHaveLength(500);
    expect(results.map((r: { index: number }) => r.index)).toEqual([...Array(500).keys()]);
    expect([succeeded, failed]).toEqual([496, 4]);
    expect(results[3].user).toBeNull();
    expect(results[3].error.code).toBe('BAD_USER_INPUT');
    expect(results[3].error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['name', 'password']);
    expect(results[7].error.code).toBe('CONFLICT');
    expect(results[6].user.email).toBe(items[6]!.email);
    expect(results[9].error.code).toBe('CONFLICT');
    expect(results[11].error.code).toBe('FORBIDDEN');
    expect(results[12].user.status).toBe('ACTIVE');
    expect(results[0].user.status).toBe('INVITED');
    await server.sealAudit();
    const audit = (await server.ownerSql`select count(*)::int as n, count(distinct request_id)::int as ids, min(request_id) as id from audit_logs where tenant_id = ${t.tenant.id} and entity_type = 'users' and action = 'INSERT' and request_id = ${requestId}`)[0]!;
    expect(audit).toEqual({ n: 496, ids: 1, id: requestId });
  });

  it('statements per call do not grow with the items: 5 items and 500 cost the same', async () => {
    const t = await bigTenant();
    await server.gql('{ tenant { id } }', {}, { token: t.owner.token }); // the tenant's plan is read once a minute (rate limits): not part of the call
    const small = await statements(() => server.gql(CREATE_USERS, { inputs: invitees(5) }, { token: t.owner.token }));
    const large = await statements(() => server.gql(CREATE_USERS, { inputs: invitees(500) }, { token: t.owner.token }));
    expect(small.result.data.createUsers.succeeded).toBe(5);
    expect(large.result.data.createUsers.succeeded).toBe(500);
    expect(large.n).toBe(small.n);
    expect(small.n).toBeLessThanOrEqual(8);
  });

  it('more than 500 items, or none, is refused as a whole (BAD_USER_INPUT); an API key can’t create OWNERs in bulk either', async () => {
    const t = await bigTenant();
    for (const n of [0, 501]) {
      const res = await server.gql(CREATE_USERS, { inputs: invitees(n) }, { token: t.owner.token });
      expect(errorCode(res), String(n)).toBe('BAD_USER_INPUT');
    }
    const key = (await server.gql('mutation { createApiKey(input: { name: "bulk", role: OWNER }) { key } }', {}, { token: t.owner.token })).data.createApiKey.key;
    const res = await server.gql(CREATE_USERS, { inputs: [{ email: 'o@bulk.test', name: 'O', role: 'OWNER' }, { email: 'm@bulk.test', name: 'M' }] }, { token: key });
    expect(res.data.createUsers.results.map((r: { error: { code: string } | null }) => r.error?.code ?? 'OK')).toEqual(['FORBIDDEN', 'OK']);
  });

  it('the cost limit counts items: a rich selection is fine for 5 items and refused for 500', async () => {
    const t = await bigTenant();
    const rich = `mutation($inputs: [CreateUserInput!]!) { createUsers(inputs: $inputs) { results { index error { code message fields { field message } } user { id email name role status createdAt updatedAt memberships { role joinedAt organization { id name description createdAt } } } } } }`;
    expect((await server.gql(rich, { inputs: invitees(5) }, { token: t.owner.token })).errors).toBeUndefined();
    const refused = await server.gql(rich, { inputs: invitees(500) }, { token: t.owner.token });
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors![0]!.message).toMatch(/cost/i);
    expect((await server.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id}`)[0]!.n).toBe(6); // the owner and the 5
  });
});

describe('updateUsers', () => {
  it('role, status and name per item; the single mutations’ rules per item; constant statements', async () => {
    const t = await bigTenant();
    const admin = await t.user('ADMIN');
    const created = (await server.gql(CREATE_USERS, { inputs: invitees(50).map((u) => ({ ...u, password: 'a-long-password' })) }, { token: t.owner.token })).data.createUsers.results.map(
      (r: { user: { id: string } }) => r.user.id,
    );
    const other = await server.seed.tenant();
    const res = await server.gql(
      UPDATE_USERS,
      {
        inputs: [
          { id: created[0], role: 'ADMIN', name: 'Promoted' },
          { id: created[1], status: 'DEACTIVATED' },
          { id: created[2], role: 'OWNER' }, // above the ADMIN caller: FORBIDDEN
          { id: t.owner.user.id, status: 'DEACTIVATED' }, // an OWNER, above the caller: FORBIDDEN
          { id: admin.user.id, status: 'DEACTIVATED' }, // oneself: FORBIDDEN
          { id: other.owner.user.id, name: 'Elsewhere' }, // another tenant's user: NOT_FOUND
          { id: created[3] }, // nothing to change: BAD_USER_INPUT
          { id: created[0], name: 'Twice' }, // the same user twice: CONFLICT
        ],
      },
      { token: admin.token },
    );
    expect(res.errors).toBeUndefined();
    const codes = res.data.updateUsers.results.map((r: { error: { code: string } | null }) => r.error?.code ?? 'OK');
    expect(codes).toEqual(['OK', 'OK', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT']);
    expect(res.data.updateUsers.results[0].user).toMatchObject({ name: 'Promoted', role: 'ADMIN' });
    expect(res.data.updateUsers.results[1].user.status).toBe('DEACTIVATED');
    expect((await server.ownerSql`select name from users where id = ${other.owner.user.id}`)[0]!.name).not.toBe('Elsewhere');

    // The last active OWNER can't be removed, even by two items that each look fine alone.
    const coOwner = await t.user('OWNER');
    const owners = await server.gql(UPDATE_USERS, { inputs: [{ id: coOwner.user.id, role: 'ADMIN' }, { id: t.owner.user.id, role: 'MEMBER' }] }, { token: coOwner.token });
    expect(owners.data.updateUsers.results.map((r: { error: { code: string } | null }) => r.error?.code ?? 'OK')).toEqual(['OK', 'CONFLICT']);
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id} and role = 'OWNER' and status = 'ACTIVE'`) as unknown as [{ n: number }];
    expect(n).toBe(1);

    const few = await statements(() => server.gql(UPDATE_USERS, { inputs: created.slice(10, 15).map((id: string) => ({ id, role: 'VIEWER', status: 'DEACTIVATED' })) }, { token: t.owner.token }));
    const many = await statements(() => server.gql(UPDATE_USERS, { inputs: created.slice(5, 50).map((id: string) => ({ id, role: 'MEMBER', status: 'ACTIVE', name: 'Again' })) }, { token: t.owner.token }));
    expect(few.result.data.updateUsers.succeeded).toBe(5);
    expect(many.result.data.updateUsers.succeeded).toBe(45);
    expect(many.n).toBe(few.n);
  });
});

describe('addOrganizationMembers', () => {
  it('per item: unknown user, twice in the call, already a member; constant statements; organization ADMINs only', async () => {
    const t = await bigTenant();
    const ids = (await server.gql(CREATE_USERS, { inputs: invitees(60) }, { token: t.owner.token })).data.createUsers.results.map((r: { user: { id: string } }) => r.user.id);
    const org = await t.organization('Bulk org');
    const res = await server.gql(
      ADD_MEMBERS,
      { org: org.id, members: [{ userId: ids[0], role: 'ADMIN' }, { userId: crypto.randomUUID() }, { userId: ids[0] }, { userId: ids[1] }] },
      { token: t.owner.token },
    );
    expect(res.data.addOrganizationMembers.results.map((r: { error: { code: string } | null }) => r.error?.code ?? 'OK')).toEqual(['OK', 'NOT_FOUND', 'CONFLICT', 'OK']);
    const again = await server.gql(ADD_MEMBERS, { org: org.id, members: [{ userId: ids[1] }] }, { token: t.owner.token });
    expect(again.data.addOrganizationMembers.results[0].error.code).toBe('CONFLICT');
    const member = await t.user('MEMBER');
    expect(errorCode(await server.gql(ADD_MEMBERS, { org: org.id, members: [{ userId: ids[2] }] }, { token: member.token }))).toBe('FORBIDDEN');

    const few = await statements(() => server.gql(ADD_MEMBERS, { org: org.id, members: ids.slice(2, 7).map((userId: string) => ({ userId })) }, { token: t.owner.token }));
    const many = await statements(() => server.gql(ADD_MEMBERS, { org: org.id, members: ids.slice(7, 60).map((userId: string) => ({ userId })) }, { token: t.owner.token }));
    expect(many.result.data.addOrganizationMembers.succeeded).toBe(53);
    expect(many.n).toBe(few.n);
  });
});
