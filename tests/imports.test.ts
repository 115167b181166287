/**
 * User imports (issue 15): POST /imports/users streams a CSV or NDJSON file, validates every row and
 * applies it through the user-import job in batches; progress in GraphQL (query and subscription).
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/modules/imports/service.js';
import { waitFor } from './helpers/wait.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { connectWs, subscribe } from './helpers/ws.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { IMPORT_BATCH_ROWS: '100' } });
});
afterAll(async () => {
  await server?.close();
});

async function upload(url: string, token: string, body: string, type = 'text/csv') {
  const res = await fetch(`${url}/imports/users`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
  return { status: res.status, body: (await res.json()) as any };
}

const JOB = `query($id: UUID!) { importJob(id: $id) { id status totalRows validRows createdRows failedRows appliedThrough fileHash errors { row code message fields { field } } } }`;

function csv(n: number, tag: string, extra: string[] = []) {
  return ['email,name,role', ...Array.from({ length: n }, (_, i) => `imp-${tag}-${i}@import.test,Person ${i},${i % 10 === 0 ? 'viewer' : ''}`), ...extra].join('\n') + '\n';
}

describe('POST /imports/users', () => {
  it('a CSV file: every row validated, valid ones created by the job in batches, per-row errors listed; the same file again answers the same import', async () => {
    const t = await server.seed.tenant();
    const tag = crypto.randomBytes(3).toString('hex');
    const admin = await t.user('ADMIN');
    const file = csv(350, tag, [`not-an-email,Bad`, `ok-${tag}@import.test,`, `imp-${tag}-3@import.test,Duplicate of row 4`, `${admin.user.email},Taken`, `boss-${tag}@import.test,Boss,owner`]);
    const res = await upload(server.url, admin.token, file);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'QUEUED', duplicate: false, totalRows: 355, validRows: 353, failedRows: 2 });
    const id = res.body.id;
    const done = await waitFor(async () => {
      const job = (await server.gql(JOB, { id }, { token: admin.token })).data.importJob;
      return job.status === 'SUCCEEDED' ? job : null;
    }, { timeoutMs: 60_000, message: 'the import to finish' });
    expect(done).toMatchObject({ totalRows: 355, createdRows: 350, failedRows: 5, appliedThrough: 355 });
    expect(done.fileHash).toBe(crypto.createHash('sha256').update(file).digest('hex'));
    expect(done.errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [351, 'BAD_USER_INPUT'],
      [352, 'BAD_USER_INPUT'],
      [353, 'CONFLICT'],
      [354, 'CONFLICT'],
      [355, 'FORBIDDEN'],
    ]);
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id} and email like ${`imp-${tag}-%`}`) as unknown as [{ n: number }];
    expect(n).toBe(350);
    await server.sealAudit();
    const [audit] = await server.ownerSql`select actor_type, actor_id, count(*)::int as n from audit_logs where tenant_id = ${t.tenant.id} and entity_type = 'users' and action = 'INSERT' and request_id = ${`import:${id}`} group by 1, 2`;
    expect(audit).toEqual({ actor_type: 'USER', actor_id: admin.user.id, n: 350 });
    expect((await server.ownerSql`select count(*)::int as n from import_rows where import_job_id = ${id}`)[0]!.n).toBe(0); // staging cleared

    const again = await upload(server.url, admin.token, file);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, duplicate: true });
  }, 120_000);

  it('NDJSON by an API key; refusals: MEMBERs, wrong type, empty file, malformed CSV; a subscription follows progress to the end', async () => {
    const t = await server.seed.tenant();
    const key = (await server.gql('mutation { createApiKey(input: { name: "importer", role: ADMIN }) { key } }', {}, { token: t.owner.token })).data.createApiKey.key;
    const tag = crypto.randomBytes(3).toString('hex');
    const lines = Array.from({ length: 250 }, (_, i) => JSON.stringify({ email: `nd-${tag}-${i}@import.test`, name: `Nd ${i}` })).concat(['{broken', '"a string"']).join('\n');
    const res = await upload(server.url, key, lines, 'application/x-ndjson');
    expect(res.status).toBe(202);
    expect(res.body.failedRows).toBe(2);
    const ws = connectWs(server.url, t.owner.token);
    const sub = subscribe(ws, `subscription($id: UUID!) { importJobProgress(id: $id) { status createdRows appliedThrough } }`, { id: res.body.id });
    const last = await sub.waitFor((e) => e.status === 'SUCCEEDED', 60_000);
    expect(last.createdRows).toBe(250);
    await ws.dispose();
    await server.sealAudit();
    const [audit] = await server.ownerSql`select distinct actor_type from audit_logs where tenant_id = ${t.tenant.id} and request_id = ${`import:${res.body.id}`}`;
    expect(audit).toEqual({ actor_type: 'API_KEY' });

    const member = await t.user('MEMBER');
    expect((await upload(server.url, member.token, csv(2, tag))).status).toBe(403);
    expect((await upload(server.url, t.owner.token, csv(2, tag), 'text/plain')).status).toBe(415);
    expect((await upload(server.url, t.owner.token, 'email,name\n')).body.error.code).toBe('BAD_USER_INPUT');
    const malformed = await upload(server.url, t.owner.token, 'email,name\n"unclosed,quote\n');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('BAD_USER_INPUT');
    expect((await upload(server.url, 'nonsense', csv(2, tag))).status).toBe(401);
  }, 120_000);
});

describe('unstorable text in a file (NUL, lone surrogates) in values and in column names', () => {
  it('CSV: a column name in the header is the whole file\'s: 400 on the file, nothing imported', async () => {
    const t = await server.seed.tenant();
    const tag = crypto.randomBytes(3).toString('hex');
    const res = await upload(server.url, t.owner.token, `email,name,role,no\u0000te\ngood-${tag}@import.test,Good,MEMBER,fine\n`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'file', message: expect.stringContaining('Column 4') }] });
    expect(await server.ownerSql`select 1 from users where tenant_id = ${t.tenant.id} and email = ${`good-${tag}@import.test`}`).toHaveLength(0);
  });
  it.each([
    ['NDJSON', 'application/x-ndjson', (tag: string) => `${JSON.stringify({ email: `nul-${tag}@import.test`, name: 'Nul', '\u0000k': 'v' })}\n${JSON.stringify({ email: `good-${tag}@import.test`, name: 'Good' })}\n`],
    ['NDJSON (a NUL in the value of a long column name ending in an emoji)', 'application/x-ndjson', (tag: string) => `${JSON.stringify({ email: `nul-${tag}@import.test`, name: 'Nul', [`${'a'.repeat(99)}😀`]: 'x\u0000' })}\n${JSON.stringify({ email: `good-${tag}@import.test`, name: 'Good' })}\n`],
    ['NDJSON (a lone surrogate)', 'application/x-ndjson', (tag: string) => `{"email":"nul-${tag}@import.test","name":"Nul","\\ud800":"v"}\n${JSON.stringify({ email: `good-${tag}@import.test`, name: 'Good' })}\n`],
  ])('%s: the row is listed with its error, the other rows are imported', async (_, type, file) => {
    const t = await server.seed.tenant();
    const tag = crypto.randomBytes(3).toString('hex');
    const res = await upload(server.url, t.owner.token, file(tag), type);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ totalRows: 2, validRows: 1, failedRows: 1 });
    const done = await waitFor(async () => {
      const job = (await server.gql(JOB, { id: res.body.id }, { token: t.owner.token })).data.importJob;
      return job.status === 'SUCCEEDED' ? job : null;
    }, { timeoutMs: 30_000, message: 'the import to finish' });
    expect(done.errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([[1, 'BAD_USER_INPUT']]);
    expect((await server.ownerSql`select email from users where tenant_id = ${t.tenant.id} and email like ${`%-${tag}@import.test`}`).map((r) => r.email)).toEqual([`good-${tag}@import.test`]);
  });
});

describe('an upload that ends badly (client gone mid-body, file over the limit)', () => {
  /** Sends headers and part of a body over a raw socket, then drops the connection. */
  async function abortedUpload(url: string, token: string, type: string, partial: string) {
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /imports/users HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: ${type}\r\ncontent-length: 100000\r\n\r\n${partial}`);
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
  }

  it.each([
    ['CSV', 'text/csv', 'email,name,role\nhalf-way@import.test,Half'],
    ['NDJSON', 'application/x-ndjson', '{"email":"half-way@import.test","name":"Half"}\n{"email":'],
  ])('%s: the process carries on, and nothing of the upload is kept', async (_, type, partial) => {
    const t = await server.seed.tenant();
    await abortedUpload(server.url, t.owner.token, type, partial);
    expect((await server.gql('{ health }', {})).data).toEqual({ health: 'ok' });
    expect(await server.ownerSql`select 1 from import_jobs where tenant_id = ${t.tenant.id}`).toHaveLength(0);
    expect((await upload(server.url, t.owner.token, `email,name\nafter-${t.tenant.slug}@import.test,After\n`)).status).toBe(202);
  });

  it('a file over IMPORT_MAX_BYTES is 413, in either format; the process carries on', async () => {
    const small = await startTestServer({ env: { IMPORT_MAX_BYTES: '2048' } });
    try {
      const t = await small.seed.tenant();
      const rows = Array.from({ length: 200 }, (_, i) => `big-${i}@import.test,Person ${i}`).join('\n');
      const csvRes = await upload(small.url, t.owner.token, `email,name\n${rows}\n`);
      expect([csvRes.status, csvRes.body.error?.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const ndjson = Array.from({ length: 200 }, (_, i) => JSON.stringify({ email: `big-${i}@import.test`, name: `P ${i}` })).join('\n');
      const ndRes = await upload(small.url, t.owner.token, ndjson, 'application/x-ndjson');
      expect([ndRes.status, ndRes.body.error?.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect((await small.gql('{ health }', {})).data).toEqual({ health: 'ok' });
    } finally {
      await small.close();
    }
  });
});

describe('a worker that dies mid-import', () => {
  it('loses only its uncommitted batch: the retried job continues after the last committed one, each row applied once', async () => {
    // An API-only server (no workers) on a database of its own: only this test runs the import's job.
    const api = await startTestServer({ env: { PROCESS_ROLE: 'api', IMPORT_BATCH_ROWS: '50' } });
    try {
      const t = await api.seed.tenant();
      const tag = crypto.randomBytes(3).toString('hex');
      const res = await upload(api.url, t.owner.token, csv(1000, tag));
      expect(res.status).toBe(202);
      const id = res.body.id as string;
      const job = { tenantId: t.tenant.id, importJobId: id };
      const deps = { db: api.app.db, jobs: api.app.jobs, config: { ...api.app.config, IMPORT_BATCH_ROWS: 50 } };
      // 1. A first run commits one batch, then hands over (a budget of 0: it enqueues its continuation).
      expect(await runImport({ ...deps, config: { ...deps.config, IMPORT_JOB_EXPIRE_SECONDS: 0 } }, job)).toBe('continued');
      const committed = (await api.ownerSql`select applied_through from import_jobs where id = ${id}`)[0]!.applied_through as number;
      expect(committed).toBe(50);
      // 2. The next run stops mid-batch (a lock on users); killing its backend is the worker dying there.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = api.ownerSql.begin(async (tx) => {
        await tx`lock table users in exclusive mode`;
        locked();
        await held;
      });
      await isLocked;
      const second = runImport(deps, job).then(
        () => 'finished',
        (err: unknown) => err,
      );
      const [blocked] = await waitFor(async () => {
        const rows = await api.ownerSql`select pid from pg_stat_activity where usename = 'tessera_app' and wait_event_type = 'Lock' and query ilike '%users%'`;
        return rows.length ? rows : null;
      }, { timeoutMs: 20_000, message: 'a batch to block' });
      await api.ownerSql`select pg_terminate_backend(${blocked!.pid})`;
      expect(await second).toBeInstanceOf(Error);
      release();
      await holder;
      expect((await api.ownerSql`select applied_through from import_jobs where id = ${id}`)[0]!.applied_through).toBe(committed);
      expect((await api.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id} and email like ${`imp-${tag}-%`}`)[0]!.n).toBe(50);
      // The retry (pg-boss brings the job back after its expiry; here we run it at once).
      // 3. The retry (pg-boss brings the job back after its expiry; here we run it at once) continues after row 50.
      expect(await waitFor(async () => ((await runImport(deps, job).catch(() => 'retry')) === 'done' ? 'done' : null), { timeoutMs: 60_000, message: 'the retried job' })).toBe('done');
      const [final] = await api.ownerSql`select status, created_rows, failed_rows, applied_through from import_jobs where id = ${id}`;
      expect(final).toEqual({ status: 'SUCCEEDED', created_rows: 1000, failed_rows: 0, applied_through: 1000 });
      const [{ n }] = (await api.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id} and email like ${`imp-${tag}-%`}`) as unknown as [{ n: number }];
      expect(n).toBe(1000);
    } finally {
      await api.close();
    }
  }, 180_000);
});
