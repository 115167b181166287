import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIntegration } from './helpers/integrations.js';
import type { SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type GraphQLResult, type TestServer } from './helpers/server.js';
import { countEvents, countJobs, event, postWebhook } from './helpers/webhooks.js';

let server: TestServer;
let t: SeededTenant;
let other: SeededTenant;
/** Every log line the server writes during this file, at every level. */
const logLines: { level: number; text: string }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push({ level: JSON.parse(String(chunk)).level, text: String(chunk) }), done()) });
  server.app.log = pino({ level: 'trace' }, sink) as never;
  t = await server.seed.tenant();
  other = await server.seed.tenant();
});
afterAll(() => server.close());

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

/** A 400 BAD_USER_INPUT naming exactly these fields. */
function expectRefused(res: GraphQLResult, fields: string[]) {
  expect(res.status, JSON.stringify(res.errors)).toBe(400);
  expect(errorCode(res)).toBe('BAD_USER_INPUT');
  expect((res.errors![0]!.extensions!.fields as { field: string }[]).map((f) => f.field)).toEqual(fields);
  expect(res.data).toBeUndefined();
}

describe('text Postgres cannot store (NUL, lone surrogates) is refused at the edge, with the field', () => {
  it.each([
    ['NUL', NUL],
    ['a lone surrogate', LONE],
  ])('%s in variables: top-level, nested input objects, lists, IDs, custom scalars, JSON', async (_name, bad) => {
    const owner = { token: t.owner.token };
    expectRefused(await server.gql('query($s: String) { users(filter: { search: $s }) { totalCount } }', { s: bad }, owner), ['filter.search']);
    expectRefused(await server.gql('query($f: UserFilter) { users(filter: $f) { totalCount } }', { f: { search: bad } }, owner), ['filter.search']);
    expectRefused(await server.gql('mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }', { i: { name: bad } }, owner), ['input.name']);
    expectRefused(await server.gql('query($f: AuditLogFilter) { auditLogs(filter: $f) { edges { cursor } } }', { f: { actorId: bad, action: bad } }, owner), ['filter.actorId', 'filter.action']);
    expectRefused(await server.gql('query($f: WebhookEventFilter) { webhookEvents(filter: $f) { edges { cursor } } }', { f: { type: bad } }, owner), ['filter.type']);
    expectRefused(await server.gql('query($id: UUID!) { organization(id: $id) { id } }', { id: bad }, owner), ['id']);
    expectRefused(await server.gql('query($id: ID) { auditIntegrity(fromId: $id) { ok } }', { id: bad }, owner), ['fromId']);
    expectRefused(await server.gql('query($s: [WebhookEventStatus!]) { webhookEvents(filter: { status: $s }) { edges { cursor } } }', { s: ['DEAD', bad] }, owner), ['filter.status[1]']);
    expectRefused(await server.gql('query($a: String) { users(after: $a) { totalCount } }', { a: bad }, owner), ['after']);
    // Anonymous: login never gets to the password check.
    expectRefused(await server.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { tenantSlug: bad, email: 'a@b.co', password: bad } }), ['input.tenantSlug', 'input.password']);
    // An object key with NUL, where a JSON value or an input object is expected.
    expectRefused(await server.gql('query($f: UserFilter) { users(filter: $f) { totalCount } }', { f: { [`x${bad}`]: 1 } }, owner), [`filter.x${JSON.stringify(bad).slice(1, -1)}`]);
  });

  it('NUL written in the query text (an escape in a string literal) is refused the same way', async () => {
    expectRefused(await server.gql('{ users(filter: { search: "a\\u0000b" }) { totalCount } }', {}, { token: t.owner.token }), ['filter.search']);
    expectRefused(await server.gql('mutation { createOrganization(input: { name: "x\\u0000", description: """ok""" }) { id } }', {}, { token: t.owner.token }), ['input.name']);
    // A lone surrogate can't even be written as a GraphQL string escape: the parser refuses it.
    const lone = await server.gql('{ users(filter: { search: "\\ud800" }) { totalCount } }', {}, { token: t.owner.token });
    expect([lone.status, errorCode(lone)]).toEqual([400, 'GRAPHQL_PARSE_FAILED']);
  });

  it('over WebSocket too: a subscription with NUL in its arguments gets the same error', async () => {
    const client = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t.owner.token}` }, retryAttempts: 0, lazy: true });
    const errors = await new Promise<any[]>((resolve) => {
      client.subscribe({ query: 'subscription($id: UUID!) { integrationHealthChanged(integrationId: $id) { status } }', variables: { id: NUL } }, { next: () => {}, error: (e) => resolve(e as any[]), complete: () => resolve([]) });
    });
    await client.dispose();
    expect(errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'integrationId' }] } });
  });
});

describe('webhooks: a correctly signed body with text Postgres cannot store → 422, nothing stored', () => {
  it.each([
    ['in a value', (e: any) => ({ ...e, data: { ...e.data, name: 'x\u0000y' } })],
    ['in a key', (e: any) => ({ ...e, data: { ...e.data, ['k\u0000']: 1 } })],
    ['deep in an array', (e: any) => ({ ...e, data: { ...e.data, tags: [['ok', 'bad\u0000']] } })],
    ['a lone surrogate', (e: any) => ({ ...e, data: { ...e.data, name: '\udc00' } })],
    ['in the event type', (e: any) => ({ ...e, type: 'user.created\u0000' })],
  ])('%s', async (_name, poison) => {
    const { row, secret } = await createTestIntegration(server.app, { url: 'http://127.0.0.1:9' }, t.tenant.id, 'USER_SERVICE');
    const url = `${server.url}/webhooks/${row.id}`;
    const body = JSON.stringify(poison(event('user.created')));
    expect(body).toMatch(/\\u0000|\\ud[89a-f]/i); // sent escaped, as JSON must
    const res = await postWebhook(url, secret, body);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'UNPROCESSABLE_ENTITY', requestId: res.headers.get('x-request-id'), fields: [expect.objectContaining({ field: expect.any(String) })] });
    const batch = await postWebhook(url, secret, JSON.stringify([event('user.created'), poison(event('user.created'))]));
    expect(batch.status).toBe(422);
    expect(batch.body.error.fields[0].field).toMatch(/^\[1\]/);
    expect(await countEvents(server, row.id)).toBe(0);
    expect(await countJobs(server, row.id)).toBe(0);
  });
});

describe('date-times outside years 1–9999', () => {
  const OUT_OF_RANGE = ['0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', '9999-12-31T23:59:60Z'];

  it.each(OUT_OF_RANGE)('%s in a variable is BAD_USER_INPUT naming the field', async (value) => {
    const owner = { token: t.owner.token };
    const audit = await server.gql('query($f: AuditLogFilter) { auditLogs(filter: $f) { edges { cursor } } }', { f: { from: value } }, owner);
    if (value === '9999-12-31T23:59:60Z') return expect([audit.status, errorCode(audit)]).toEqual([400, 'BAD_USER_INPUT']); // a leap second: the scalar's own refusal
    expectRefused(audit, ['filter.from']);
    expectRefused(await server.gql('query($d: DateTime) { webhookEvents(filter: { receivedBefore: $d }) { edges { cursor } } }', { d: value }, owner), ['filter.receivedBefore']);
  });

  it('in the query text it is refused by validation (400), never reaching the database', async () => {
    for (const value of OUT_OF_RANGE) {
      const res = await server.gql(`{ auditLogs(filter: { to: "${value}" }) { edges { cursor } } }`, {}, { token: t.owner.token });
      expect([res.status, res.errors?.[0]?.extensions?.code], value).toEqual([400, expect.stringMatching(/^(GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/)]);
    }
  });

  it('in a cursor (cursors embed timestamps): BAD_USER_INPUT naming `after`', async () => {
    for (const at of ['0000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '2020-13-45T00:00:00.000Z']) {
      const cursor = Buffer.from(JSON.stringify([at, crypto.randomUUID()])).toString('base64url');
      for (const list of ['users', 'organizations', 'webhookEvents']) {
        // Decoded by the list's service: an execution error (200, GraphQL over HTTP), before any statement.
        const res = await server.gql(`query($a: String) { ${list}(after: $a) { edges { cursor } } }`, { a: cursor }, { token: t.owner.token });
        expect([res.status, errorCode(res), (res.errors![0]!.extensions!.fields as { field: string }[])[0]!.field]).toEqual([200, 'BAD_USER_INPUT', 'after']);
      }
    }
  });

  it('in the audit export\'s from/to: 400 with the field', async () => {
    for (const [query, field] of [['from=0000-01-01T00:00:00Z', 'from'], ['from=2020-01-01T00:00:00Z&to=%2B275760-09-13T00:00:00Z', 'to'], ['from=2020-01-01T00:00:00Z%00', 'from'], ['from=yesterday', 'from']] as const) {
      const res = await fetch(`${server.url}/audit-logs/export?${query}`, { headers: { authorization: `Bearer ${t.owner.token}` } });
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe('BAD_USER_INPUT');
      expect(body.error.fields.map((f: { field: string }) => f.field)).toEqual([field]);
    }
  });
});

describe('ids that are not canonical UUIDs', () => {
  it('are refused at the edge (literal or variable), and a sibling field is unharmed; upper case and braces name the same id', async () => {
    const id = t.owner.user.id;
    for (const bad of [`${id}}`, `${id}x`, ` ${id}`, id.slice(0, -1), `${id.slice(0, -1)}g`]) {
      const literal = await server.gql(`{ me { id } user(id: ${JSON.stringify(bad)}) { id } }`, {}, { token: t.owner.token });
      expect([literal.status, literal.errors?.[0]?.extensions?.code], bad).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
      const variable = await server.gql('query($id: UUID!) { me { id } user(id: $id) { id } }', { id: bad }, { token: t.owner.token });
      expect([variable.status, variable.errors?.[0]?.extensions?.code], bad).toEqual([400, 'BAD_USER_INPUT']);
    }
    for (const same of [id.toUpperCase(), `{${id}}`]) {
      const res = await server.gql('query($id: UUID!) { me { id } user(id: $id) { id } }', { id: same }, { token: t.owner.token });
      expect(res.data, same).toEqual({ me: { id }, user: { id } });
    }
  });
});

describe('pages and cursors', () => {
  it('first: 0 and first: -1 (literal or variable) are a 400 naming `first`', async () => {
    for (const n of [0, -1, -2147483648]) {
      expectRefused(await server.gql(`{ users(first: ${n}) { totalCount } }`, {}, { token: t.owner.token }), ['first']);
      expectRefused(await server.gql('query($n: Int) { organizations(first: $n) { totalCount } }', { n }, { token: t.owner.token }), ['first']);
      expectRefused(await server.gql('query($n: Int) { auditLogs(first: $n) { edges { cursor } } }', { n }, { token: t.owner.token }), ['first']);
    }
  });

  it('a malformed cursor is BAD_USER_INPUT naming `after`, and never reaches the database', async () => {
    const forged = [
      Buffer.from(JSON.stringify(['2020-01-01T00:00:00.000Z', '------------------------------------'])).toString('base64url'),
      Buffer.from(JSON.stringify(['2020-01-01T00:00:00.000Z', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'])).toString('base64url'),
      Buffer.from(JSON.stringify([123, crypto.randomUUID()])).toString('base64url'),
      Buffer.from(JSON.stringify({ at: 1 })).toString('base64url'),
      Buffer.from('[').toString('base64url'),
      '!!!',
      '',
    ];
    for (const a of forged) {
      for (const list of ['users', 'organizations', 'webhookEvents', 'auditLogs']) {
        const res = await server.gql(`query($a: String) { ${list}(after: $a) { edges { cursor } } }`, { a }, { token: t.owner.token });
        expect([errorCode(res), (res.errors?.[0]?.extensions?.fields as { field: string }[] | undefined)?.[0]?.field], `${list} ${a}`).toEqual(['BAD_USER_INPUT', 'after']);
      }
    }
  });
});

describe('requests Apollo refuses', () => {
  const post = (body: unknown) => fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('automatic persisted queries: unknown hash → PERSISTED_QUERY_NOT_FOUND; other versions → PERSISTED_QUERY_NOT_SUPPORTED; a wrong hash → BAD_REQUEST', async () => {
    const notFound = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } });
    expect([notFound.status, ((await notFound.json()) as any).errors[0].extensions.code]).toEqual([200, 'PERSISTED_QUERY_NOT_FOUND']);
    for (const version of [2, 0, '1', null]) {
      const res = await post({ extensions: { persistedQuery: { version, sha256Hash: 'a'.repeat(64) } } });
      expect([res.status, ((await res.json()) as any).errors[0].extensions.code], String(version)).toEqual([400, 'PERSISTED_QUERY_NOT_SUPPORTED']);
    }
    const mismatch = await post({ query: '{ health }', extensions: { persistedQuery: { version: 1, sha256Hash: 'b'.repeat(64) } } });
    expect([mismatch.status, ((await mismatch.json()) as any).errors[0].extensions.code]).toEqual([400, 'BAD_REQUEST']);
    // Registered, then found by its hash (the protocol working end to end).
    const query = '{ health }';
    const hash = crypto.createHash('sha256').update(query).digest('hex');
    expect(((await (await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).json()) as any).data).toEqual({ health: 'ok' });
    expect(((await (await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).json()) as any).data).toEqual({ health: 'ok' });
  });

  it('a subscription over HTTP (POST or GET) is a 400 BAD_REQUEST', async () => {
    const res = await server.gql('subscription { heartbeat }', {}, { token: t.owner.token });
    expect([res.status, errorCode(res)]).toEqual([400, 'BAD_REQUEST']);
    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent('subscription { heartbeat }')}`, { headers: { 'apollo-require-preflight': '1', authorization: `Bearer ${t.owner.token}` } });
    expect(get.status).toBe(400);
    expect(((await get.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('auditIntegrity(fromId:)', () => {
  it('an id that does not exist, or is another tenant\'s, is NOT_FOUND (not a broken chain)', async () => {
    const owner = { token: t.owner.token };
    await t.user('MEMBER');
    await server.sealAudit();
    const maxSeq = async (tenantId: string) => Number(((await server.ownerSql`select max(seq) as seq from audit_logs where tenant_id = ${tenantId}`) as unknown as [{ seq: string }])[0].seq);
    while ((await maxSeq(other.tenant.id)) <= (await maxSeq(t.tenant.id))) await other.user('MEMBER');
    const theirs = String(await maxSeq(other.tenant.id)); // an entry of theirs, beyond our chain
    const [{ seq: ours }] = (await server.ownerSql`select min(seq)::text as seq from audit_logs where tenant_id = ${t.tenant.id}`) as unknown as [{ seq: string }];
    for (const fromId of ['999999999', theirs]) {
      const res = await server.gql('query($id: ID) { auditIntegrity(fromId: $id) { ok reason } }', { id: fromId }, owner);
      expect(errorCode(res), fromId).toBe('NOT_FOUND');
    }
    const mine = await server.gql('query($id: ID) { auditIntegrity(fromId: $id) { ok reason } }', { id: ours }, owner);
    expect(mine.data.auditIntegrity).toEqual({ ok: true, reason: null });
  });
});

describe('authorization scheme', () => {
  it('is case-insensitive (RFC 9110), over HTTP and in graphql-ws connectionParams', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const res = await server.gql('{ me { id } }', {}, { headers: { authorization: `${scheme} ${t.owner.token}` } });
      expect(res.data?.me?.id, scheme).toBe(t.owner.user.id);
    }
    expect((await server.gql('{ me { id } }', {}, { headers: { authorization: `Basic ${t.owner.token}` } })).status).toBe(401);
    const client = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `bearer ${t.owner.token}` }, retryAttempts: 0, lazy: true });
    const beat = await new Promise<unknown>((resolve, reject) => {
      const stop = client.subscribe({ query: 'subscription { heartbeat(intervalSeconds: 1) }' }, { next: (v) => (stop(), resolve(v)), error: reject, complete: () => {} });
    });
    await client.dispose();
    expect(beat).toMatchObject({ data: { heartbeat: expect.any(String) } });
  });
});

describe('logs', () => {
  it('refused input is never logged at error level, nor with its values', async () => {
    const marker = `hostile-${crypto.randomBytes(4).toString('hex')}`;
    const from = logLines.length;
    const owner = { token: t.owner.token };
    await server.gql('query($s: String) { users(filter: { search: $s }) { totalCount } }', { s: `${marker}\u0000` }, owner);
    await server.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { tenantSlug: `${marker}\u0000`, email: 'a@b.co', password: marker } });
    await server.gql('query($f: AuditLogFilter) { auditLogs(filter: $f) { edges { cursor } } }', { f: { from: '0000-01-01T00:00:00Z', actorId: marker } }, owner);
    await server.gql('query($a: String) { users(after: $a) { totalCount } }', { a: Buffer.from(JSON.stringify(['2020-01-01T00:00:00.000Z', marker])).toString('base64url') }, owner);
    await fetch(`${server.url}/audit-logs/export?from=${marker}`, { headers: { authorization: `Bearer ${t.owner.token}` } });
    const lines = logLines.slice(from);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => l.text.includes(marker))).toEqual([]);
  });
});
