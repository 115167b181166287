import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, OPERATOR, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let operatorToken: string;

const PLATFORM_LOGIN = 'mutation($e: EmailAddress!, $p: String!) { platformLogin(email: $e, password: $p) { accessToken } }';

beforeAll(async () => {
  server = await startTestServer();
  operatorToken = (await server.gql(PLATFORM_LOGIN, { e: OPERATOR.email, p: OPERATOR.password })).data.platformLogin.accessToken;
});
afterAll(() => server.close());

describe('platform operator', () => {
  it('wrong operator credentials are refused', async () => {
    expect(errorCode(await server.gql(PLATFORM_LOGIN, { e: OPERATOR.email, p: 'wrong-password-xx' }))).toBe('UNAUTHENTICATED');
  });

  it('creates a tenant whose owner can log in, lists it, suspends and reactivates it', async () => {
    const created = await server.gql(
      'mutation { createTenant(input: { slug: "globex", name: "Globex", plan: PRO, ownerEmail: "hank@globex.test", ownerName: "Hank", ownerPassword: "a-long-password" }) { id slug plan status } }',
      {},
      { token: operatorToken },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data.createTenant).toMatchObject({ slug: 'globex', plan: 'PRO', status: 'ACTIVE' });
    const id = created.data.createTenant.id;
    const login = await server.gql('mutation { login(input: { tenantSlug: "globex", email: "hank@globex.test", password: "a-long-password" }) { user { role } } }');
    expect(login.data.login.user.role).toBe('OWNER');
    const list = await server.gql('{ platformTenants { id slug } }', {}, { token: operatorToken });
    expect(list.data.platformTenants.map((t: any) => t.slug)).toContain('globex');
    const suspended = await server.gql('mutation($id: UUID!) { suspendTenant(id: $id) { status } }', { id }, { token: operatorToken });
    expect(suspended.data.suspendTenant.status).toBe('SUSPENDED');
    const refused = await server.gql('mutation { login(input: { tenantSlug: "globex", email: "hank@globex.test", password: "a-long-password" }) { accessToken } }');
    expect(errorCode(refused)).toBe('FORBIDDEN');
    const back = await server.gql('mutation($id: UUID!) { reactivateTenant(id: $id) { status } }', { id }, { token: operatorToken });
    expect(back.data.reactivateTenant.status).toBe('ACTIVE');
    const plan = await server.gql('mutation($id: UUID!) { changeTenantPlan(id: $id, plan: ENTERPRISE) { plan } }', { id }, { token: operatorToken });
    expect(plan.data.changeTenantPlan.plan).toBe('ENTERPRISE');
  });

  it('rejects a taken slug with CONFLICT and a bad slug with BAD_USER_INPUT field details', async () => {
    const make = (slug: string) =>
      server.gql('mutation($s: String!) { createTenant(input: { slug: $s, name: "X", ownerEmail: "o@x.test", ownerName: "O" }) { id } }', { s: slug }, { token: operatorToken });
    expect((await make('initech')).errors).toBeUndefined();
    expect(errorCode(await make('initech'))).toBe('CONFLICT');
    const bad = await make('Not A Slug!');
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ field: 'slug' })]);
  });

  it('an unknown tenant id is NOT_FOUND', async () => {
    const res = await server.gql('mutation { suspendTenant(id: "00000000-0000-4000-8000-000000000000") { id } }', {}, { token: operatorToken });
    expect(errorCode(res)).toBe('NOT_FOUND');
  });

  it('the operator has no tenant: tenant-scoped fields are FORBIDDEN', async () => {
    expect(errorCode(await server.gql('{ users { totalCount } }', {}, { token: operatorToken }))).toBe('FORBIDDEN');
  });

  it('the app role cannot reach tenants across the boundary except through platform functions', async () => {
    await expect(server.appSql`update tenants set status = 'SUSPENDED'`).rejects.toMatchObject({ code: '42501' }); // no column grant
    await expect(server.appSql`insert into tenants (slug, name) values ('raw', 'Raw')`).rejects.toMatchObject({ code: '42501' });
  });
});
