import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actors, appBegin } from '../src/db/tenant-transaction.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/**
 * Every table of ours that is not a tenant table, with the reason. Everything else must be a tenant
 * table: `tenant_id NOT NULL`, RLS enabled and forced, and a policy with USING and WITH CHECK on
 * app.tenant_id. So a new table is either isolated or named here with a reason a reviewer accepts —
 * forgetting `tenant_id` no longer makes a table invisible to the check. pg-boss's own schema (pgboss)
 * is the queue library's and is reached by the app role only through its grants (tested below).
 */
const NOT_TENANT_TABLES: Record<string, string> = {
  'public.tenants': 'the tenant root: keyed by its own id, with RLS forced and a policy on id (checked below)',
  'public.rate_limit_counters': 'shared rate-limit windows keyed by a hash of IP/tenant/user, used before any tenant is known (login); holds no tenant data',
  'drizzle.__drizzle_migrations': "drizzle-kit's record of applied migrations; the app role has no grant on it",
};

/** Schemas that hold no tables of ours. */
const FOREIGN_SCHEMAS = ['pg_catalog', 'information_schema', 'pgboss'];

/** Every relation of ours that breaks the classification above, as readable problems. */
async function unclassifiedTables(sql: TestServer['ownerSql']): Promise<string[]> {
  const relations = await sql<{ name: string; kind: string; hasTenantId: boolean; notNull: boolean; rls: boolean; forced: boolean }[]>`
    select n.nspname || '.' || c.relname as name, c.relkind as kind,
           a.attname is not null as "hasTenantId", coalesce(a.attnotnull, false) as "notNull",
           c.relrowsecurity as rls, c.relforcerowsecurity as forced
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
    where c.relkind in ('r', 'p', 'v', 'm', 'f')
      and n.nspname <> all(${FOREIGN_SCHEMAS}::text[]) and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%'`;
  const policies = await sql<{ name: string; policy: string; permissive: string; qual: string | null; withCheck: string | null; roles: string[] }[]>`
    select schemaname || '.' || tablename as name, policyname as policy, permissive, qual, with_check as "withCheck", roles from pg_policies`;
  const problems: string[] = [];
  const tenantCondition = (column: string) => new RegExp(`(^|\\W)${column} = .*current_setting\\('app\\.tenant_id'`);
  const appliesToApp = (p: { roles: string[] }) => p.roles.includes('public') || p.roles.includes('tessera_app');
  const checkPolicies = (name: string, column: string) => {
    const own = policies.filter((p) => p.name === name && appliesToApp(p));
    if (!own.some((p) => [p.qual, p.withCheck].every((e) => e !== null && tenantCondition(column).test(e)))) {
      problems.push(`${name}: no tenant policy with both USING and WITH CHECK on ${column} = app.tenant_id`);
    }
    // Permissive policies are OR-ed: one that doesn't restrict to the tenant opens the table.
    for (const p of own) {
      if (p.permissive === 'PERMISSIVE' && [p.qual, p.withCheck].some((e) => e !== null && !tenantCondition(column).test(e))) {
        problems.push(`${name}: policy ${p.policy} lets the app role past the tenant condition`);
      }
    }
  };
  for (const r of relations) {
    if (r.name === 'public.tenants') {
      if (!r.rls || !r.forced) problems.push(`${r.name}: RLS not enabled and forced`);
      checkPolicies(r.name, 'id');
      continue;
    }
    if (NOT_TENANT_TABLES[r.name]) continue;
    if (!r.hasTenantId) {
      problems.push(`${r.name}: unclassified (no tenant_id column and not in NOT_TENANT_TABLES)`);
      continue;
    }
    if (r.kind === 'v' || r.kind === 'm' || r.kind === 'f') {
      problems.push(`${r.name}: a view or foreign table with tenant rows bypasses the tables' policies; classify it`);
      continue;
    }
    if (!r.notNull) problems.push(`${r.name}: tenant_id nullable`);
    if (!r.rls) problems.push(`${r.name}: RLS not enabled`);
    if (!r.forced) problems.push(`${r.name}: RLS not forced`);
    checkPolicies(r.name, 'tenant_id');
  }
  for (const name of Object.keys(NOT_TENANT_TABLES)) if (!relations.some((r) => r.name === name)) problems.push(`${name}: allowlisted but gone (stale entry)`);
  return problems;
}

describe('RLS catalog (ARCHITECTURE invariant 1)', () => {
  it('every table in every schema of ours is a tenant table with forced RLS and a tenant policy, or allowlisted with a reason', async () => {
    const [{ n }] = (await server.ownerSql`
      select count(*)::int as n from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
      where c.relkind in ('r', 'p') and ns.nspname = 'public' and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')`) as unknown as [{ n: number }];
    expect(n).toBeGreaterThanOrEqual(15); // the check sees the real schema, not an empty one
    expect(await unclassifiedTables(server.ownerSql)).toEqual([]);
  });

  it('a new table fails the check until it is a tenant table or allowlisted: without tenant_id, in any schema, or without forced RLS', async () => {
    try {
      await server.ownerSql.unsafe(`
        create table public.probe_forgot_tenant (id uuid primary key, note text);
        create schema probe_schema;
        create table probe_schema.probe_elsewhere (id int);
        create table public.probe_no_rls (tenant_id uuid not null references tenants (id), id int);
        create table public.probe_not_forced (tenant_id uuid not null references tenants (id), id int);
        alter table public.probe_not_forced enable row level security;
        create policy tenant_isolation on public.probe_not_forced
          using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
          with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
        create table public.probe_using_only (tenant_id uuid not null references tenants (id), id int);
        alter table public.probe_using_only enable row level security;
        alter table public.probe_using_only force row level security;
        create policy tenant_isolation on public.probe_using_only for select using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
        create table public.probe_leaky (tenant_id uuid not null references tenants (id), id int);
        alter table public.probe_leaky enable row level security;
        alter table public.probe_leaky force row level security;
        create policy tenant_isolation on public.probe_leaky
          using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
          with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
        create policy read_all on public.probe_leaky for select to tessera_app using (true);
        create view public.probe_view as select tenant_id, email from users;`);
      expect((await unclassifiedTables(server.ownerSql)).sort()).toEqual([
        'probe_schema.probe_elsewhere: unclassified (no tenant_id column and not in NOT_TENANT_TABLES)',
        'public.probe_forgot_tenant: unclassified (no tenant_id column and not in NOT_TENANT_TABLES)',
        'public.probe_leaky: policy read_all lets the app role past the tenant condition',
        'public.probe_no_rls: RLS not enabled',
        'public.probe_no_rls: RLS not forced',
        'public.probe_no_rls: no tenant policy with both USING and WITH CHECK on tenant_id = app.tenant_id',
        'public.probe_not_forced: RLS not forced',
        'public.probe_using_only: no tenant policy with both USING and WITH CHECK on tenant_id = app.tenant_id',
        "public.probe_view: a view or foreign table with tenant rows bypasses the tables' policies; classify it",
      ]);
    } finally {
      await server.ownerSql.unsafe(`
        drop view if exists public.probe_view;
        drop table if exists public.probe_forgot_tenant, public.probe_no_rls, public.probe_not_forced, public.probe_using_only, public.probe_leaky;
        drop schema if exists probe_schema cascade;`);
    }
    expect(await unclassifiedTables(server.ownerSql)).toEqual([]);
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

/**
 * Tenant tables that deliberately have no audit trigger (ARCHITECTURE invariant 5 names every other
 * one). Adding a table here needs a reason a reviewer accepts; otherwise attach the trigger in the
 * table's migration with one line: `SELECT audit.attach('my_table');`.
 */
const AUDIT_ALLOWLIST: Record<string, string> = {
  audit_logs: 'the audit trail itself (append-only, hash-chained)',
  audit_chain_heads: 'the chain bookkeeping, written only by the sealer',
  audit_pending: 'entries waiting to be sealed into the chain: written by the trigger, moved into audit_logs by the sealer',
  refresh_tokens: 'sessions are audited as auth events (login, refresh, reuse, logout) instead of token rows',
  integration_call_stats: 'per-minute call counters, high churn, no user-made change',
  integration_health: 'derived health, rewritten on every evaluation; its changes are in integration_health_changes',
  integration_health_changes: 'an append-only history of its own',
  webhook_events: 'the event store is its own record: each delivery, its attempts and last error; the changes its handler makes are audited on their tables',
  sync_runs: 'a run log of its own (counts, times, error); the rows a sync changes are audited on their tables',
  sync_checkpoints: 'sync bookkeeping (a cursor per resource), rewritten by every page',
  sync_seen_records: 'scratch set of a running full sync, emptied when the run ends',
  api_key_usage: 'a key\'s last use (time, IP), rewritten by requests at most once a minute; the key itself is audited on api_keys',
  import_jobs: 'a run log of its own (status, counters, cursor), like sync_runs; the users an import creates are audited on users',
  import_rows: 'staging of an import\'s validated rows, deleted when it ends; what they become is audited on users',
  import_errors: 'the per-row errors of an import, its own record',
  idempotency_records: 'stored responses of idempotent mutations, committed with (and audited through) the changes they record',
  sso_login_attempts: 'SSO sign-ins in flight (state hash, nonce, PKCE verifier), single use and short-lived; the sign-in is an auth event',
  sso_saml_requests: 'SAML AuthnRequest ids in flight (InResponseTo), single use and short-lived; the sign-in is an auth event',
  sso_saml_assertions: 'SAML assertion ids already accepted (the replay store), kept until the assertion expires; the sign-in is an auth event',
  sso_login_codes: 'one-time codes a finished SSO sign-in hands to the frontend, single use, 60 s; the session it starts is an auth event',
  integration_pushes: 'an outbox with its own lifecycle; the change that caused the push is audited on its table',
  sessions: 'a login and its refreshes (last used, IP, user agent): recorded as auth events (LOGIN_SUCCEEDED, SESSION_REFRESHED, SESSION_REVOKED, LOGOUT)',
};

describe('audit catalog (ARCHITECTURE invariant 5)', () => {
  it('every tenant table has the audit row trigger for INSERT, UPDATE and DELETE, unless allowlisted with a reason', async () => {
    const tables = await server.ownerSql<{ table: string; triggered: boolean; events: number | null }[]>`
      select c.relname as table,
             bool_or(t.tgname is not null and p.proname = 'row_change' and pn.nspname = 'audit') as triggered,
             max(t.tgtype::int) filter (where p.proname = 'row_change') as events
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      left join pg_trigger t on t.tgrelid = c.oid and not t.tgisinternal and t.tgenabled <> 'D'
      left join pg_proc p on p.oid = t.tgfoid
      left join pg_namespace pn on pn.oid = p.pronamespace
      where c.relkind in ('r', 'p')
        and (c.relname = 'tenants' or exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
      group by c.relname`;
    expect(tables.length).toBeGreaterThanOrEqual(5);
    const ROW = 1, INSERT = 4, DELETE = 8, UPDATE = 16; // pg_trigger.tgtype bits
    const missing = tables.filter((t) => !AUDIT_ALLOWLIST[t.table] && !t.triggered).map((t) => t.table);
    expect(missing).toEqual([]);
    const incomplete = tables.filter((t) => t.triggered && ((t.events ?? 0) & (ROW | INSERT | DELETE | UPDATE)) !== (ROW | INSERT | DELETE | UPDATE)).map((t) => t.table);
    expect(incomplete).toEqual([]);
    // An allowlist entry for a table that no longer exists is stale.
    expect(Object.keys(AUDIT_ALLOWLIST).filter((name) => !tables.some((t) => t.table === name))).toEqual([]);
  });

  it('audit writers are owned by the NOLOGIN audit role; the app role holds no write grant on audit tables', async () => {
    const fns = await server.ownerSql<{ name: string; owner: string; definer: boolean }[]>`
      select p.proname as name, r.rolname as owner, p.prosecdef as definer from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'audit' join pg_roles r on r.oid = p.proowner
      where p.proname in ('append', 'row_change', 'record_event', 'prune_expired', 'seal_tenant', 'seal', 'seal_all')`;
    expect(fns).toHaveLength(7);
    expect(fns.every((f) => f.owner === 'tessera_audit')).toBe(true);
    // The entry points run as the audit role; append and seal_tenant run only inside them.
    expect(fns.filter((f) => f.definer).map((f) => f.name).sort()).toEqual(['prune_expired', 'record_event', 'row_change', 'seal', 'seal_all']);
    const [{ can }] = (await server.ownerSql`select has_function_privilege('tessera_app', 'audit.append(uuid, text, text, text, jsonb)', 'execute') as can`) as unknown as [{ can: boolean }];
    expect(can).toBe(false);
    const grants = await server.ownerSql<{ table: string; privilege: string }[]>`
      select table_name as table, privilege_type as privilege from information_schema.role_table_grants
      where grantee = 'tessera_app' and table_name in ('audit_logs', 'audit_chain_heads', 'audit_pending')`;
    expect(grants.map((g) => `${g.table}:${g.privilege}`).sort()).toEqual(['audit_chain_heads:SELECT', 'audit_logs:SELECT']);
  });
});

describe('RLS at the SQL level, as the app role', () => {
  it('with no tenant set, every tenant table returns zero rows', async () => {
    const a = await server.seed.tenant();
    await a.user('MEMBER');
    await a.organization('Visible only to A', [{ user: a.owner.user }]);
    // Every table the app role may read, found in the catalog (not a list that a new table could miss).
    const readable = await server.ownerSql<{ name: string }[]>`
      select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm') and n.nspname <> all(${FOREIGN_SCHEMAS}::text[]) and has_table_privilege('tessera_app', c.oid, 'SELECT')
        and (c.relname = 'tenants' or exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))`;
    expect(readable.map((r) => r.name)).toEqual(expect.arrayContaining(['public.tenants', 'public.users', 'public.organizations', 'public.audit_logs']));
    const withRows: string[] = [];
    for (const { name } of readable) {
      const [{ n }] = (await server.ownerSql.unsafe(`select count(*)::int as n from ${name}`)) as unknown as [{ n: number }];
      if (n > 0) withRows.push(name);
      expect(await server.appSql.unsafe(`select * from ${name}`), name).toHaveLength(0);
    }
    // The zeros mean something: the owner (superuser in tests) sees the seeded rows.
    expect(withRows).toEqual(expect.arrayContaining(['public.tenants', 'public.users', 'public.organizations', 'public.organization_memberships']));
    // ...and a reused connection after a transaction-local setting reads '' — still zero rows, no cast error.
    const rows = await server.appSql.begin(async (tx) => {
      await appBegin(tx, actors.system('test', a.tenant.id));
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
      await appBegin(tx, actors.system('test', a.tenant.id));
      expect(await tx`select * from users where id = ${bUser.user.id}`).toHaveLength(0);
      const updated = await tx`update users set name = 'pwned' where id = ${bUser.user.id}`;
      expect(updated.count).toBe(0);
      const deleted = await tx`delete from users where tenant_id = ${b.tenant.id}`;
      expect(deleted.count).toBe(0);
    });
    const insert = server.appSql.begin(async (tx) => {
      await appBegin(tx, actors.system('test', a.tenant.id));
      await tx`insert into users (tenant_id, email, name) values (${b.tenant.id}, 'x@evil.test', 'x')`;
    });
    await expect(insert).rejects.toMatchObject({ code: '42501' }); // new row violates row-level security policy
    const moveToB = server.appSql.begin(async (tx) => {
      await appBegin(tx, actors.system('test', a.tenant.id));
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
      await appBegin(tx, actors.system('test', a.tenant.id));
      await tx`insert into organization_memberships (tenant_id, organization_id, user_id) values (${a.tenant.id}, ${org.id}, ${b.owner.user.id})`;
    });
    await expect(insert).rejects.toMatchObject({ code: '23503' });
  });

  it('settings do not survive into the next transaction on the same connection', async () => {
    const a = await server.seed.tenant();
    const single = server.appSql; // max 2 connections; run sequentially so the connection is reused
    await single.begin(async (tx) => {
      await appBegin(tx, actors.system('test', a.tenant.id));
    });
    const [{ setting }] = (await single`select current_setting('app.tenant_id', true) as setting`) as unknown as [{ setting: string | null }];
    expect(setting ?? '').toBe('');
  });
});
