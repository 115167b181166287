import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('RLS catalog (ARCHITECTURE invariant 1)', () => {
  it('every table with a tenant_id has RLS enabled and forced, and a tenant policy with USING and WITH CHECK', async () => {
    const tables = await server.ownerSql<{ table: string; rls: boolean; forced: boolean; notNull: boolean }[]>`
      select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as forced, a.attnotnull as "notNull"
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
      where c.relkind in ('r', 'p')`;
    expect(tables.length).toBeGreaterThanOrEqual(4);
    const policies = await server.ownerSql<{ table: string; qual: string | null; withCheck: string | null; roles: string[] }[]>`
      select tablename as table, qual, with_check as "withCheck", roles from pg_policies where schemaname = 'public'`;
    const problems: string[] = [];
    for (const t of [...tables, { table: 'tenants', rls: true, forced: true, notNull: true }]) {
      const real = t.table === 'tenants' ? (await server.ownerSql`select relrowsecurity as rls, relforcerowsecurity as forced from pg_class where relname = 'tenants'`)[0]! : t;
      if (!real.rls) problems.push(`${t.table}: RLS not enabled`);
      if (!real.forced) problems.push(`${t.table}: RLS not forced`);
      if (!t.notNull) problems.push(`${t.table}: tenant_id nullable`);
      const tenantPolicy = policies.find(
        (p) => p.table === t.table && p.roles.includes('public') && p.qual?.includes("current_setting('app.tenant_id'") && p.withCheck?.includes("current_setting('app.tenant_id'"),
      );
      if (!tenantPolicy) problems.push(`${t.table}: no tenant policy with both USING and WITH CHECK on app.tenant_id`);
    }
    expect(problems).toEqual([]);
  });

  it('the app role is not superuser, cannot bypass RLS and owns nothing', async () => {
    const [role] = await server.appSql<{ rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean }[]>`
      select rolsuper, rolbypassrls, rolcreaterole from pg_roles where rolname = current_user`;
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcreaterole: false });
    const owned = await server.ownerSql`select c.relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname in ('tessera_app')`;
    expect(owned).toHaveLength(0);
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from pg_proc p join pg_roles r on r.oid = p.proowner where r.rolname = 'tessera_app'`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });

  it('every foreign key between tenant tables includes tenant_id', async () => {
    const fks = await server.ownerSql<{ name: string; cols: string[] }[]>`
      select con.conname as name, array(select a.attname::text from unnest(con.conkey) k join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k) as cols
      from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      where con.contype = 'f' and con.confrelid <> 'tenants'::regclass`;
    expect(fks.length).toBeGreaterThan(0);
    expect(fks.filter((fk) => !fk.cols.includes('tenant_id'))).toEqual([]);
  });
});

describe('RLS at the SQL level, as the app role', () => {
  it('with no tenant set, every tenant table returns zero rows', async () => {
    const a = await server.seed.tenant();
    await a.user('MEMBER');
    await a.organization('Visible only to A', [{ user: a.owner.user }]);
    for (const table of ['tenants', 'users', 'organizations', 'organization_memberships', 'refresh_tokens']) {
      const rows = await server.appSql.unsafe(`select * from ${table}`);
      expect(rows, table).toHaveLength(0);
    }
    // ...and a reused connection after a transaction-local setting reads '' — still zero rows, no cast error.
    const rows = await server.appSql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
      return tx`select id from users`;
    });
    expect(rows.length).toBeGreaterThan(0);
    expect(await server.appSql`select id from users`).toHaveLength(0);
  });

  it('with tenant A set, rows of tenant B are invisible and cannot be written', async () => {
    const a = await server.seed.tenant();
    const b = await server.seed.tenant();
    const bUser = await b.user('MEMBER');
    await server.appSql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
      expect(await tx`select * from users where id = ${bUser.user.id}`).toHaveLength(0);
      const updated = await tx`update users set name = 'pwned' where id = ${bUser.user.id}`;
      expect(updated.count).toBe(0);
      const deleted = await tx`delete from users where tenant_id = ${b.tenant.id}`;
      expect(deleted.count).toBe(0);
    });
    const insert = server.appSql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
      await tx`insert into users (tenant_id, email, name) values (${b.tenant.id}, 'x@evil.test', 'x')`;
    });
    await expect(insert).rejects.toMatchObject({ code: '42501' }); // new row violates row-level security policy
    const moveToB = server.appSql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
      await tx`update users set tenant_id = ${b.tenant.id} where id = ${a.owner.user.id}`;
    });
    await expect(moveToB).rejects.toMatchObject({ code: '42501' });
    const [{ name }] = (await server.ownerSql`select name from users where id = ${bUser.user.id}`) as unknown as [{ name: string }];
    expect(name).not.toBe('pwned');
  });

  it('a membership cannot point at another tenant\'s user, even by id (composite foreign keys)', async () => {
    const a = await server.seed.tenant();
    const b = await server.seed.tenant();
    const org = await a.organization();
    const insert = server.appSql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
      await tx`insert into organization_memberships (tenant_id, organization_id, user_id) values (${a.tenant.id}, ${org.id}, ${b.owner.user.id})`;
    });
    await expect(insert).rejects.toMatchObject({ code: '23503' });
  });

  it('settings do not survive into the next transaction on the same connection', async () => {
    const a = await server.seed.tenant();
    const single = server.appSql; // max 2 connections; run sequentially so the connection is reused
    await single.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
    });
    const [{ setting }] = (await single`select current_setting('app.tenant_id', true) as setting`) as unknown as [{ setting: string | null }];
    expect(setting ?? '').toBe('');
  });
});
