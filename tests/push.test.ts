/**
 * Push: users created, updated and deactivated in Tessera reach the mock user service through jobs
 * with idempotency keys; failures retry and dead-letter; the provider's echo changes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { actors, inTenant, ShortTransactionScope } from '../src/db/tenant-transaction.js';
import { users } from '../src/db/schema.js';
import { pushUserChange } from '../src/integrations/push.js';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { createTestIntegration, FAST_OUTBOUND_ENV, mockControl } from './helpers/integrations.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import type { SeededTenant } from './helpers/seed.js';
import { FAST_JOBS_ENV, mockApi, sendUserWebhook, waitForEvent } from './helpers/sync.js';
import { waitFor } from './helpers/wait.js';

let server: TestServer;
let mock: MockServices;
let control: ReturnType<typeof mockControl>;
let api: ReturnType<typeof mockApi>;
let a: SeededTenant;
let integrationId: string;
let secret: string;

const CREATE = `mutation ($input: CreateUserInput!) { createUser(input: $input) { id email name status } }`;
const UPDATE = `mutation ($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id name } }`;
const DEACTIVATE = `mutation ($id: UUID!) { deactivateUser(id: $id) { id status } }`;

beforeAll(async () => {
  [server, mock] = await Promise.all([startTestServer({ env: { ...FAST_OUTBOUND_ENV, ...FAST_JOBS_ENV } }), startMockServices({ port: 0, seedUsers: 3 })]);
  control = mockControl(mock);
  api = mockApi(mock);
  a = await server.seed.tenant();
  const created = await createTestIntegration(server.app, mock, a.tenant.id, 'USER_SERVICE');
  integrationId = created.target.id;
  secret = created.secret;
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});
beforeEach(async () => {
  await control.clearFaults();
});

async function pushesOf(userId: string) {
  return server.ownerSql`select id, status, operation, attempts, last_error, idempotency_key, external_id, external_version::int as external_version from integration_pushes where record_id = ${userId} order by seq`;
}

async function ourUser(id: string) {
  const [row] = await server.ownerSql`select id, email, name, status, external_source, external_id, external_version::int as external_version, updated_at from users where id = ${id}`;
  return row!;
}

async function waitForPush(userId: string, statuses: string[], timeoutMs = 15_000) {
  let rows: any[] = [];
  await waitFor(
    async () => {
      rows = await pushesOf(userId);
      return rows.length > 0 && statuses.includes(rows.at(-1).status);
    },
    { timeoutMs, message: `push of ${userId} to reach ${statuses.join('/')}` },
  );
  return rows;
}

const providerUsersByEmail = async (email: string) => (await api.users('limit=1000&include_deleted=true')).filter((u) => u.email === email);

describe('push of our changes to the user service', () => {
  it('create, update and deactivate reach the provider once each; the link and version come back', async () => {
    const email = 'pushed.person@example.com';
    const created = await server.gql(CREATE, { input: { email, name: 'Pushed Person', role: 'MEMBER' } }, { token: a.owner.token });
    const id = created.data.createUser.id;
    const [push] = await waitForPush(id, ['SENT']);
    expect(push).toMatchObject({ operation: 'CREATE', attempts: 1 });
    const [atProvider] = await providerUsersByEmail(email);
    expect(atProvider).toMatchObject({ name: 'Pushed Person', status: 'active', version: 1 });
    expect(await ourUser(id)).toMatchObject({ external_source: integrationId, external_id: atProvider.id, external_version: 1 });

    await server.gql(UPDATE, { id, input: { name: 'Pushed Renamed' } }, { token: a.owner.token });
    await waitFor(async () => (await pushesOf(id))[1]?.status === 'SENT', { timeoutMs: 15_000, message: 'update push' });
    expect(await api.user(atProvider.id)).toMatchObject({ name: 'Pushed Renamed', version: 2 });
    expect((await ourUser(id)).external_version).toBe(2);

    // A change the provider does not hold (the role) is not pushed.
    await server.gql(`mutation ($id: UUID!) { changeUserRole(id: $id, role: VIEWER) { role } }`, { id }, { token: a.owner.token });
    expect(await pushesOf(id)).toHaveLength(2);

    await server.gql(DEACTIVATE, { id }, { token: a.owner.token });
    await waitFor(async () => (await pushesOf(id))[2]?.status === 'SENT', { timeoutMs: 15_000, message: 'deactivate push' });
    expect(await api.user(atProvider.id)).toMatchObject({ status: 'deleted', version: 3 });
    expect(await providerUsersByEmail(email)).toHaveLength(1);
  });

  it('quick successive changes of one user are sent one at a time and the newest state wins', async () => {
    const created = await server.gql(CREATE, { input: { email: 'busy.person@example.com', name: 'Busy 0' } }, { token: a.owner.token });
    const id = created.data.createUser.id;
    await waitForPush(id, ['SENT']);
    // A slow provider: while one push is in flight, the next ones wait (lease) or are superseded.
    await control.faults({ service: 'user-service', latencyMs: 400 });
    for (let i = 1; i <= 3; i++) await server.gql(UPDATE, { id, input: { name: `Busy ${i}` } }, { token: a.owner.token });
    await waitFor(async () => (await pushesOf(id)).every((p) => p.status === 'SENT' || p.status === 'SUPERSEDED'), { timeoutMs: 20_000, message: 'pushes to settle' });
    const rows = await pushesOf(id);
    expect(rows).toHaveLength(4);
    expect(rows.at(-1)).toMatchObject({ status: 'SENT' });
    const atProvider = await api.user((await ourUser(id)).external_id);
    expect(atProvider.name).toBe('Busy 3');
    expect((await ourUser(id)).external_version).toBe(atProvider.version);
  });

  it("the provider's webhook for our own change is recognised: no second change, no second push", async () => {
    const email = 'echo.person@example.com';
    const created = await server.gql(CREATE, { input: { email, name: 'Echo Person' } }, { token: a.owner.token });
    const id = created.data.createUser.id;
    await waitForPush(id, ['SENT']);
    const before = await ourUser(id);
    const atProvider = await api.user(before.external_id);

    const echo = await sendUserWebhook(server, integrationId, secret, 'user.created', atProvider);
    expect(await waitForEvent(server, (echo.body as any).id)).toMatchObject({ status: 'PROCESSED', outcome: 'unchanged' });
    expect(await ourUser(id)).toEqual(before);
    expect(await pushesOf(id)).toHaveLength(1);

    // A real change at the provider comes in as INTEGRATION: applied, and never pushed back.
    const changed = await api.patchUser(atProvider.id, { name: 'Changed At Provider' });
    const update = await sendUserWebhook(server, integrationId, secret, 'user.updated', changed);
    expect(await waitForEvent(server, (update.body as any).id)).toMatchObject({ outcome: 'updated' });
    expect(await ourUser(id)).toMatchObject({ name: 'Changed At Provider', external_version: changed.version });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await pushesOf(id)).toHaveLength(1);
  });

  it('a failing push is retried with the same idempotency key and applied once when the provider recovers', async () => {
    await control.faults({ service: 'user-service', errorRate: 1 });
    const email = 'retried.person@example.com';
    const created = await server.gql(CREATE, { input: { email, name: 'Retried Person' } }, { token: a.owner.token });
    const id = created.data.createUser.id;
    await waitFor(async () => (await pushesOf(id))[0]?.status === 'FAILED', { timeoutMs: 15_000, message: 'a failed attempt' });
    await control.clearFaults();
    const [push] = await waitForPush(id, ['SENT']);
    expect(push.attempts).toBeGreaterThanOrEqual(2);
    expect(await providerUsersByEmail(email)).toHaveLength(1);
  });

  it('a push that keeps failing is dead-lettered, counted in the integration health, listed, and can be retried', async () => {
    await control.faults({ service: 'user-service', down: true });
    const created = await server.gql(CREATE, { input: { email: 'dead.person@example.com', name: 'Dead Person' } }, { token: a.owner.token });
    const id = created.data.createUser.id;
    const [push] = await waitForPush(id, ['DEAD'], 30_000);
    expect(push.attempts).toBe(3); // PUSH_RETRY_LIMIT 2 → three attempts
    expect(push.last_error).toBeTruthy();
    await control.clearFaults();
    // The DEAD mark commits first; the health re-evaluation that counts it follows in its own transaction.
    let deadLetters = 0;
    await waitFor(
      async () => {
        const health = await server.gql(`query ($id: UUID!) { integrationHealth(integrationId: $id) { status signals { deadLetterCount } } }`, { id: integrationId }, { token: a.owner.token });
        deadLetters = health.data.integrationHealth.signals.deadLetterCount;
        return deadLetters >= 1;
      },
      { timeoutMs: 10_000, message: 'the dead push to be counted in the integration health' },
    );
    expect(deadLetters).toBeGreaterThanOrEqual(1);
    expect(await providerUsersByEmail('dead.person@example.com')).toHaveLength(0);

    // Visible to ADMINs with the other dead letters, and retried by hand once the provider is back.
    const listed = await server.gql(
      `query ($id: UUID!) { integrationPushes(integrationId: $id, status: DEAD) { totalCount edges { node { id userId operation status attempts lastError } } } }`,
      { id: integrationId },
      { token: a.owner.token },
    );
    expect(listed.data.integrationPushes.edges.map((e: any) => e.node)).toContainEqual(expect.objectContaining({ id: push.id, userId: id, operation: 'CREATE', status: 'DEAD', attempts: 3 }));
    const retried = await server.gql(`mutation ($id: UUID!) { retryIntegrationPush(id: $id) { id status } }`, { id: push.id }, { token: a.owner.token });
    expect(retried.data.retryIntegrationPush).toEqual({ id: push.id, status: 'PENDING' });
    await waitForPush(id, ['SENT']);
    expect(await providerUsersByEmail('dead.person@example.com')).toHaveLength(1);
    const again = await server.gql(`mutation ($id: UUID!) { retryIntegrationPush(id: $id) { id } }`, { id: push.id }, { token: a.owner.token });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const member = await a.user('MEMBER');
    const refused = await server.gql(`query ($id: UUID!) { integrationPushes(integrationId: $id) { totalCount } }`, { id: integrationId }, { token: member.token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Another tenant sees none of it and can't retry it.
    const other = await server.seed.tenant();
    const foreign = await server.gql(`query ($id: UUID!) { integrationPushes(integrationId: $id) { totalCount } }`, { id: integrationId }, { token: other.owner.token });
    expect(foreign.data.integrationPushes.totalCount).toBe(0);
    const foreignRetry = await server.gql(`mutation ($id: UUID!) { retryIntegrationPush(id: $id) { id } }`, { id: push.id }, { token: other.owner.token });
    expect(foreignRetry.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('a rolled-back change pushes nothing', async () => {
    const jobsBefore = (await server.ownerSql`select count(*)::int as n from pgboss.job where name = 'integration-push'`)[0]!.n;
    const scope = new ShortTransactionScope(server.app.db, actors.user(a.owner.user.id, a.tenant.id), server.app.jobs);
    await expect(
      inTenant(server.app.db, scope.actor, async (tx) => {
        const [row] = await tx.insert(users).values({ tenantId: a.tenant.id, email: 'rolled.back@example.com', name: 'Rolled Back' }).returning();
        await pushUserChange(tx, scope, null, row!);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const jobsAfter = (await server.ownerSql`select count(*)::int as n from pgboss.job where name = 'integration-push'`)[0]!.n;
    expect(jobsAfter).toBe(jobsBefore);
    const rows = (await server.ownerSql`select count(*)::int as n from integration_pushes where payload->>'email' = 'rolled.back@example.com'`)[0]!.n;
    expect(rows).toBe(0);
  });

  it('changes made by the INTEGRATION actor (webhooks) are never pushed', async () => {
    const provider = await api.createUser({ email: 'from.provider@example.com', name: 'From Provider' });
    const sent = await sendUserWebhook(server, integrationId, secret, 'user.created', provider);
    await waitForEvent(server, (sent.body as any).id);
    const [mirroredUser] = await server.ownerSql`select id from users where external_id = ${provider.id}`;
    expect(await pushesOf(mirroredUser!.id)).toHaveLength(0);
  });

  it('a tenant without a user-service integration pushes nothing', async () => {
    const other = await server.seed.tenant();
    const created = await server.gql(CREATE, { input: { email: 'no.integration@example.com', name: 'Nobody' } }, { token: other.owner.token });
    expect(created.data.createUser.id).toBeTruthy();
    expect(await pushesOf(created.data.createUser.id)).toHaveLength(0);
  });
});
