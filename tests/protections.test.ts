import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/http/protections.js';
import type { SeededTenant } from './helpers/seed.js';
import { errorCode, OPERATOR, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;
beforeAll(async () => {
  server = await startTestServer({ env: { STATEMENT_TIMEOUT_MS: '300' } });
  t = await server.seed.tenant();
});
afterAll(() => server.close());

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.owner.token}`, ...headers }, body });
const json = async (res: Response) => (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };

describe('operation limits (graphql-armor + page caps)', () => {
  it('a depth bomb is refused before execution with a 400', async () => {
    let q = 'id';
    for (let i = 0; i < 8; i++) q = `organizations { members { user { ${q} } } }`;
    const res = await server.gql(`{ me { ${q} } }`, {}, { token: t.owner.token });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors!.some((e) => /depth/i.test(e.message))).toBe(true);
  });

  it('an alias bomb is refused', async () => {
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: health`).join(' ');
    const res = await server.gql(`{ ${aliases} }`, {}, { token: t.owner.token });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors![0]!.message).toMatch(/alias/i);
  });

  it('too many directives, and too many tokens, are refused', async () => {
    const directives = Array.from({ length: LIMITS.maxDirectives + 1 }, () => '@include(if: true)').join(' ');
    const dir = await server.gql(`{ health ${directives} }`, {}, { token: t.owner.token });
    expect([dir.status, errorCode(dir)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    const tokens = await server.gql(`{ ${'__typename '.repeat(LIMITS.maxTokens)} }`, {}, { token: t.owner.token });
    expect(tokens.status).toBe(400);
    expect(errorCode(tokens)).toBe('GRAPHQL_PARSE_FAILED');
    expect(tokens.errors![0]!.message).toMatch(/token/i);
  });

  it('fragment cycles are refused by validation', async () => {
    const res = await server.gql('query { me { ...A } } fragment A on User { organizations { members { user { ...B } } } } fragment B on User { ...A }', {}, { token: t.owner.token });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a huge `first` is refused, literal or from a variable, with the field named', async () => {
    // A literal is part of the operation's shape: the cost rule refuses it during validation.
    const literal = await server.gql('{ users(first: 1000000) { edges { node { id } } } }', {}, { token: t.owner.token });
    expect([literal.status, errorCode(literal)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    const justOver = await server.gql('{ users(first: 101) { edges { node { id } } } }', {}, { token: t.owner.token });
    expect([justOver.status, errorCode(justOver)]).toEqual([400, 'BAD_USER_INPUT']);
    const variable = await server.gql('query($n: Int) { users(first: $n) { edges { node { id } } } }', { n: 1_000_000 }, { token: t.owner.token });
    expect([variable.status, errorCode(variable)]).toEqual([400, 'BAD_USER_INPUT']);
    expect(variable.errors![0]!.extensions!.fields).toEqual([{ field: 'first', message: 'Must be between 1 and 100' }]);
  });

  it('cost counts list sizes: nested pages within the cap can still exceed the cost limit', async () => {
    const nested = 'query($n: Int) { a: users(first: $n) { edges { node { id email name organizations { id name description members { role user { id email name } } } } } } b: organizations(first: $n) { edges { node { id name members { role user { id email name organizations { id name } } } } } } }';
    const res = await server.gql(nested, { n: 100 }, { token: t.owner.token });
    expect([res.status, errorCode(res)]).toEqual([400, 'BAD_USER_INPUT']);
    expect(res.errors![0]!.message).toMatch(/cost/i);
    const small = await server.gql(nested, { n: 5 }, { token: t.owner.token });
    expect(small.errors).toBeUndefined();
  });

  it('an unpaged list (an organization\'s members) inside another is refused, through fragments too; one level is weighed as ten rows', async () => {
    for (const q of [
      '{ organizations(first: 1) { edges { node { members { user { memberships { organization { members { user { email } } } } } } } } } }',
      '{ users(first: 1) { edges { node { organizations { members { user { organizations { members { role } } } } } } } } }',
      'query { organizations(first: 1) { edges { node { ...M } } } } fragment M on Organization { members { user { organizations { ...N } } } } fragment N on Organization { members { role } }',
      'query($n: Int) { organizations(first: $n) { edges { node { members { user { organizations { members { role } } } } } } } }', // with variables (checked per request)
    ]) {
      const res = await server.gql(q, { n: 1 }, { token: t.owner.token });
      expect([res.status, errorCode(res)], q).toEqual([400, 'BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(/unpaged list \(members\) may not be selected inside another/);
    }
    // One level: a page of organizations with their members passes; a full page of 100 with them is over the cost.
    expect((await server.gql('{ organizations(first: 20) { edges { node { name members { role user { id email name } } } } } }', {}, { token: t.owner.token })).errors).toBeUndefined();
    const big = await server.gql('{ organizations(first: 100) { edges { node { name members { role user { id email name } } } } } }', {}, { token: t.owner.token });
    expect(big.errors![0]!.message).toMatch(/cost/i);
  });

  it('a real page query passes every limit', async () => {
    const res = await server.gql('{ users(first: 100) { totalCount pageInfo { endCursor } edges { cursor node { id email organizations { name } memberships { role organization { name } } } } } }', {}, { token: t.owner.token });
    expect(res.errors).toBeUndefined();
  });
});

describe('input validation', () => {
  it('invalid scalars are refused as BAD_USER_INPUT (variables) or validation errors (literals)', async () => {
    const badUuid = await server.gql('query($id: UUID!) { user(id: $id) { id } }', { id: 'not-a-uuid' }, { token: t.owner.token });
    expect([badUuid.status, errorCode(badUuid)]).toEqual([400, 'BAD_USER_INPUT']);
    const badEmail = await server.gql('mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "X" }) { id } }', { e: 'not an email' }, { token: t.owner.token });
    expect([badEmail.status, errorCode(badEmail)]).toEqual([400, 'BAD_USER_INPUT']);
    const literal = await server.gql('{ user(id: "nope") { id } }', {}, { token: t.owner.token });
    expect([literal.status, errorCode(literal)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    const badDate = await server.gql('query($f: AuditLogFilter) { auditLogs(filter: $f) { edges { node { id } } } }', { f: { from: 'yesterday' } }, { token: t.owner.token });
    expect([badDate.status, errorCode(badDate)]).toEqual([400, 'BAD_USER_INPUT']);
  });

  it('length limits report every bad field', async () => {
    const res = await server.gql('mutation($n: String!, $d: String) { createOrganization(input: { name: $n, description: $d }) { id } }', { n: 'x'.repeat(201), d: 'y'.repeat(2001) }, { token: t.owner.token });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect((res.errors![0]!.extensions!.fields as { field: string }[]).map((f) => f.field).sort()).toEqual(['description', 'name']);
    const login = await server.gql('mutation($p: String!) { login(input: { tenantSlug: "x", email: "a@b.test", password: $p }) { accessToken } }', { p: 'p'.repeat(10_000) });
    expect(errorCode(login)).toBe('BAD_USER_INPUT');
    expect(login.errors![0]!.extensions!.fields).toEqual([{ field: 'password', message: 'At most 200 characters' }]);
    const refresh = await server.gql('mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }', { r: 'r'.repeat(5000) });
    expect(errorCode(refresh)).toBe('BAD_USER_INPUT');
    const cursor = await server.gql('query($a: String) { users(after: $a) { edges { node { id } } } }', { a: 'c'.repeat(5000) }, { token: t.owner.token });
    expect(errorCode(cursor)).toBe('BAD_USER_INPUT');
  });
});

describe('HTTP-level protections', () => {
  it('an oversized body gets a JSON 413, not HTML and not a 500', async () => {
    const res = await post(JSON.stringify({ query: '{ health }', variables: { pad: 'x'.repeat(LIMITS.bodyLimit) } }));
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect((await json(res)).errors![0]!.extensions!.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('malformed JSON is a 400 with a code', async () => {
    const res = await post('{"query": ');
    expect(res.status).toBe(400);
    expect((await json(res)).errors![0]!.extensions!.code).toBe('BAD_REQUEST');
  });

  it('batched requests are refused', async () => {
    const res = await post(JSON.stringify([{ query: '{ health }' }, { query: '{ health }' }]));
    expect(res.status).toBe(400);
    expect((await json(res)).errors![0]!.extensions!.code).toBe('BAD_REQUEST');
  });

  it('CSRF prevention as Apollo defines it', async () => {
    // A "simple" request a browser sends cross-site without a preflight is refused...
    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ health }')}`);
    expect(get.status).toBe(400);
    const textPlain = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ health }' }) });
    expect(textPlain.status).toBe(400);
    const form = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query={health}' });
    expect(form.status).toBe(415); // Fastify parses no form bodies at all
    expect((await json(form)).errors![0]!.extensions!.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    // ...while a request that forces a preflight (a non-simple header or content type) is served.
    const preflighted = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ health }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect((await json(preflighted)).data).toEqual({ health: 'ok' });
    const operationName = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ health }')}`, { headers: { 'x-apollo-operation-name': 'Health' } });
    expect(operationName.status).toBe(200);
    expect((await post(JSON.stringify({ query: '{ health }' }))).status).toBe(200);
  });

  it('a statement that runs past the statement timeout answers SERVICE_UNAVAILABLE, not a 500', async () => {
    const target = await t.user('MEMBER');
    const owner = server.ownerSql;
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const isLocked = new Promise<void>((r) => (locked = r));
    const locker = owner.begin(async (tx) => {
      await tx`select id from users where id = ${target.user.id} for update`;
      locked();
      await held;
    });
    await isLocked;
    try {
      const res = await server.gql('mutation($id: UUID!) { updateUser(id: $id, input: { name: "Blocked" }) { id } }', { id: target.user.id }, { token: t.owner.token });
      expect(errorCode(res)).toBe('SERVICE_UNAVAILABLE');
      expect(res.status).toBe(503); // nothing succeeded: the status says so, for proxies and retrying clients
      expect(JSON.stringify(res.errors)).not.toMatch(/statement|cancel.*request|57014/i);
      // Beside a mutation that succeeded: mutation fields are non-null, so the answer has no data, and
      // 503 is true to it: the operation's transaction rolled back, the first rename too.
      const other = await t.user('MEMBER');
      const both = await server.gql(
        'mutation($a: UUID!, $b: UUID!) { a: updateUser(id: $a, input: { name: "Renamed" }) { name } b: updateUser(id: $b, input: { name: "Blocked" }) { id } }',
        { a: other.user.id, b: target.user.id },
        { token: t.owner.token },
      );
      expect(both.status).toBe(503);
      expect(both.data).toBeNull();
      expect(errorCode(both)).toBe('SERVICE_UNAVAILABLE');
      const [row] = await owner<{ name: string }[]>`select name from users where id = ${other.user.id}`;
      expect(row!.name).not.toBe('Renamed');
    } finally {
      release();
      await locker;
    }
  });
});

describe('production mode', () => {
  it('introspection and field suggestions are off, errors are masked, and the limits still apply', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const prod = await startTestServer({ env: { NODE_ENV: 'production', JWT_PRIVATE_JWK: JSON.stringify(await exportJWK(privateKey)), PLATFORM_OPERATOR_PASSWORD: OPERATOR.password, METRICS_TOKEN: 'metrics-token-for-tests-only' } });
    try {
      const intro = await prod.gql('{ __schema { types { name } } }');
      expect(intro.status).toBe(400);
      expect(errorCode(intro)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(intro.errors![0]!.message).toMatch(/introspection/i);
      const typo = await prod.gql('{ healt }');
      expect(errorCode(typo)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(typo.errors![0]!.message).not.toMatch(/did you mean/i);
      const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: health`).join(' ');
      expect(errorCode(await prod.gql(`{ ${aliases} }`))).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(await prod.gql('{ me { id } }', {}, { token: 'Bearer x' }))).not.toMatch(/stack|at .*\.ts/);
    } finally {
      await prod.close();
    }
    // Development keeps both for developers.
    expect((await server.gql('{ __schema { queryType { name } } }')).data.__schema.queryType.name).toBe('Query');
    expect((await server.gql('{ healt }')).errors![0]!.message).toMatch(/did you mean/i);
  });
});
