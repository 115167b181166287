import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ErrorCode, formatGraphQLError, restErrorBody, toAppError, type ErrorLog } from '../src/errors.js';
import { ProviderHttpError, ProviderUnavailableError } from '../src/integrations/errors.js';
import { createTestIntegration } from './helpers/integrations.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { postWebhook } from './helpers/webhooks.js';

let server: TestServer;
let t: SeededTenant;
beforeAll(async () => {
  server = await startTestServer({ env: { WEBHOOK_MAX_BODY_BYTES: '4096' } });
  t = await server.seed.tenant();
});
afterAll(() => server.close());

/** Sends raw bytes (for what fetch refuses to send) and parses the HTTP answer. */
function raw(text: string): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = out.split('\r\n\r\n');
      const [statusLine, ...lines] = head!.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n')) });
    });
  });
}

/** The REST envelope, with the request id matching the header. */
async function expectRestError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as any;
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String), requestId: res.headers.get('x-request-id') }) });
  expect(body.error.requestId).toBeTruthy();
  return body.error;
}

/** The GraphQL shape on /graphql. */
async function expectGraphQLError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const body = (await res.json()) as any;
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]).toMatchObject({ message: expect.any(String), extensions: { code } });
  return body.errors[0];
}

describe('the error table', () => {
  it('every code is documented in README with its HTTP status', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n## ', readme.indexOf('### Errors')));
    for (const [code, { http }] of Object.entries(ErrorCode)) {
      const row = section.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${code}\``));
      expect(row, code).toBeDefined();
      expect(row!.split('|').at(-2), code).toContain(String(http));
    }
  });

  it('turns any error into a client-safe one: ours kept, database refusals mapped, bugs masked and logged', () => {
    const lines: { level: string; obj: any }[] = [];
    const log: ErrorLog = { error: (obj) => lines.push({ level: 'error', obj }), info: (obj) => lines.push({ level: 'info', obj }) };
    expect(toAppError(new AppError('CONFLICT', 'taken'), log)).toMatchObject({ code: 'CONFLICT', message: 'taken' });
    // A database refusal of a value (22021: bad text) is the input's fault: info, with the SQLSTATE only.
    const dbError = Object.assign(new Error('Failed query: select $1\nparams: secret-value'), { params: ['secret-value'], cause: Object.assign(new Error('invalid byte sequence'), { severity: 'ERROR', code: '22021' }) });
    expect(toAppError(dbError, log).code).toBe('BAD_USER_INPUT');
    expect(lines.at(-1)).toEqual({ level: 'info', obj: { sqlstate: '22021', code: 'BAD_USER_INPUT' } });
    // A sibling field in the transaction that refusal aborted (25P02): a client error, not a bug.
    const aborted = Object.assign(new Error('current transaction is aborted'), { cause: Object.assign(new Error('current transaction is aborted'), { severity: 'ERROR', code: '25P02' }) });
    expect(toAppError(aborted, log).code).toBe('BAD_REQUEST');
    expect(lines.at(-1)!.level).toBe('info');
    // An integration's failure says what it means to a client.
    expect(toAppError(new ProviderHttpError(429, 'slow down', 3000), log).extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 3 });
    expect(toAppError(new ProviderUnavailableError('TIMEOUT', 'late'), log).code).toBe('SERVICE_UNAVAILABLE');
    // Anything else is a bug: masked, logged at error level.
    const bug = toAppError(new TypeError('x is undefined'), log);
    expect([bug.code, bug.message]).toEqual(['INTERNAL_SERVER_ERROR', 'Internal server error']);
    expect(lines.at(-1)!.level).toBe('error');
    // The two transports, from the same error.
    expect(restErrorBody(new AppError('RATE_LIMITED', 'wait', { retryAfter: 7 }), 'req-1')).toEqual({
      status: 429,
      headers: { 'retry-after': '7' },
      body: { error: { code: 'RATE_LIMITED', message: 'wait', requestId: 'req-1', retryAfter: 7 } },
    });
    expect(formatGraphQLError({ message: 'x', path: ['a'] }, dbError, log)).toEqual({ message: 'input: Value rejected by the database', path: ['a'], extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'input', message: 'Value rejected by the database' }] } });
  });
});

describe("Fastify's own refusals carry the envelope, a code and x-request-id", () => {
  it('an unknown route is a 404 REST envelope', async () => {
    for (const path of ['/nope', '/graphql/x', '/webhooks', '/audit-logs/export/x']) {
      const err = await expectRestError(await fetch(`${server.url}${path}`), 404, 'NOT_FOUND');
      expect(err.message).toContain(path);
    }
  });

  it('a known route with another method is a 405 with Allow, in the route\'s shape', async () => {
    const put = await fetch(`${server.url}/graphql`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(put.headers.get('allow')).toContain('POST');
    await expectGraphQLError(put, 405, 'METHOD_NOT_ALLOWED');
    const del = await fetch(`${server.url}/graphql`, { method: 'DELETE' });
    await expectGraphQLError(del, 405, 'METHOD_NOT_ALLOWED');
    const get = await fetch(`${server.url}/webhooks/00000000-0000-0000-0000-000000000000`);
    expect(get.headers.get('allow')).toBe('POST');
    await expectRestError(get, 405, 'METHOD_NOT_ALLOWED');
    await expectRestError(await fetch(`${server.url}/healthz`, { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED');
    // A path parameter longer than the router reads (Fastify's maxParamLength) was a masked 500.
    await expectRestError(await fetch(`${server.url}/webhooks/${'a'.repeat(300)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 414, 'URI_TOO_LONG');
  });

  it('a request id sent by the client is echoed in the header and the envelope', async () => {
    const res = await fetch(`${server.url}/nope`, { headers: { 'x-request-id': 'client-chosen-id.1' } });
    expect(res.headers.get('x-request-id')).toBe('client-chosen-id.1');
    expect((await expectRestError(res, 404, 'NOT_FOUND')).requestId).toBe('client-chosen-id.1');
  });

  it('oversized headers → 431, a malformed URL or request line → 400, written before any route runs', async () => {
    const big = await raw(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(big.body).toEqual({ error: { code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', message: expect.any(String), requestId: big.headers['x-request-id'] } });
    const badUrl = await raw('GET /%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error).toMatchObject({ code: 'BAD_REQUEST', requestId: badUrl.headers['x-request-id'] });
    const badLine = await raw('GET / HTTP/1.1\r\nhost: x\r\nno header colon\r\n\r\n');
    expect(badLine.status).toBe(400);
    expect(badLine.body.error).toMatchObject({ code: 'BAD_REQUEST', requestId: badLine.headers['x-request-id'] });
  });

  it('on /graphql: malformed JSON 400, wrong content type 415, too large 413, all as GraphQL errors', async () => {
    const post = (body: string, contentType = 'application/json') => fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': contentType }, body });
    await expectGraphQLError(await post('{"query": '), 400, 'BAD_REQUEST');
    await expectGraphQLError(await post('', 'application/json'), 400, 'BAD_REQUEST');
    await expectGraphQLError(await post('<q/>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectGraphQLError(await post(JSON.stringify({ query: '{ health }', variables: { pad: 'x'.repeat(300 * 1024) } })), 413, 'PAYLOAD_TOO_LARGE');
    await expectGraphQLError(await post('{"query": 1}'), 400, 'BAD_REQUEST');
  });

  it('webhooks: Fastify\'s 413 and the receiver\'s refusals share the REST envelope', async () => {
    const { row, secret } = await createTestIntegration(server.app, { url: 'http://127.0.0.1:9' }, t.tenant.id, 'USER_SERVICE');
    const url = `${server.url}/webhooks/${row.id}`;
    const large = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(5000) });
    await expectRestError(large, 413, 'PAYLOAD_TOO_LARGE');
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await expectRestError(unsigned, 401, 'UNAUTHENTICATED');
    const notJson = await postWebhook(url, secret, '{nope');
    expect(notJson.body).toEqual({ error: { code: 'BAD_USER_INPUT', message: expect.any(String), requestId: notJson.headers.get('x-request-id') } });
    await expectRestError(await fetch(`${server.url}/webhooks/not-a-uuid`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 404, 'NOT_FOUND');
  });

  it('the audit export refuses in the REST envelope', async () => {
    const anonymous = await fetch(`${server.url}/audit-logs/export?from=2026-01-01T00:00:00Z`);
    await expectRestError(anonymous, 401, 'UNAUTHENTICATED');
    const member = await t.user('MEMBER');
    await expectRestError(await fetch(`${server.url}/audit-logs/export?from=2026-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${member.token}` } }), 403, 'FORBIDDEN');
    const bad = await fetch(`${server.url}/audit-logs/export`, { headers: { authorization: `Bearer ${t.owner.token}` } });
    expect((await expectRestError(bad, 400, 'BAD_USER_INPUT')).fields).toEqual([{ field: 'from', message: expect.any(String) }]);
  });
});

describe('GraphQL answers', () => {
  it('a failed context (bad token) takes its status from the table, without a prefix', async () => {
    const res = await server.gql('{ me { id } }', {}, { headers: { authorization: 'Bearer not.a.token' } });
    expect(res.status).toBe(401);
    expect(res.errors).toEqual([{ message: expect.not.stringContaining('Context creation failed'), extensions: { code: 'UNAUTHENTICATED' } }]);
  });

  it('request errors Apollo answers itself keep their codes (batching, empty query, unknown operation name)', async () => {
    const batch = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"query":"{ health }"}]' });
    await expectGraphQLError(batch, 400, 'BAD_REQUEST');
    const empty = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await expectGraphQLError(empty, 400, 'BAD_REQUEST');
    const op = await server.gql('query A { health } query B { health }', {}, {});
    expect([op.status, op.errors?.[0]?.extensions?.code]).toEqual([400, 'OPERATION_RESOLUTION_FAILURE']);
  });

  it('an operation name that names no operation runs nothing (a mutation neither), over POST and GET, on every run (also once the operation is compiled)', async () => {
    const name = `never-created-${Date.now()}`;
    const mutation = `mutation Create { createOrganization(input: { name: "${name}" }) { id } }`;
    const post = (query: string, operationName?: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.owner.token}`, ...headers }, body: JSON.stringify({ query, operationName }) });
    const get = (query: string, operationName: string) =>
      fetch(`${server.url}/graphql?${new URLSearchParams({ query, operationName })}`, { headers: { authorization: `Bearer ${t.owner.token}`, 'apollo-require-preflight': 'true' } });
    const anonymous = '{ health }';
    for (let run = 0; run < 4; run++) {
      for (const [query, operationName] of [
        [mutation, 'Other'],
        [mutation, ''],
        ['query Health { health }', 'Other'],
        [anonymous, ''],
        ['query A { health } query B { health }', 'C'],
      ] as const) {
        await expectGraphQLError(await post(query, operationName), 400, 'OPERATION_RESOLUTION_FAILURE');
        await expectGraphQLError(await post(query, operationName, { 'idempotency-key': `k-${run}-${operationName}` }), 400, 'OPERATION_RESOLUTION_FAILURE');
        await expectGraphQLError(await get(query, operationName), 400, 'OPERATION_RESOLUTION_FAILURE');
      }
      // Named rightly (or not at all, for a single anonymous operation) it runs, compiled after its first runs.
      expect((await post('query Health { health }', 'Health')).status).toBe(200);
      expect((await post(anonymous)).status).toBe(200);
    }
    expect(await server.ownerSql`select 1 from organizations where name = ${name}`).toHaveLength(0);
  });
});
