/**
 * Least privilege per path (ARCHITECTURE invariant 10, issue 11 §3). One login role per path
 * (src/db/roles.ts, migrations/0011_least_privilege.sql). This file holds what each role may do —
 * every function it may EXECUTE and every privilege it holds on a table — and fails on any grant
 * not listed here; it proves no role can SET ROLE to another, and from a tenant-A session of each
 * role calls every function it may execute with tenant B's ids and reads every table it may read:
 * nothing of tenant B comes back, except through the few doors that are cross-tenant by design
 * (each named with its reason, and shown to reach B, so the probe is known to see a leak).
 * Also: a forged NOTIFY reaches no subscriber; a forged job naming another tenant has no effect.
 */
import crypto from 'node:crypto';
import postgres from 'postgres';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_PATHS, DB_ROLES, roleUrl, type DbPath } from '../src/db/roles.js';
import { QUEUES } from '../src/jobs/queues.js';
import { reevaluateHealth } from '../src/integrations/health-monitor.js';
import { CHANNEL } from '../src/realtime/pubsub.js';
import { createTestIntegration } from './helpers/integrations.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';
import { event, postWebhook } from './helpers/webhooks.js';
import { connectWs, subscribe } from './helpers/ws.js';

const ROLES = Object.values(DB_ROLES) as string[];

/**
 * What each role may EXECUTE (function → why). Cross-tenant functions say so in `crossTenant` below.
 * Functions of pg_catalog are not listed (Postgres' own; the dangerous ones need superuser or a
 * predefined role none of ours has).
 */
const EXECUTE: Record<DbPath, Record<string, string>> = {
  app: {
    'public.app_begin(settings json)': 'starts every tenant transaction (tenant from the verified token, or a job\'s confirmed row)',
    'platform.tenant_by_slug(p_slug text)': 'the login lookup: which tenant a slug names',
    'platform.sso_tenant_by_domain(p_domain text)': '"sign in with your work email": which tenant verified the email\'s domain',
    'audit.record_event(p_action text, p_entity_type text, p_entity_id text, p_details jsonb)': 'auth events (login, refresh, logout) into the transaction\'s tenant',
    'audit.verify_chain(p_from bigint)': 'auditIntegrity: verifies the transaction\'s own tenant\'s chain',
    'audit.entry_hash(e audit_logs)': 'used by verify_chain, under the caller\'s RLS',
    'audit.seal()': 'every read of the trail first seals the transaction\'s own tenant\'s committed entries into its chain',
  },
  ingest: {
    'public.app_begin(settings json)': 'the storing transaction runs under the integration\'s tenant',
    'platform.webhook_integration(p_id uuid)': 'which tenant owns the integration a delivery is addressed to, and its secrets (ciphertext)',
    'platform.require_webhook_integration(p_id uuid, p_secrets text[], p_sources inet[])': 'the storing transaction checks again that the integration (of its tenant) may receive, from these senders',
  },
  platform: {
    'platform.create_tenant(p_slug text, p_name text, p_plan tenant_plan, p_owner_email text, p_owner_name text, p_owner_password_hash text)': 'createTenant',
    'platform.list_tenants()': 'platformTenants',
    'platform.set_tenant_status(p_id uuid, p_status tenant_status)': 'suspendTenant, reactivateTenant',
    'platform.set_tenant_plan(p_id uuid, p_plan tenant_plan)': 'changeTenantPlan',
  },
  system: {
    'platform.enabled_integrations()': 'the health-check and sync cron fan-outs',
    'audit.prune_expired()': 'the daily audit retention prune',
    'audit.seal_all(p_limit integer)': 'the workers\' sealing pass (every AUDIT_SEAL_INTERVAL_MS)',
  },
  queue: {
    'pgboss.create_queue(queue_name text, options json)': 'pg-boss\'s own (owner of its schema)',
    'pgboss.delete_queue(queue_name text)': 'pg-boss\'s own (owner of its schema)',
  },
  rateLimit: {},
};

const ALL = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
/** Every privilege each role holds on a relation outside the pgboss schema (tessera_queue owns that one: see below). */
const TABLES: Record<DbPath, Record<string, string[]>> = {
  app: {
    'drizzle.__drizzle_migrations': ['SELECT'], // api and worker processes wait until the migrate step has run
    'pgboss.job': ['INSERT'], // its tenant's jobs on tenant queues only (policy tenant_jobs)
    'pgboss.queue': ['SELECT'], // pg-boss's insert reads the queue's defaults
    'public.api_key_usage': ['SELECT', 'INSERT', 'UPDATE'],
    'public.api_keys': ['SELECT', 'INSERT', 'UPDATE'], // revoked, never deleted
    'public.audit_chain_heads': ['SELECT'],
    'public.audit_logs': ['SELECT'],
    'public.billing_status': ['SELECT', 'INSERT', 'UPDATE'],
    'public.integration_call_stats': ALL,
    'public.integration_circuits': ['SELECT', 'INSERT', 'UPDATE'],
    'public.integration_health': ['SELECT', 'INSERT', 'UPDATE'],
    'public.integration_health_changes': ['SELECT', 'INSERT'],
    'public.integration_pushes': ['SELECT', 'INSERT', 'UPDATE'],
    'public.idempotency_records': ALL,
    'public.import_errors': ALL,
    'public.import_jobs': ALL,
    'public.import_rows': ALL,
    'public.integrations': ALL,
    'public.invoices': ['SELECT', 'INSERT', 'UPDATE'],
    'public.notification_deliveries': ['SELECT', 'INSERT', 'UPDATE'],
    'public.organization_memberships': ALL,
    'public.organizations': ALL,
    'public.outbound_messages': ['SELECT', 'INSERT', 'UPDATE'],
    'public.refresh_tokens': ALL,
    'public.sessions': ['SELECT', 'INSERT', 'UPDATE'],
    'public.scim_tokens': ['SELECT', 'INSERT', 'UPDATE'],
    'public.sso_connections': ALL,
    'public.sso_identities': ['SELECT', 'INSERT', 'DELETE'],
    'public.sso_login_attempts': ALL,
    'public.sso_login_codes': ALL,
    'public.sso_saml_assertions': ['SELECT', 'INSERT', 'DELETE'], // the replay store: an accepted id is never changed, only pruned
    'public.sso_saml_requests': ALL,
    'public.subscriptions': ['SELECT', 'INSERT', 'UPDATE'],
    'public.sync_checkpoints': ['SELECT', 'INSERT', 'UPDATE'],
    'public.sync_runs': ['SELECT', 'INSERT', 'UPDATE'],
    'public.sync_seen_records': ['SELECT', 'INSERT', 'DELETE'],
    'public.tenant_domains': ALL,
    'public.tenants': ['SELECT', 'UPDATE(audit_retention_days,name,sso_enforced,updated_at)'],
    'public.user_tokens': ['SELECT', 'INSERT', 'UPDATE'],
    'public.users': ALL,
    'public.webhook_events': ['SELECT', 'INSERT', 'UPDATE'],
  },
  ingest: {
    'pgboss.job': ['INSERT'],
    'pgboss.queue': ['SELECT'],
    'public.tenants': ['SELECT(id,status)'], // app_begin's read
    'public.users': ['SELECT(id,role,status,tenant_id)'], // app_begin's read
    'public.webhook_events': ['SELECT(id,tenant_id)', 'INSERT'],
  },
  platform: {},
  system: {},
  queue: {},
  rateLimit: { 'public.rate_limit_counters': ALL },
};

/** The doors that reach other tenants by design, and why. Everything else must return nothing of B. */
const CROSS_TENANT: Record<string, string> = {
  'app:public.app_begin(settings json)': 'sets the transaction\'s tenant to the one it is given: how every request and job begins (tenant from a verified token or a confirmed row)',
  'ingest:public.app_begin(settings json)': 'as for the app: the storing transaction begins under the looked-up integration\'s tenant',
  'app:platform.tenant_by_slug(p_slug text)': 'login: a slug (what a user types) → its tenant id and status',
  'app:platform.sso_tenant_by_domain(p_domain text)': 'SSO discovery: an email domain (what a user types) → the slug of the ACTIVE tenant that verified it, nothing else',
  'ingest:platform.webhook_integration(p_id uuid)': 'a delivery names only the integration: its tenant, provider, and secrets as AES-GCM ciphertext (key held by app processes only)',
  'platform:platform.create_tenant(p_slug text, p_name text, p_plan tenant_plan, p_owner_email text, p_owner_name text, p_owner_password_hash text)': 'the operator',
  'platform:platform.list_tenants()': 'the operator',
  'platform:platform.set_tenant_status(p_id uuid, p_status tenant_status)': 'the operator',
  'platform:platform.set_tenant_plan(p_id uuid, p_plan tenant_plan)': 'the operator',
  'system:platform.enabled_integrations()': 'the cron fan-outs: (tenant id, integration id) of every enabled integration',
  'system:audit.prune_expired()': 'retention for every tenant (each prune is appended to that tenant\'s chain)',
  'system:audit.seal_all(p_limit integer)': 'seals every tenant\'s committed entries into that tenant\'s own chain; returns only a count',
  'queue:pgboss.create_queue(queue_name text, options json)': 'pg-boss: the queue holds every tenant\'s jobs (ids only)',
  'queue:pgboss.delete_queue(queue_name text)': 'pg-boss: the queue holds every tenant\'s jobs (ids only)',
  'queue:tables': 'pg-boss owns its schema: jobs of every tenant (tenant, integration and row ids, no content)',
  'rateLimit:tables': 'the counters of every limit (keys are hashes; no tenant id, email or IP at rest)',
};

interface TenantB {
  tenantId: string;
  slug: string;
  userId: string;
  email: string;
  integrationId: string;
  eventId: string;
  /** An email domain B verified. */
  domain: string;
}

/** How each function is called with tenant B's ids (a new function needs a probe here). */
const PROBES: Record<string, (b: TenantB) => [string, unknown[]]> = {
  'public.app_begin(settings json)': (b) => ['select * from app_begin($1::json)', [JSON.stringify({ tenant_id: b.tenantId, user_id: b.userId, actor_type: 'SYSTEM' })]],
  'platform.tenant_by_slug(p_slug text)': (b) => ['select * from platform.tenant_by_slug($1)', [b.slug]],
  'platform.sso_tenant_by_domain(p_domain text)': (b) => ['select * from platform.sso_tenant_by_domain($1)', [b.domain]],
  'audit.record_event(p_action text, p_entity_type text, p_entity_id text, p_details jsonb)': (b) => ['select audit.record_event($1, $2, $3, $4::jsonb)', ['LOGIN_FAILED', 'users', b.userId, JSON.stringify({ tenantId: b.tenantId })]],
  'audit.verify_chain(p_from bigint)': () => ['select * from audit.verify_chain(1)', []],
  'audit.entry_hash(e audit_logs)': () => ['select audit.entry_hash(l) from audit_logs l', []],
  'platform.webhook_integration(p_id uuid)': (b) => ['select * from platform.webhook_integration($1::uuid)', [b.integrationId]],
  'platform.require_webhook_integration(p_id uuid, p_secrets text[], p_sources inet[])': (b) => ['select platform.require_webhook_integration($1::uuid, array[]::text[], array[]::inet[])', [b.integrationId]],
  'platform.create_tenant(p_slug text, p_name text, p_plan tenant_plan, p_owner_email text, p_owner_name text, p_owner_password_hash text)': (b) => [
    'select * from platform.create_tenant($1, $2, \'FREE\', $3, $4, null)',
    [`probe-${crypto.randomBytes(4).toString('hex')}`, 'Probe', 'probe@probe.test', 'Probe'],
  ],
  'platform.list_tenants()': () => ['select * from platform.list_tenants()', []],
  'platform.set_tenant_status(p_id uuid, p_status tenant_status)': (b) => ['select * from platform.set_tenant_status($1::uuid, \'SUSPENDED\')', [b.tenantId]],
  'platform.set_tenant_plan(p_id uuid, p_plan tenant_plan)': (b) => ['select * from platform.set_tenant_plan($1::uuid, \'ENTERPRISE\')', [b.tenantId]],
  'platform.enabled_integrations()': () => ['select * from platform.enabled_integrations()', []],
  'audit.prune_expired()': () => ['select audit.prune_expired()', []],
  'audit.seal()': () => ['select audit.seal()', []],
  'audit.seal_all(p_limit integer)': () => ['select audit.seal_all()', []],
  'pgboss.create_queue(queue_name text, options json)': () => ['select pgboss.create_queue($1, \'{}\'::json)', [`probe-${Date.now()}`]],
  'pgboss.delete_queue(queue_name text)': () => ['select pgboss.delete_queue($1)', ['probe-no-such-queue']],
};

let server: TestServer;
let a: SeededTenant;
let b: SeededTenant;
let bIds: TenantB;
/** Strings that identify tenant B: any of them in a probe's output is a leak. */
let bMarkers: string[];
const sessions = {} as Record<DbPath, postgres.Sql>;
const wsClients: Client[] = [];

beforeAll(async () => {
  server = await startTestServer();
  for (const p of DB_PATHS) sessions[p] = postgres(roleUrl(server.app.config, p, server.databaseUrl.app), { max: 1, onnotice: () => {}, connection: { application_name: `probe-${p}` } });
  [a, b] = await Promise.all([server.seed.tenant(), server.seed.tenant()]);
  const mockUrl = { url: 'http://127.0.0.1:9' }; // never called here
  const bIntegration = await createTestIntegration(server.app, mockUrl, b.tenant.id, 'USER_SERVICE');
  // One stored event of B (through the real receiver), one login failure of B (a rate-limit counter, an audit entry).
  const sent = await postWebhook(`${server.url}/webhooks/${bIntegration.row.id}`, bIntegration.secret, JSON.stringify(event('user.created')));
  expect(sent.status).toBe(202);
  await server.gql('mutation ($s: String!, $e: String!) { login(input: { tenantSlug: $s, email: $e, password: "wrong-password-1" }) { accessToken } }', { s: b.tenant.slug, e: b.owner.user.email });
  const domain = `${b.tenant.slug}.example`;
  await server.ownerSql`insert into tenant_domains (tenant_id, domain, verified_at) values (${b.tenant.id}, ${domain}, now())`;
  bIds = { tenantId: b.tenant.id, slug: b.tenant.slug, userId: b.owner.user.id, email: b.owner.user.email, integrationId: bIntegration.row.id, eventId: sent.body.id, domain };
  // B settles before the probes take its snapshot: its event processed by its own job.
  await waitFor(async () => (await server.ownerSql`select status from webhook_events where id = ${bIds.eventId}`)[0]?.status === 'PROCESSED', { timeoutMs: 15_000, message: 'B\'s event' });
  const [secrets] = await server.ownerSql<{ w: string; c: string }[]>`select webhook_secret_encrypted as w, credentials_encrypted as c from integrations where id = ${bIds.integrationId}`;
  await server.sealAudit();
  const hashes = await server.ownerSql<{ hash: string }[]>`select hash from audit_logs where tenant_id = ${bIds.tenantId}`;
  expect(hashes.length).toBeGreaterThan(0);
  bMarkers = [bIds.tenantId, bIds.slug, bIds.userId, bIds.email, bIds.integrationId, bIds.eventId, secrets!.w, secrets!.c, ...hashes.map((h) => h.hash)];
});
afterAll(async () => {
  await Promise.all(wsClients.map((c) => c.dispose()));
  for (const s of Object.values(sessions)) await s.end({ timeout: 2 });
  await server.close();
});

/** The probes' actor: what they write into tenant A (e.g. an auth event naming B's user id) is theirs, not a leak. */
const PROBE_ACTOR = 'roles-catalog-probe';

/** Runs `fn` in a transaction of `path`'s role with tenant A set (as app_begin would set it). */
function asTenantA<T>(path: DbPath, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sessions[path].begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${a.tenant.id}, true), set_config('app.actor_type', 'SYSTEM', true), set_config('app.actor_id', ${PROBE_ACTOR}, true)`;
    return fn(tx);
  }) as Promise<T>;
}

const leaks = (output: unknown) => {
  const text = JSON.stringify(output);
  return bMarkers.filter((m) => text.includes(m));
};

/** What a probe could change of B, read as the owner: compared before and after all probes. */
async function snapshotOfB() {
  const o = server.ownerSql;
  const t = bIds.tenantId;
  await server.sealAudit(); // the worker may seal between two snapshots: compare sealed trails
  return {
    tenant: await o`select status, plan, name, audit_retention_days from tenants where id = ${t}`,
    users: await o`select id, email, status, role from users where tenant_id = ${t} order by id`,
    integrations: await o`select id, enabled, webhook_secret_encrypted from integrations where tenant_id = ${t}`,
    events: await o`select id, status from webhook_events where tenant_id = ${t} order by id`,
    audit: await o`select count(*)::int as n, max(seq) as head from audit_logs where tenant_id = ${t}`,
    jobs: await o`select count(*)::int as n from pgboss.job where data->>'tenantId' = ${t}`,
    counters: await o`select count(*)::int as n, sum(hits)::int as hits from rate_limit_counters`,
    queues: await o`select count(*)::int as n from pgboss.queue`,
  };
}

describe('login roles (ARCHITECTURE invariant 10)', () => {
  it('each is a plain login: not superuser, no BYPASSRLS, cannot create roles or databases, no replication', async () => {
    const rows = await server.ownerSql<{ rolname: string }[]>`
      select rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication, rolcanlogin from pg_roles where rolname = any(${ROLES}) order by rolname`;
    expect(rows.map((r) => r.rolname)).toEqual([...ROLES].sort());
    for (const r of rows) expect(r, r.rolname).toMatchObject({ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolcanlogin: true });
  });

  it('none is a member of any role (pg_auth_members), and SET ROLE to any other role fails from each', async () => {
    const memberships = await server.ownerSql`
      select r.rolname as role, m.rolname as member from pg_auth_members am join pg_roles r on r.oid = am.roleid join pg_roles m on m.oid = am.member
      where m.rolname = any(${ROLES}) or (r.rolname = any(${ROLES}) and m.rolname = any(${ROLES}))`;
    expect(memberships).toEqual([]);
    const others = [...ROLES, 'tessera_platform', 'tessera_audit', (await server.ownerSql`select current_user as u`)[0]!.u as string, 'pg_read_all_data', 'pg_write_all_data'];
    for (const p of DB_PATHS) {
      for (const other of others.filter((o) => o !== DB_ROLES[p])) {
        const attempt = sessions[p].begin((tx) => tx.unsafe(`set local role "${other}"`));
        await expect(attempt, `${DB_ROLES[p]} → ${other}`).rejects.toMatchObject({ code: '42501' });
      }
      const [who] = await sessions[p]`select current_user as u, session_user as s`;
      expect(who).toEqual({ u: DB_ROLES[p], s: DB_ROLES[p] });
    }
  });

  it('none owns a table, function, type or schema — except tessera_queue, which owns everything of the pgboss schema and nothing else', async () => {
    const owned = await server.ownerSql<{ role: string; kind: string; name: string; schema: string }[]>`
      select r.rolname as role, 'relation' as kind, c.relname as name, n.nspname as schema from pg_class c join pg_roles r on r.oid = c.relowner join pg_namespace n on n.oid = c.relnamespace
        where r.rolname = any(${ROLES}) and n.nspname <> 'pg_toast' -- a TOAST table belongs to its table
      union all select r.rolname, 'function', p.proname, n.nspname from pg_proc p join pg_roles r on r.oid = p.proowner join pg_namespace n on n.oid = p.pronamespace where r.rolname = any(${ROLES})
      union all select r.rolname, 'type', t.typname, n.nspname from pg_type t join pg_roles r on r.oid = t.typowner join pg_namespace n on n.oid = t.typnamespace where r.rolname = any(${ROLES})
      union all select r.rolname, 'schema', n.nspname, n.nspname from pg_namespace n join pg_roles r on r.oid = n.nspowner where r.rolname = any(${ROLES})`;
    expect(owned.filter((o) => !(o.role === DB_ROLES.queue && o.schema === 'pgboss'))).toEqual([]);
    const notQueues = await server.ownerSql`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'pgboss' where c.relowner <> ${DB_ROLES.queue}::regrole
      union all select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'pgboss' where p.proowner <> ${DB_ROLES.queue}::regrole`;
    expect(notQueues).toEqual([]);
    expect(owned.some((o) => o.kind === 'schema' && o.name === 'pgboss')).toBe(true);
  });

  it('no role may create in the database or in any schema but its own', async () => {
    for (const role of ROLES) {
      const [{ db }] = (await server.ownerSql`select has_database_privilege(${role}, current_database(), 'CREATE') as db`) as unknown as [{ db: boolean }];
      expect(db, role).toBe(false);
      const schemas = await server.ownerSql`select nspname from pg_namespace where has_schema_privilege(${role}, oid, 'CREATE') and nspname not like 'pg_temp%' and nspname not like 'pg_toast_temp%'`;
      expect(schemas.map((s) => s.nspname), role).toEqual(role === DB_ROLES.queue ? ['pgboss'] : []);
    }
  });

  it('each role may EXECUTE exactly the functions listed for it (outside pg_catalog)', async () => {
    for (const p of DB_PATHS) {
      const fns = await server.ownerSql<{ fn: string }[]>`
        select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as fn
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname not in ('pg_catalog', 'information_schema') and has_function_privilege(${DB_ROLES[p]}, p.oid, 'EXECUTE') order by 1`;
      expect(fns.map((f) => f.fn), DB_ROLES[p]).toEqual(Object.keys(EXECUTE[p]).sort());
    }
    // Nothing of ours is executable by PUBLIC (a new function needs an explicit grant).
    const publicFns = await server.ownerSql`
      select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema') and (p.proacl is null or exists (select from aclexplode(p.proacl) x where x.grantee = 0))`;
    expect(publicFns).toEqual([]);
  });

  it('each role holds exactly the table privileges listed for it (SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, per column where partial)', async () => {
    for (const p of DB_PATHS) expect(await tablePrivileges(DB_ROLES[p]), DB_ROLES[p]).toEqual(TABLES[p]);
  });
});

describe('from a tenant-A session of each role, nothing of tenant B is reachable', () => {
  it('every executable function, called with tenant B\'s ids, returns nothing of B and changes nothing of B (except the doors cross-tenant by design)', async () => {
    const before = await snapshotOfB();
    const found: string[] = [];
    const byDesignReachedB: string[] = [];
    for (const p of DB_PATHS) {
      for (const fn of Object.keys(EXECUTE[p])) {
        const probe = PROBES[fn];
        expect(probe, `a probe for ${fn}`).toBeDefined();
        const [text, params] = probe!(bIds);
        const crossTenant = CROSS_TENANT[`${p}:${fn}`];
        await asTenantA(p, async (tx) => {
          // Each call in a savepoint: a refusal (an error) is a fine answer; a by-design door is rolled back.
          const output = await tx
            .savepoint(async (sp) => {
              const rows = await sp.unsafe(text, params as never[]);
              if (crossTenant) throw { rolledBack: rows };
              return rows;
            })
            .catch((e: { rolledBack?: unknown; code?: string; message?: string }) => ('rolledBack' in e ? e.rolledBack : { error: e.code ?? e.message }));
          const leaked = leaks(output);
          if (crossTenant) {
            if (leaked.length) byDesignReachedB.push(`${p}:${fn}`);
          } else if (leaked.length) found.push(`${DB_ROLES[p]} ${fn} → ${leaked.join(', ')}`);
        });
      }
    }
    expect(found).toEqual([]);
    expect(await snapshotOfB()).toEqual(before);
    // The probe does see B where a door opens onto it by design, so it would see a leak elsewhere.
    expect(byDesignReachedB.sort()).toEqual(['app:platform.sso_tenant_by_domain(p_domain text)', 'app:platform.tenant_by_slug(p_slug text)', 'ingest:platform.webhook_integration(p_id uuid)', 'platform:platform.list_tenants()', 'platform:platform.set_tenant_plan(p_id uuid, p_plan tenant_plan)', 'platform:platform.set_tenant_status(p_id uuid, p_status tenant_status)', 'system:platform.enabled_integrations()'].sort());
  });

  it('the webhook receiver\'s in-transaction check refuses an integration of another tenant (TS404)', async () => {
    await expect(asTenantA('ingest', (tx) => tx`select platform.require_webhook_integration(${bIds.integrationId}::uuid, array[]::text[], array[]::inet[])`)).rejects.toMatchObject({ code: 'TS404' });
  });

  it('every readable table, read whole, shows nothing of B; every update and delete it may run touches nothing of B', async () => {
    const found: string[] = [];
    for (const p of DB_PATHS) {
      const byDesign = CROSS_TENANT[`${p}:tables`];
      for (const [rel, privs] of Object.entries(await tablePrivileges(DB_ROLES[p], { includeOwned: true }))) {
        const select = privs.find((x) => x === 'SELECT' || x.startsWith('SELECT('));
        await asTenantA(p, async (tx) => {
          if (select) {
            const cols = select === 'SELECT' ? '*' : select.slice(7, -1).split(',').map((c) => `"${c}"`).join(', ');
            const rows = (await tx.unsafe(`select ${cols} from ${rel}`)).filter((r) => !JSON.stringify(r).includes(PROBE_ACTOR));
            if (!byDesign && leaks(rows).length) found.push(`${DB_ROLES[p]} reads ${rel}: ${leaks(rows).join(', ')}`);
          }
          for (const write of ['UPDATE', 'DELETE'].filter((w) => privs.includes(w) && select === 'SELECT')) {
            const touched = await tx.savepoint(async (sp) => {
              const [col] = await sp<{ c: string }[]>`select a.attname as c from pg_attribute a where a.attrelid = ${rel}::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum limit 1`;
              const rows = write === 'UPDATE' ? await sp.unsafe(`update ${rel} set "${col!.c}" = "${col!.c}" returning *`) : await sp.unsafe(`delete from ${rel} returning *`);
              throw { rows };
            }).catch((e: { rows?: unknown }) => (e && typeof e === 'object' && 'rows' in e ? e.rows : { error: String(e) }));
            if (!byDesign && leaks(touched).length) found.push(`${DB_ROLES[p]} ${write} ${rel}: ${leaks(touched).join(', ')}`);
          }
        });
      }
    }
    expect(found).toEqual([]);
    // The probe reads B where a role's tables are cross-tenant by design (pg-boss's jobs).
    const jobs = await asTenantA('queue', (tx) => tx`select data from pgboss.job`);
    expect(leaks(jobs)).toContain(bIds.tenantId);
  });
});

describe('jobs: only the transaction\'s tenant\'s, and a worker confirms the tenant', () => {
  it('the app role and the receiver may insert jobs only for their transaction\'s tenant, only on tenant queues', async () => {
    for (const p of ['app', 'ingest'] as const) {
      const insert = (name: string, tenantId: string) =>
        asTenantA(p, (tx) => tx`insert into pgboss.job (id, name, data) values (${crypto.randomUUID()}, ${name}, ${tx.json({ tenantId, integrationId: bIds.integrationId, eventId: bIds.eventId })})`);
      await expect(insert(QUEUES.webhooks('USER_SERVICE'), bIds.tenantId), `${p}: another tenant's job`).rejects.toMatchObject({ code: '42501' });
      await expect(insert(QUEUES.auditPrune, a.tenant.id), `${p}: a system queue`).rejects.toMatchObject({ code: '42501' });
      await expect(insert(QUEUES.webhooksDead('USER_SERVICE'), a.tenant.id), `${p}: a dead-letter queue`).rejects.toMatchObject({ code: '42501' });
      await expect(asTenantA(p, (tx) => tx`update pgboss.job set state = 'completed'`)).rejects.toMatchObject({ code: '42501' });
      await expect(asTenantA(p, (tx) => tx`delete from pgboss.job`)).rejects.toMatchObject({ code: '42501' });
    }
    // Its own tenant, a tenant queue: allowed (what enqueue in a request's transaction does). Due later, so no worker takes it.
    const id = crypto.randomUUID();
    await asTenantA('app', (tx) => tx`insert into pgboss.job (id, name, data, start_after) values (${id}, ${QUEUES.sync}, ${tx.json({ tenantId: a.tenant.id, integrationId: crypto.randomUUID(), runId: crypto.randomUUID() })}, now() + interval '1 hour')`);
    expect(await server.ownerSql`select id from pgboss.job where id = ${id}`).toHaveLength(1);
  });

  it('a forged webhook job naming another tenant (or another tenant\'s event) is refused by the worker: no effect; the genuine job then applies the event', async () => {
    const aIntegration = await createTestIntegration(server.app, { url: 'http://127.0.0.1:9' }, a.tenant.id, 'USER_SERVICE');
    const e = event('user.created');
    const eventId = crypto.randomUUID();
    // A stored event of A with no job yet (as the owner: the test's own hand).
    await server.ownerSql`
      insert into webhook_events (tenant_id, id, integration_id, provider_event_id, type, payload, delivery_id, delivery_timestamp)
      values (${a.tenant.id}, ${eventId}, ${aIntegration.row.id}, ${e.id}, ${e.type}, ${server.ownerSql.json(e as never)}, ${'msg_forged'}, now())`;
    const queue = QUEUES.webhooks('USER_SERVICE');
    // Forged past the policy (as pg-boss's own role could): B's tenant with A's event; A's tenant with B's event.
    const forged = [
      { tenantId: bIds.tenantId, integrationId: aIntegration.row.id, eventId },
      { tenantId: bIds.tenantId, integrationId: bIds.integrationId, eventId },
      { tenantId: a.tenant.id, integrationId: aIntegration.row.id, eventId: bIds.eventId },
    ];
    const forgedIds = forged.map(() => crypto.randomUUID());
    for (const [i, data] of forged.entries()) await sessions.queue`insert into pgboss.job (id, name, data) values (${forgedIds[i]!}, ${queue}, ${sessions.queue.json(data)})`;
    server.app.jobs.wake(queue);
    await waitFor(async () => (await server.ownerSql`select id from pgboss.job where id = any(${forgedIds}) and state = 'completed'`).length === forged.length, { timeoutMs: 15_000, message: 'the forged jobs to be taken' });
    const [stillA] = await server.ownerSql`select status, attempts from webhook_events where id = ${eventId}`;
    expect(stillA).toEqual({ status: 'RECEIVED', attempts: 0 });
    expect(await server.ownerSql`select id from users where email = ${e.data.email}`).toHaveLength(0);
    const [bEvent] = await server.ownerSql`select status from webhook_events where id = ${bIds.eventId}`;
    expect(['PROCESSED', 'RECEIVED']).toContain(bEvent!.status); // B's own job may have run; the forged one added nothing
    // The genuine job: applied (so the worker was there to refuse the forged ones).
    await sessions.queue`insert into pgboss.job (id, name, data) values (${crypto.randomUUID()}, ${queue}, ${sessions.queue.json({ tenantId: a.tenant.id, integrationId: aIntegration.row.id, eventId })})`;
    server.app.jobs.wake(queue);
    await waitFor(async () => (await server.ownerSql`select status from webhook_events where id = ${eventId}`)[0]!.status === 'PROCESSED', { timeoutMs: 15_000, message: 'the genuine job' });
    expect(await server.ownerSql`select tenant_id from users where email = ${e.data.email}`).toEqual([{ tenant_id: a.tenant.id }]);
  });
});

describe('own pools cost no round trips', () => {
  it('a webhook delivery on the receiver\'s pool: the lookup once, then one pipelined transaction of six statements per delivery (as before)', async () => {
    // An API process: no workers, so every statement counted is the receiver's.
    const api = await startTestServer({ env: { PROCESS_ROLE: 'api' }, database: new URL(server.databaseUrl.owner).pathname.slice(1) });
    try {
      const target = await createTestIntegration(api.app, { url: 'http://127.0.0.1:9' }, a.tenant.id, 'USER_SERVICE');
      const url = `${api.url}/webhooks/${target.row.id}`;
      const counted = async () => {
        const before = api.queryCount();
        expect((await postWebhook(url, target.secret, JSON.stringify(event('user.created')))).status).toBe(202);
        return api.queryCount() - before;
      };
      // The first: the lookup, the transaction, and the pool's first connection's set-up (postgres.js reads array types once).
      expect(await counted()).toBeGreaterThanOrEqual(1 + 6);
      // Then, with the integration's secrets kept: begin, app_begin, require_webhook_integration, insert events,
      // insert jobs, commit: written back to back, one round trip per delivery.
      expect(await counted()).toBe(6);
      expect(await counted()).toBe(6);
      const [conn] = await server.ownerSql`select count(*)::int as n from pg_stat_activity where usename = ${DB_ROLES.ingest} and application_name = 'tessera-ingest'`;
      expect(conn!.n).toBeGreaterThan(0);
    } finally {
      await api.close();
    }
  });
});

describe('webhook receivers share integration lookups', () => {
  it('concurrent deliveries to an integration not yet kept send one lookup; a kept one is renewed behind a delivery, and after expiry one lookup again', async () => {
    // An API process (every statement counted is the receiver's), keeping integrations 1 s: renewed from 0.5 s on.
    const api = await startTestServer({ env: { PROCESS_ROLE: 'api', WEBHOOK_INTEGRATION_CACHE_SECONDS: '1' }, database: new URL(server.databaseUrl.owner).pathname.slice(1) });
    try {
      const target = await createTestIntegration(api.app, { url: 'http://127.0.0.1:9' }, a.tenant.id, 'USER_SERVICE');
      const url = `${api.url}/webhooks/${target.row.id}`;
      const counting = async (send: () => Promise<unknown>) => {
        const before = api.queryCount();
        await send();
        await new Promise((r) => setTimeout(r, 100)); // a renewal runs behind the answer
        return api.queryCount() - before;
      };
      const deliver = async () => expect((await postWebhook(url, target.secret, JSON.stringify(event('user.created')))).status).toBe(202);
      // A connection's first statement also sets it up: four unknown integrations' lookups at once open the connections first.
      const unknown = await Promise.all([1, 2, 3, 4].map(() => postWebhook(`${api.url}/webhooks/${crypto.randomUUID()}`, target.secret, '{}')));
      expect(unknown.map((r) => r.status)).toEqual([404, 404, 404, 404]);
      // Twenty at once in a content type we refuse: refused after the lookup, so lookups are all that is sent — one, shared.
      const refused = await counting(async () => {
        const answers = await Promise.all(Array.from({ length: 20 }, () => postWebhook(url, target.secret, JSON.stringify(event('user.created')), { contentType: 'text/plain' })));
        expect(answers.map((r) => r.status)).toEqual(Array(20).fill(415));
      });
      expect(refused).toBe(1);
      expect(await counting(deliver)).toBe(6); // kept: the transaction only (begin … commit)
      await new Promise((r) => setTimeout(r, 550));
      expect(await counting(deliver)).toBe(6 + 1); // half-way through: served from what is kept, renewed behind it
      expect(await counting(deliver)).toBe(6); // renewed
      await new Promise((r) => setTimeout(r, 1100));
      expect(await counting(deliver)).toBe(1 + 6); // expired: looked up again before the transaction
      // A disabled integration is refused at once by the storing transaction, whatever is kept.
      await api.ownerSql`update integrations set enabled = false where id = ${target.row.id}`;
      expect((await postWebhook(url, target.secret, JSON.stringify(event('user.created')))).status).toBe(404);
    } finally {
      await api.close();
    }
  });
});

describe('realtime: a NOTIFY from any database session reaches no subscriber', () => {
  it('a forged event (from any role, plain or replayed) is never delivered; genuine ones are, sealed so a listener learns nothing', async () => {
    const [one, two] = await Promise.all([1, 2].map(() => createTestIntegration(server.app, { url: 'http://127.0.0.1:9' }, a.tenant.id, 'USER_SERVICE')));
    const ws = connectWs(server.url, a.owner.token);
    wsClients.push(ws);
    const before = server.app.pubsub.listenerCount;
    const sub = subscribe(ws, 'subscription { integrationHealthChanged { id integrationId status reason } }');
    await waitFor(() => server.app.pubsub.listenerCount > before, { timeoutMs: 5000, message: 'the subscription' });
    // A raw listener on the channel, as any role may open.
    const heard: string[] = [];
    const listener = await sessions.app.listen(CHANNEL, (payload) => heard.push(payload));
    const forged = { topic: 'integration_health_changed', tenantId: a.tenant.id, integrationId: one!.row.id, id: crypto.randomUUID(), status: 'DOWN', previousStatus: 'HEALTHY', reason: 'forged', changedAt: new Date().toISOString() };
    for (const p of DB_PATHS) await sessions[p]`select pg_notify(${CHANNEL}, ${JSON.stringify({ ...forged, reason: `forged by ${p}` })})`;
    await sessions.app`select pg_notify(${CHANNEL}, ${'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'})`;
    // A genuine change: delivered. NOTIFYs arrive in commit order, so the forged ones would have come first.
    await reevaluateHealth(server.app, a.tenant.id, one!.row.id, { external: { deadLetterCount: 1 } });
    const genuine = await sub.waitFor((e) => e.integrationId === one!.row.id, 10_000);
    expect(sub.events).toEqual([genuine]);
    // What a listening session heard: sealed payloads with no tenant's ids in them.
    // (The forged JSON payloads are heard too, and first: wait for a sealed one itself.)
    const isSealed = (h: string) => h.startsWith('v1.') && h.length > 60;
    await waitFor(() => heard.some(isSealed), { timeoutMs: 10_000, message: 'the sealed payload' });
    const sealed = heard.filter(isSealed);
    expect(sealed.length).toBeGreaterThan(0);
    for (const h of sealed) for (const id of [a.tenant.id, one!.row.id, genuine.id]) expect(h).not.toContain(id);
    // Replaying the captured genuine payloads delivers nothing again; the next genuine change (the sentinel) arrives alone.
    for (const h of sealed) await sessions.app`select pg_notify(${CHANNEL}, ${h})`;
    await reevaluateHealth(server.app, a.tenant.id, two!.row.id, { external: { deadLetterCount: 1 } });
    const sentinel = await sub.waitFor((e) => e.integrationId === two!.row.id, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(sub.events).toEqual([genuine, sentinel]);
    await listener.unlisten();
  });
});

/** Every privilege `role` holds on each relation (outside pgboss for its owner unless includeOwned), as `PRIV` or `PRIV(columns)`. */
async function tablePrivileges(role: string, opts: { includeOwned?: boolean } = {}): Promise<Record<string, string[]>> {
  const rows = await server.ownerSql<{ rel: string; privs: string[]; owned: boolean }[]>`
    select n.nspname || '.' || c.relname as rel, c.relowner = ${role}::regrole as owned,
      array(
        select case when has_table_privilege(${role}, c.oid, p) then p
                    else p || '(' || (select string_agg(a.attname, ',' order by a.attname) from pg_attribute a
                                     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and has_column_privilege(${role}, c.oid, a.attnum, p)) || ')' end
        from unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p
        where c.relkind <> 'S' and has_any_column_privilege(${role}, c.oid, p)
        union all
        select p from unnest(array['DELETE', 'TRUNCATE', 'TRIGGER']) p where c.relkind <> 'S' and has_table_privilege(${role}, c.oid, p)
        union all
        select 'SEQUENCE ' || p from unnest(array['USAGE', 'SELECT', 'UPDATE']) p where c.relkind = 'S' and has_sequence_privilege(${role}, c.oid, p)
      ) as privs
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      and not c.relispartition
    order by 1`;
  return Object.fromEntries(rows.filter((r) => r.privs.length && (opts.includeOwned || !r.owned)).map((r) => [r.rel, r.privs]));
}
