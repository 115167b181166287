/**
 * Idempotent mutations (issue 15): the `Idempotency-Key` header on POST /graphql. Real server, real
 * Postgres; the crash case kills a real server process mid-request.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_PASSWORDS_ENV } from './helpers/global-setup.js';
import { freePorts, processSandbox } from './helpers/process.js';
import { waitFor } from './helpers/wait.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import type { SeededTenant } from './helpers/seed.js';

let server: TestServer;
const sandbox = processSandbox('idempotency');
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const CREATE_ORG = 'mutation($name: String!) { createOrganization(input: { name: $name }) { id name } }';

async function post(url: string, token: string, key: string | undefined, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(key !== undefined ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] } };
}

const orgsNamed = async (t: SeededTenant, name: string) => ((await server.ownerSql`select count(*)::int as n from organizations where tenant_id = ${t.tenant.id} and name = ${name}`) as unknown as [{ n: number }])[0].n;

describe('Idempotency-Key on a mutation', () => {
  it('a sequential repeat returns the stored response with Idempotent-Replayed: true and does nothing else (one row, one audit entry)', async () => {
    const t = await server.seed.tenant();
    const key = crypto.randomUUID();
    const first = await post(server.url, t.owner.token, key, CREATE_ORG, { name: 'Once' });
    expect(first.body.errors).toBeUndefined();
    expect(first.replayed).toBeNull();
    const again = await post(server.url, t.owner.token, key, CREATE_ORG, { name: 'Once' });
    expect(again.status).toBe(200);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(first.body);
    // Whitespace in the document and key order in the variables don't make it another request.
    const spaced = await post(server.url, t.owner.token, key, `mutation($name: String!) {\n  createOrganization(input: { name: $name }) { id name }\n}`, { name: 'Once' });
    expect(spaced.replayed).toBe('true');
    expect(await orgsNamed(t, 'Once')).toBe(1);
    await server.sealAudit();
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from audit_logs where tenant_id = ${t.tenant.id} and entity_type = 'organizations'`) as unknown as [{ n: number }];
    expect(n).toBe(1);
  });

  it('a stored response is sealed: a secret shown once (an API key) is replayed to its caller but never kept in plain text', async () => {
    const t = await server.seed.tenant();
    const key = crypto.randomUUID();
    const CREATE_KEY = 'mutation { createApiKey(input: { name: "ci", role: VIEWER }) { key apiKey { id } } }';
    const first = await post(server.url, t.owner.token, key, CREATE_KEY, {});
    expect(first.body.errors).toBeUndefined();
    const secret = first.body.data.createApiKey.key as string;
    const again = await post(server.url, t.owner.token, key, CREATE_KEY, {});
    expect(again.replayed).toBe('true');
    expect(again.body.data.createApiKey.key).toBe(secret);
    const rows = (await server.ownerSql`select response::text as r from idempotency_records where tenant_id = ${t.tenant.id} and key = ${key}`) as unknown as { r: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.r).not.toContain(secret);
    expect(rows[0]!.r).not.toContain(first.body.data.createApiKey.apiKey.id);
    // Moved to another caller's record, it does not open: the seal is bound to tenant + principal + key.
    const other = crypto.randomUUID();
    await post(server.url, t.owner.token, other, CREATE_ORG, { name: 'Other' });
    await server.ownerSql`update idempotency_records set response = (select response from idempotency_records where tenant_id = ${t.tenant.id} and key = ${key}) where tenant_id = ${t.tenant.id} and key = ${other}`;
    const moved = await post(server.url, t.owner.token, other, CREATE_ORG, { name: 'Other' });
    expect(moved.status).toBe(422);
    expect(moved.body.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(JSON.stringify(moved.body)).not.toContain(secret);
  });

  it('50 concurrent repeats → one effect; every answer is the one response or IDEMPOTENCY_KEY_IN_USE (409)', async () => {
    const t = await server.seed.tenant();
    const key = crypto.randomUUID();
    const all = await Promise.all(Array.from({ length: 50 }, () => post(server.url, t.owner.token, key, CREATE_ORG, { name: 'Fifty' })));
    expect(await orgsNamed(t, 'Fifty')).toBe(1);
    const ok = all.filter((r) => !r.body.errors);
    const busy = all.filter((r) => r.body.errors);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => r.body.data.createOrganization.id)).size).toBe(1);
    expect(ok.filter((r) => r.replayed !== 'true')).toHaveLength(1); // exactly one ran
    for (const r of busy) {
      expect(r.status).toBe(409);
      expect(r.body.errors![0]!.extensions!.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    }
    // Once it committed, every retry gets the stored response.
    expect((await post(server.url, t.owner.token, key, CREATE_ORG, { name: 'Fifty' })).replayed).toBe('true');
  });

  it('the same key with another body is refused (422 IDEMPOTENCY_KEY_REUSED); keys are per principal; queries and bad keys', async () => {
    const t = await server.seed.tenant();
    const key = crypto.randomUUID();
    await post(server.url, t.owner.token, key, CREATE_ORG, { name: 'First' });
    const other = await post(server.url, t.owner.token, key, CREATE_ORG, { name: 'Second' });
    expect(other.status).toBe(422);
    expect(other.body.errors![0]!.extensions!.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await orgsNamed(t, 'Second')).toBe(0);
    // Another user (or API key) of the tenant, another tenant: the key is theirs to use.
    const admin = await t.user('ADMIN');
    expect((await post(server.url, admin.token, key, CREATE_ORG, { name: 'By admin' })).replayed).toBeNull();
    const b = await server.seed.tenant();
    expect((await post(server.url, b.owner.token, key, CREATE_ORG, { name: 'First' })).replayed).toBeNull();
    expect(await orgsNamed(b, 'First')).toBe(1);
    // A query ignores the header; a malformed key is BAD_USER_INPUT before anything runs.
    expect((await post(server.url, t.owner.token, key, '{ tenant { id } }', {})).body.errors).toBeUndefined();
    for (const bad of ['x'.repeat(256), 'has space', 'tab\there', '', 'one, two' /* the header sent twice */]) {
      const res = await post(server.url, t.owner.token, bad, CREATE_ORG, { name: `bad-${bad.length}` });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
  });

  it('a replay is refused to a caller who may no longer make the call (demoted since): as the call would be, and the stored response (a secret shown once) is not shown', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const key = crypto.randomUUID();
    const CREATE_KEY = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id } } }';
    const first = await post(server.url, admin.token, key, CREATE_KEY, { input: { name: 'replayed', role: 'VIEWER' } });
    expect(first.body.data.createApiKey.key).toMatch(/^tsk_/);
    expect((await post(server.url, admin.token, key, CREATE_KEY, { input: { name: 'replayed', role: 'VIEWER' } })).replayed).toBe('true');
    // Also a call the MEMBER could make (renaming oneself): made as an ADMIN, it is not replayed to a MEMBER.
    const ownKey = crypto.randomUUID();
    const RENAME_SELF = 'mutation($id: UUID!) { updateUser(id: $id, input: { name: "Renamed" }) { name } }';
    expect((await post(server.url, admin.token, ownKey, RENAME_SELF, { id: admin.user.id })).body.errors).toBeUndefined();
    expect((await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: MEMBER) { role } }', { id: admin.user.id }, { token: t.owner.token })).data.changeUserRole.role).toBe('MEMBER');
    const replay = await post(server.url, admin.token, key, CREATE_KEY, { input: { name: 'replayed', role: 'VIEWER' } });
    expect(replay.status).toBe(403);
    expect(replay.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(replay.replayed).toBeNull();
    expect(JSON.stringify(replay.body)).not.toContain(first.body.data.createApiKey.key);
    const fresh = await post(server.url, admin.token, crypto.randomUUID(), CREATE_KEY, { input: { name: 'fresh', role: 'VIEWER' } });
    expect(fresh.body.errors![0]!.extensions!.code).toBe('FORBIDDEN'); // the call itself, now
    const own = await post(server.url, admin.token, ownKey, RENAME_SELF, { id: admin.user.id });
    expect(own.status).toBe(403); // made as an ADMIN: not replayed to a MEMBER, though a MEMBER may rename themself
    expect(own.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_CHANGED' });
  });

  it('nor to a caller whose role is below the one they made it with, though the field itself still allows them (an OWNER key made by an OWNER, replayed to that person as an ADMIN)', async () => {
    const t = await server.seed.tenant();
    const owner = await t.user('OWNER');
    const key = crypto.randomUUID();
    const CREATE_KEY = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }';
    const first = await post(server.url, owner.token, key, CREATE_KEY, { input: { name: 'owner-key', role: 'OWNER' } });
    expect(first.body.data.createApiKey.key).toMatch(/^tsk_/);
    expect((await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: ADMIN) { role } }', { id: owner.user.id }, { token: t.owner.token })).data.changeUserRole.role).toBe('ADMIN');
    const replay = await post(server.url, owner.token, key, CREATE_KEY, { input: { name: 'owner-key', role: 'OWNER' } });
    expect(replay.status).toBe(403);
    expect(replay.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_CHANGED' });
    expect(JSON.stringify(replay.body)).not.toContain(first.body.data.createApiKey.key);
    // Promoted back, the replay is theirs again.
    await server.gql('mutation($id: UUID!) { changeUserRole(id: $id, role: OWNER) { role } }', { id: owner.user.id }, { token: t.owner.token });
    expect((await post(server.url, owner.token, key, CREATE_KEY, { input: { name: 'owner-key', role: 'OWNER' } })).body.data.createApiKey.key).toBe(first.body.data.createApiKey.key);
  });

  it('a mutation that failed as a whole stores nothing (nothing committed): the retry runs again', async () => {
    const t = await server.seed.tenant();
    await t.organization('Taken');
    const key = crypto.randomUUID();
    const failed = await post(server.url, t.owner.token, key, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: 'Taken' });
    expect(failed.body.errors![0]!.extensions!.code).toBe('CONFLICT');
    await server.ownerSql`delete from organizations where tenant_id = ${t.tenant.id} and name = 'Taken'`;
    const retried = await post(server.url, t.owner.token, key, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: 'Taken' });
    expect(retried.body.errors).toBeUndefined();
    expect(retried.replayed).toBeNull();
  });

  it('records expire after IDEMPOTENCY_TTL_SECONDS: then the key runs the mutation again', async () => {
    const short = await startTestServer({ env: { IDEMPOTENCY_TTL_SECONDS: '1' } });
    try {
      const t = await short.seed.tenant();
      const key = crypto.randomUUID();
      const q = 'mutation { createApiKey(input: { name: "expiring", role: VIEWER }) { apiKey { id } } }';
      const first = await post(short.url, t.owner.token, key, q, {});
      expect((await post(short.url, t.owner.token, key, q, {})).replayed).toBe('true');
      await new Promise((r) => setTimeout(r, 1300));
      const after = await post(short.url, t.owner.token, key, q, {});
      expect(after.replayed).toBeNull();
      expect(after.body.data.createApiKey.apiKey.id).not.toBe(first.body.data.createApiKey.apiKey.id);
      expect((await post(short.url, t.owner.token, key, q, {})).body).toEqual(after.body);
    } finally {
      await short.close();
    }
  });
});

describe('a server killed mid-request', () => {
  it('leaves neither effect nor record; the retry (on another server) runs once, then replays', async () => {
    const t = await server.seed.tenant();
    // An API key: the killed process and this one verify it alike (no shared signing key needed).
    const created = await server.gql('mutation { createApiKey(input: { name: "crash", role: ADMIN }) { key } }', {}, { token: t.owner.token });
    const apiKey = created.data.createApiKey.key as string;
    const { PORT } = await freePorts();
    const child = sandbox.start({
      NODE_ENV: 'production',
      PROCESS_ROLE: 'api',
      PORT,
      APP_DATABASE_URL: server.databaseUrl.app,
      ...ROLE_PASSWORDS_ENV,
      JWT_PRIVATE_JWK: JSON.stringify(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })),
      PLATFORM_OPERATOR_PASSWORD: 'operator-password-idempotency',
      INTEGRATION_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      METRICS_TOKEN: 'metrics-token-idempotency-0123456789',
      HEALTH_CHECK_CRON: 'off',
      SYNC_INCREMENTAL_CRON: 'off',
      SYNC_FULL_CRON: 'off',
      STATEMENT_TIMEOUT_MS: '60000', // the request waits on our lock until we kill it
      // The budgets of the in-process server (they share the counters: a lease of its 1,000,000 would exhaust 600).
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
      RATE_LIMIT_TENANT_FREE_PER_MINUTE: '1000000',
    });
    await child.waitFor(/"msg":"Tessera ready"/, 120_000);
    const key = crypto.randomUUID();
    // Hold the organizations table so the request stops mid-transaction (after its idempotency claim).
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = server.ownerSql.begin(async (tx) => {
      await tx`lock table organizations in exclusive mode`;
      locked();
      await held;
    });
    await isLocked;
    const inFlight = post(`http://127.0.0.1:${PORT}`, apiKey, key, CREATE_ORG, { name: 'Crashed' }).catch((err: unknown) => err);
    let settled: unknown;
    void inFlight.then((r) => (settled = r));
    await waitFor(async () => {
      const rows = await server.ownerSql`select 1 from pg_stat_activity where usename = 'tessera_app' and wait_event_type = 'Lock' and query ilike '%organizations%'`;
      return rows.length > 0;
    }, { timeoutMs: 20_000, message: 'the request to block on the lock' }).catch(async (err) => {
      throw new Error(`${err}\nresponse: ${JSON.stringify(settled)}\nactivity: ${JSON.stringify(await server.ownerSql`select usename, state, wait_event_type, left(query, 120) as q from pg_stat_activity where datname = current_database()`)}`);
    });
    child.child.kill('SIGKILL');
    await child.exited;
    expect(await inFlight).toBeInstanceOf(Error); // the client saw the connection drop
    release();
    await holder;
    await waitFor(async () => (await server.ownerSql`select 1 from pg_stat_activity where usename = 'tessera_app' and query ilike '%organizations%' and state <> 'idle'`).length === 0, {
      timeoutMs: 20_000,
      message: 'the dead request’s backend to roll back',
    });
    expect(await orgsNamed(t, 'Crashed')).toBe(0);
    expect((await server.ownerSql`select count(*)::int as n from idempotency_records where key = ${key}`)[0]!.n).toBe(0);

    const retried = await post(server.url, apiKey, key, CREATE_ORG, { name: 'Crashed' });
    expect(retried.body.errors).toBeUndefined();
    expect(retried.replayed).toBeNull();
    expect((await post(server.url, apiKey, key, CREATE_ORG, { name: 'Crashed' })).replayed).toBe('true');
    expect(await orgsNamed(t, 'Crashed')).toBe(1);
  }, 180_000);
});
