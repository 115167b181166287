import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actors, appBegin } from '../src/db/tenant-transaction.js';
import { pruneAuditLogs } from '../src/modules/audit/service.js';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

let server: TestServer;
let t: SeededTenant;
let admin: Awaited<ReturnType<SeededTenant['user']>>;

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
  admin = await t.user('ADMIN');
});
afterAll(() => server.close());

const LOGS = `query($first: Int, $after: String, $filter: AuditLogFilter) {
  auditLogs(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { node { id occurredAt actorType actorId action entityType entityId changes requestId clientIp userAgent } }
  } }`;
const INTEGRITY = '{ auditIntegrity { ok checkedEntries firstBrokenId reason } }';

async function logs(filter: Record<string, unknown>, token = t.owner.token, first = 100) {
  const res = await server.gql(LOGS, { filter, first }, { token });
  expect(res.errors).toBeUndefined();
  return res.data.auditLogs.edges.map((e: { node: any }) => e.node) as any[];
}
const integrity = async (tenant = t) => (await server.gql(INTEGRITY, {}, { token: tenant.owner.token })).data.auditIntegrity;

describe('audit rows from GraphQL changes', () => {
  it('records an update with the actor, request id, client IP, user agent and only the changed fields', async () => {
    const target = await t.user('MEMBER', 'Before');
    const res = await server.gql('mutation($id: UUID!) { updateUser(id: $id, input: { name: "After" }) { id } }', { id: target.user.id }, {
      token: admin.token,
      headers: { 'x-request-id': 'req-audit-1', 'user-agent': 'audit-test/1.0' },
    });
    expect(res.errors).toBeUndefined();
    const [entry] = await logs({ entityType: 'users', entityId: target.user.id, action: 'UPDATE' });
    expect(entry).toMatchObject({
      actorType: 'USER',
      actorId: admin.user.id,
      action: 'UPDATE',
      entityType: 'users',
      entityId: target.user.id,
      requestId: 'req-audit-1',
      clientIp: '127.0.0.1',
      userAgent: 'audit-test/1.0',
    });
    expect(entry.changes.name).toEqual({ old: 'Before', new: 'After' });
    expect(Object.keys(entry.changes).sort()).toEqual(['name', 'updated_at']);
  });

  it('never records a password hash: the change shows as redacted', async () => {
    const target = await t.user('MEMBER');
    const res = await server.gql('mutation($id: UUID!) { updateUser(id: $id, input: { password: "a-new-long-password" }) { id } }', { id: target.user.id }, { token: admin.token });
    expect(res.errors).toBeUndefined();
    const [entry] = await logs({ entityType: 'users', entityId: target.user.id, action: 'UPDATE' });
    expect(entry.changes).toMatchObject({ password_hash: { redacted: true } });
    const [{ hash }] = (await server.ownerSql`select password_hash as hash from users where id = ${target.user.id}`) as unknown as [{ hash: string }];
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from audit_logs where changes::text like ${'%' + hash.slice(-24) + '%'}`) as unknown as [{ n: number }];
    expect(n).toBe(0);
    // The user's creation (INSERT) by the seed didn't record it either.
    const [created] = await logs({ entityType: 'users', entityId: target.user.id, action: 'INSERT' });
    expect(created).toMatchObject({ actorType: 'SYSTEM', actorId: 'test-seed' });
    expect(created.changes.password_hash).toEqual({ redacted: true });
    expect(created.changes.email.new).toBe(target.user.email);
  });

  it('records inserts and deletes with composite entity ids, role changes with old and new role', async () => {
    const member = await t.user('MEMBER');
    const org = await server.gql('mutation { createOrganization(input: { name: "Audited org" }) { id } }', {}, { token: admin.token });
    const orgId = org.data.createOrganization.id;
    await server.gql('mutation($o: UUID!, $u: UUID!) { addOrganizationMember(organizationId: $o, userId: $u) { role } }', { o: orgId, u: member.user.id }, { token: admin.token });
    await server.gql('mutation($id: UUID!) { deleteOrganization(id: $id) { id } }', { id: orgId }, { token: admin.token });
    await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: VIEWER) { role } }', { id: member.user.id }, { token: admin.token });

    const [orgInsert] = await logs({ entityType: 'organizations', entityId: orgId, action: 'INSERT' });
    expect(orgInsert.changes.name).toEqual({ new: 'Audited org' });
    const membership = await logs({ entityType: 'organization_memberships', entityId: `${orgId}:${member.user.id}` });
    // Newest first: the cascade delete of the membership, then its insert.
    expect(membership.map((e) => e.action)).toEqual(['DELETE', 'INSERT']);
    expect(membership[0].changes.role).toEqual({ old: 'MEMBER' });
    const [roleChange] = await logs({ entityType: 'users', entityId: member.user.id, action: 'UPDATE' });
    expect(roleChange.changes.role).toEqual({ old: 'MEMBER', new: 'VIEWER' });
    expect(roleChange.actorId).toBe(admin.user.id);
  });

  it('a failed mutation leaves no audit row (same transaction)', async () => {
    const before = (await logs({})).length;
    const res = await server.gql('mutation { createUser(input: { email: "dup@x.test", name: "A" }) { id } }', {}, { token: admin.token });
    expect(res.errors).toBeUndefined();
    const dup = await server.gql('mutation { createUser(input: { email: "dup@x.test", name: "B" }) { id } }', {}, { token: admin.token });
    expect(errorCode(dup)).toBe('CONFLICT');
    expect((await logs({})).length).toBe(before + 1);
  });
});

describe('audit rows from raw SQL as the app role', () => {
  it('records the actor and request that app_begin set, and nothing for a rolled-back transaction', async () => {
    const target = await t.user('MEMBER', 'Raw before');
    const actor = actors.integration('integration:user-sync', t.tenant.id, { requestId: 'job-42', clientIp: '10.0.0.9', userAgent: 'worker' });
    await server.appSql.begin(async (tx) => {
      await appBegin(tx, actor);
      await tx`update users set name = 'Raw after' where id = ${target.user.id}`;
    });
    await server.appSql
      .begin(async (tx) => {
        await appBegin(tx, actor);
        await tx`update users set name = 'Never committed' where id = ${target.user.id}`;
        throw new Error('rollback');
      })
      .catch(() => undefined);
    const entries = await logs({ entityType: 'users', entityId: target.user.id, action: 'UPDATE' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorType: 'INTEGRATION', actorId: 'integration:user-sync', requestId: 'job-42', clientIp: '10.0.0.9', userAgent: 'worker' });
    expect(entries[0].changes.name).toEqual({ old: 'Raw before', new: 'Raw after' });
  });

  it('the app role cannot update, delete or insert audit rows, nor move the chain head or call the appender', async () => {
    await t.user('MEMBER'); // at least one entry exists
    const attempts = [
      'update audit_logs set action = \'FORGED\'',
      'delete from audit_logs',
      `insert into audit_logs (tenant_id, seq, occurred_at, actor_type, action, entity_type, prev_hash, hash) values ('${t.tenant.id}', 999999, now(), 'USER', 'FORGED', 'users', 'x', 'x')`,
      'update audit_chain_heads set seq = 0',
      'truncate audit_logs',
      `select audit.append('${t.tenant.id}', 'FORGED', 'users', null, '{}')`,
      `select audit.record_event('UPDATE', 'users', null, '{}')`,
      // Entries waiting to be sealed: out of the app role's reach too.
      `insert into audit_pending (tenant_id, occurred_at, actor_type, action, entity_type, changes) values ('${t.tenant.id}', now(), 'USER', 'FORGED', 'users', '{}')`,
      'select * from audit_pending',
      'delete from audit_pending',
      `select audit.seal_tenant('${t.tenant.id}')`,
      'select audit.seal_all()',
    ];
    for (const statement of attempts) {
      const attempt = server.appSql.begin(async (tx) => {
        await appBegin(tx, actors.system('test', t.tenant.id));
        await tx.unsafe(statement);
      });
      await expect(attempt, statement).rejects.toMatchObject({ code: expect.stringMatching(/^(42501|22023)$/) });
    }
    await server.sealAudit();
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from audit_logs where action = 'FORGED'`) as unknown as [{ n: number }];
    expect(n).toBe(0);
    expect((await integrity()).ok).toBe(true);
  });
});

describe('authentication events', () => {
  const LOGIN = 'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { refreshToken user { id } } }';
  const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { refreshToken } }';

  it('records login success and failure, refresh, reuse and logout', async () => {
    const u = await t.user('MEMBER');
    const bad = await server.gql(LOGIN, { s: t.tenant.slug, e: u.user.email, p: 'wrong-password-x' }, { headers: { 'user-agent': 'attacker' } });
    expect(errorCode(bad)).toBe('UNAUTHENTICATED');
    const ok = await server.gql(LOGIN, { s: t.tenant.slug, e: u.user.email, p: PASSWORD });
    const first = ok.data.login.refreshToken;
    const second = (await server.gql(REFRESH, { r: first })).data.refreshSession.refreshToken;
    expect(errorCode(await server.gql(REFRESH, { r: first }))).toBe('UNAUTHENTICATED'); // reuse
    const login2 = (await server.gql(LOGIN, { s: t.tenant.slug, e: u.user.email, p: PASSWORD })).data.login.refreshToken;
    await server.gql('mutation($r: String!) { logout(refreshToken: $r) }', { r: login2 });
    expect(second).toBeTruthy();

    const events = (await logs({ entityType: 'USER', entityId: u.user.id })).reverse();
    expect(events.map((e) => e.action)).toEqual(['LOGIN_FAILED', 'LOGIN_SUCCEEDED', 'SESSION_REFRESHED', 'REFRESH_TOKEN_REUSED', 'LOGIN_SUCCEEDED', 'LOGOUT']);
    expect(events[0]).toMatchObject({ actorType: 'SYSTEM', actorId: 'auth', userAgent: 'attacker', changes: { email: u.user.email, reason: 'WRONG_PASSWORD' } });
    expect(events[1]).toMatchObject({ actorType: 'USER', actorId: u.user.id });
    const unknown = await server.gql(LOGIN, { s: t.tenant.slug, e: 'nobody@nowhere.test', p: 'whatever-123' });
    expect(errorCode(unknown)).toBe('UNAUTHENTICATED');
    const [failed] = await logs({ action: 'LOGIN_FAILED' });
    expect(failed).toMatchObject({ entityId: null, changes: { email: 'nobody@nowhere.test', reason: 'UNKNOWN_EMAIL' } });
  });
});

describe('auditLogs API', () => {
  it('is for ADMIN and above only, and shows only the own tenant', async () => {
    const member = await t.user('MEMBER');
    expect(errorCode(await server.gql(LOGS, {}, { token: member.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(INTEGRITY, {}, { token: member.token }))).toBe('FORBIDDEN');
    const other = await server.seed.tenant();
    const theirs = await logs({}, other.owner.token);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.every((e) => !JSON.stringify(e).includes(t.tenant.id))).toBe(true);
    const ours = await logs({ entityType: 'users', entityId: other.owner.user.id });
    expect(ours).toEqual([]);
  });

  it('pages newest first with cursors, and filters by actor, action and time range', async () => {
    const tenant = await server.seed.tenant();
    const a = await tenant.user('ADMIN');
    const stamps: string[] = [];
    for (let i = 0; i < 5; i++) {
      await server.gql('mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: `Org ${i}` }, { token: a.token });
      stamps.push(new Date().toISOString());
      await new Promise((r) => setTimeout(r, 5));
    }
    const all = await logs({ actorId: a.user.id }, tenant.owner.token);
    expect(all.map((e) => e.changes.name.new)).toEqual(['Org 4', 'Org 3', 'Org 2', 'Org 1', 'Org 0']);
    const ids = all.map((e) => Number(e.id));
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);

    const page1 = await server.gql(LOGS, { first: 2, filter: { actorId: a.user.id } }, { token: tenant.owner.token });
    const page2 = await server.gql(LOGS, { first: 2, after: page1.data.auditLogs.pageInfo.endCursor, filter: { actorId: a.user.id } }, { token: tenant.owner.token });
    expect(page1.data.auditLogs.pageInfo.hasNextPage).toBe(true);
    expect(page2.data.auditLogs.edges.map((e: any) => e.node.id)).toEqual(all.slice(2, 4).map((e) => e.id));

    const ranged = await logs({ actorType: 'USER', action: 'INSERT', entityType: 'organizations', from: stamps[0], to: stamps[3] }, tenant.owner.token);
    expect(ranged.map((e) => e.changes.name.new)).toEqual(['Org 3', 'Org 2', 'Org 1']);

    const badInput = await server.gql(LOGS, { filter: { entityId: 'x', from: '2020-01-02T00:00:00Z', to: '2020-01-01T00:00:00Z' } }, { token: tenant.owner.token });
    expect(errorCode(badInput)).toBe('BAD_USER_INPUT');
    expect((badInput.errors![0]!.extensions!.fields as { field: string }[]).map((f) => f.field).sort()).toEqual(['filter.entityId', 'filter.to']);
    expect(errorCode(await server.gql(LOGS, { after: 'not-a-cursor' }, { token: tenant.owner.token }))).toBe('BAD_USER_INPUT');
  });

  it('exports a time range as streamed NDJSON, oldest first, with the same auth', async () => {
    const tenant = await server.seed.tenant();
    const from = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 30; i++) await tenant.user('MEMBER');
    const url = `${server.url}/audit-logs/export?from=${encodeURIComponent(from)}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${tenant.owner.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(31); // the tenant, its owner, 30 users
    expect(lines.map((l) => Number(l.id))).toEqual(lines.map((_, i) => i + 1));
    expect(lines[1].hash).toBeTruthy();

    const member = await tenant.user('MEMBER');
    const forbidden = await fetch(url, { headers: { authorization: `Bearer ${member.token}` } });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as any).error.code).toBe('FORBIDDEN');
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    const bad = await fetch(`${server.url}/audit-logs/export?from=yesterday`, { headers: { authorization: `Bearer ${tenant.owner.token}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'from' }] });
  });
});

describe('tamper evidence', () => {
  it('the chain verifies, and an entry altered by the owner is reported as the first broken link', async () => {
    const tenant = await server.seed.tenant();
    for (let i = 0; i < 5; i++) await tenant.user('MEMBER');
    expect(await integrity(tenant)).toMatchObject({ ok: true, firstBrokenId: null });
    await server.sealAudit();
    const [{ seq }] = (await server.ownerSql`select seq from audit_logs where tenant_id = ${tenant.tenant.id} order by seq limit 1 offset 3`) as unknown as [{ seq: string }];

    await server.ownerSql`update audit_logs set changes = jsonb_set(changes, '{name,new}', '"Mallory"') where tenant_id = ${tenant.tenant.id} and seq = ${seq}`;
    expect(await integrity(tenant)).toMatchObject({ ok: false, firstBrokenId: String(seq), reason: 'ENTRY_ALTERED' });

    // A careful attacker recomputes the altered entry's hash: the next entry's link breaks instead.
    await server.ownerSql`update audit_logs l set hash = audit.entry_hash(l) where tenant_id = ${tenant.tenant.id} and seq = ${seq}`;
    expect(await integrity(tenant)).toMatchObject({ ok: false, firstBrokenId: String(Number(seq) + 1), reason: 'LINK_BROKEN' });
    // A range check from after the damage passes; one that includes it doesn't.
    const ranged = async (fromId: string) => (await server.gql('query($f: ID) { auditIntegrity(fromId: $f) { ok checkedEntries firstBrokenId reason } }', { f: fromId }, { token: tenant.owner.token })).data.auditIntegrity;
    expect(await ranged(String(Number(seq) + 2))).toMatchObject({ ok: true });
    expect(await ranged(String(seq))).toMatchObject({ ok: false, firstBrokenId: String(Number(seq) + 1), reason: 'LINK_BROKEN' });
    expect(errorCode(await server.gql('{ auditIntegrity(fromId: "x") { ok } }', {}, { token: tenant.owner.token }))).toBe('BAD_USER_INPUT');

    const other = await server.seed.tenant();
    await other.user('MEMBER');
    await server.sealAudit();
    await server.ownerSql`delete from audit_logs where tenant_id = ${other.tenant.id} and seq = 2`;
    expect(await integrity(other)).toMatchObject({ ok: false, firstBrokenId: '3', reason: 'ENTRY_MISSING' });
    const third = await server.seed.tenant();
    await third.user('MEMBER');
    await server.sealAudit();
    await server.ownerSql`delete from audit_logs where tenant_id = ${third.tenant.id} and seq = (select max(seq) from audit_logs where tenant_id = ${third.tenant.id})`;
    expect(await integrity(third)).toMatchObject({ ok: false, reason: 'TAIL_MISMATCH' });
  });

  it('concurrent changes in one tenant still form one gapless chain', async () => {
    const tenant = await server.seed.tenant();
    const a = await tenant.user('ADMIN');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => server.gql('mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: `Par ${i}` }, { token: a.token })),
    );
    expect(await integrity(tenant)).toMatchObject({ ok: true });
    const rows = await server.ownerSql<{ seq: string }[]>`select seq from audit_logs where tenant_id = ${tenant.tenant.id} order by seq`;
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(rows.length).toBeGreaterThanOrEqual(22); // the tenant, its owner and ADMIN, 20 organizations
  });
});

describe('sealing (entries join the chain after commit)', () => {
  it('a change waits in audit_pending until sealed; a read of the trail seals it first, in order', async () => {
    // Its own database and a worker that seals only once an hour, so only the read can seal here.
    const slow = await startTestServer({ env: { AUDIT_SEAL_INTERVAL_MS: '3600000' } });
    try {
      const tenant = await slow.seed.tenant();
      const target = await tenant.user('MEMBER', 'Before');
      await slow.sealAudit();
      for (const name of ['One', 'Two', 'Three']) {
        const res = await slow.gql('mutation($id: UUID!, $n: String!) { updateUser(id: $id, input: { name: $n }) { id } }', { id: target.user.id, n: name }, { token: tenant.owner.token });
        expect(res.errors).toBeUndefined();
      }
      const pending = await slow.ownerSql<{ action: string }[]>`select action from audit_pending where tenant_id = ${tenant.tenant.id}`;
      expect(pending.map((p) => p.action)).toEqual(['UPDATE', 'UPDATE', 'UPDATE']);
      const res = await slow.gql(LOGS, { filter: { entityType: 'users', entityId: target.user.id, action: 'UPDATE' }, first: 10 }, { token: tenant.owner.token });
      expect(res.errors).toBeUndefined();
      expect(res.data.auditLogs.edges.map((e: any) => e.node.changes.name.new)).toEqual(['Three', 'Two', 'One']);
      expect(await slow.ownerSql`select 1 from audit_pending where tenant_id = ${tenant.tenant.id}`).toHaveLength(0);
      const integrityRes = await slow.gql(INTEGRITY, {}, { token: tenant.owner.token });
      expect(integrityRes.data.auditIntegrity).toMatchObject({ ok: true, firstBrokenId: null });
    } finally {
      await slow.close();
    }
  });

  it('the worker seals committed entries without any reader', async () => {
    const tenant = await server.seed.tenant();
    const created = await tenant.user('MEMBER');
    const sealed = async () =>
      (await server.ownerSql`select 1 from audit_logs where tenant_id = ${tenant.tenant.id} and entity_type = 'users' and entity_id = ${created.user.id} and action = 'INSERT'`).length === 1;
    await waitFor(sealed, { timeoutMs: 15_000 });
    expect(await server.ownerSql`select 1 from audit_pending where tenant_id = ${tenant.tenant.id}`).toHaveLength(0);
  });
});

describe('retention', () => {
  it('the prune runs as a daily pg-boss cron job on its own queue', async () => {
    const [schedule] = await server.ownerSql<{ cron: string; timezone: string }[]>`select cron, timezone from pgboss.schedule where name = 'audit-prune'`;
    expect(schedule).toEqual({ cron: server.app.config.AUDIT_PRUNE_CRON, timezone: 'UTC' });
    const [queue] = await server.ownerSql<{ retry_limit: number }[]>`select retry_limit from pgboss.queue where name = 'audit-prune'`;
    expect(queue?.retry_limit).toBe(3);
  });

  it('pruning removes only expired entries, records itself, and the chain still verifies from its anchor', async () => {
    const short = await server.seed.tenant();
    const long = await server.seed.tenant();
    for (let i = 0; i < 3; i++) {
      await short.user('MEMBER');
      await long.user('MEMBER');
    }
    await server.ownerSql`update tenants set audit_retention_days = 0 where id = ${short.tenant.id}`;
    await server.sealAudit();
    const count = async (id: string) => Number(((await server.ownerSql`select count(*) as n from audit_logs where tenant_id = ${id}`) as unknown as [{ n: string }])[0].n);
    const longBefore = await count(long.tenant.id);
    const removed = await pruneAuditLogs(server.app.systemDb);
    expect(removed).toBeGreaterThanOrEqual(6); // the tenant, its owner, 3 users, the retention change
    expect(await count(long.tenant.id)).toBe(longBefore);
    const remaining = await logs({}, short.owner.token);
    expect(remaining.map((e) => e.action)).toEqual(['AUDIT_PRUNED']);
    expect(await integrity(short)).toMatchObject({ ok: true, checkedEntries: 1 });
    await short.user('MEMBER');
    expect(await integrity(short)).toMatchObject({ ok: true, checkedEntries: 2 });
    expect(await integrity(long)).toMatchObject({ ok: true });
    // Removing the first remaining entry is still detected: it no longer follows the anchor.
    await server.ownerSql`delete from audit_logs where tenant_id = ${short.tenant.id} and action = 'AUDIT_PRUNED'`;
    expect(await integrity(short)).toMatchObject({ ok: false, reason: 'CHAIN_START_MISMATCH' });
  });

  it('an OWNER can set the retention (30–3650 days)', async () => {
    const ok = await server.gql('mutation { updateTenant(input: { name: "Kept", auditRetentionDays: 90 }) { auditRetentionDays } }', {}, { token: t.owner.token });
    expect(ok.data.updateTenant.auditRetentionDays).toBe(90);
    const bad = await server.gql('mutation { updateTenant(input: { name: "Kept", auditRetentionDays: 1 }) { auditRetentionDays } }', {}, { token: t.owner.token });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });
});
