import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type GraphQLResult, type TestServer } from './helpers/server.js';

const LIMITS = {
  RATE_LIMIT_LOGIN_MAX: '5',
  RATE_LIMIT_REFRESH_MAX: '2',
  RATE_LIMIT_MUTATIONS_PER_MINUTE: '3',
  RATE_LIMIT_TENANT_FREE_PER_MINUTE: '6',
  RATE_LIMIT_TENANT_PRO_PER_MINUTE: '10',
  RATE_LIMIT_TENANT_ENTERPRISE_PER_MINUTE: '300', // ≥ 100: handed out in leases of 1 %
};

let server: TestServer;
let second: TestServer; // another process's worth of app on the same database
beforeAll(async () => {
  server = await startTestServer({ env: LIMITS });
  second = await startTestServer({ env: LIMITS, database: new URL(server.databaseUrl.owner).pathname.slice(1) });
});
afterAll(async () => {
  await second.close();
  await server.close();
});

const LOGIN = 'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }';
const login = (s: TestServer, t: SeededTenant, email: string, password = 'wrong-password-1') => s.gql(LOGIN, { s: t.tenant.slug, e: email, p: password });
const codes = (results: GraphQLResult[]) => results.map((r) => errorCode(r) ?? 'OK');
const count = (list: string[], code: string) => list.filter((c) => c === code).length;

/** Windows are fixed (aligned to the clock): start a burst well inside one, so it can't straddle two. */
async function awayFromWindowEdge(windowMs = 60_000, marginMs = 3000) {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

describe('login and refresh limits (per client IP + tenant + email)', () => {
  it('refuses the attempt after the limit with RATE_LIMITED, retryAfter, HTTP 429 and Retry-After', async () => {
    await awayFromWindowEdge(300_000);
    const t = await server.seed.tenant();
    const email = t.owner.user.email;
    for (let i = 0; i < 5; i++) expect(errorCode(await login(server, t, email))).toBe('UNAUTHENTICATED');
    const limited = await login(server, t, email, PASSWORD); // even the right password now waits
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    const retryAfter = limited.errors![0]!.extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBe(retryAfter);
    // Case and spacing don't make a new identity; another email or tenant is another counter.
    expect(errorCode(await login(server, t, email.toUpperCase()))).toBe('RATE_LIMITED');
    expect(errorCode(await login(server, t, (await t.user('MEMBER')).user.email, PASSWORD))).toBeUndefined();
    const other = await server.seed.tenant();
    expect(errorCode(await login(server, other, other.owner.user.email, PASSWORD))).toBeUndefined();
  });

  it('aliases in one request count one by one (the alias trick)', async () => {
    await awayFromWindowEdge(300_000);
    const t = await server.seed.tenant();
    // Right password: mutations run one after another, and the first refusal (a non-null field) ends the rest.
    const fields = Array.from({ length: 8 }, (_, i) => `a${i}: login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken }`);
    const res = await server.gql(`mutation($s: String!, $e: EmailAddress!, $p: String!) { ${fields.join('\n')} }`, { s: t.tenant.slug, e: t.owner.user.email, p: PASSWORD });
    expect(res.errors!.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([['a5', 'RATE_LIMITED']]);
    await server.sealAudit();
    const [{ n }] = (await server.ownerSql`select count(*)::int as n from audit_logs where tenant_id = ${t.tenant.id} and action = 'LOGIN_SUCCEEDED'`) as unknown as [{ n: number }];
    expect(n).toBe(5);
  });

  it('refresh is limited per IP + tenant', async () => {
    await awayFromWindowEdge(300_000);
    const t = await server.seed.tenant();
    const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { refreshToken } }';
    const fake = (n: number) => `rt_${t.tenant.id}_${String(n).padStart(43, 'x')}`;
    expect(codes([await server.gql(REFRESH, { r: fake(1) }), await server.gql(REFRESH, { r: fake(2) }), await server.gql(REFRESH, { r: fake(3) })])).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'RATE_LIMITED',
    ]);
  });
});

describe('the store is atomic and shared', () => {
  it('50 concurrent attempts against a limit of 5 let exactly 5 through', async () => {
    await awayFromWindowEdge(300_000, 10_000);
    const t = await server.seed.tenant();
    const results = await Promise.all(Array.from({ length: 50 }, () => login(server, t, t.owner.user.email)));
    const c = codes(results);
    expect(count(c, 'UNAUTHENTICATED')).toBe(5);
    expect(count(c, 'RATE_LIMITED')).toBe(45);
  });

  it('two server instances on one database share the limits, also under concurrency', async () => {
    await awayFromWindowEdge(300_000, 10_000);
    const t = await server.seed.tenant();
    const email = t.owner.user.email;
    const sequential = [];
    for (let i = 0; i < 3; i++) {
      sequential.push(await login(server, t, email));
      sequential.push(await login(second, t, email));
    }
    expect(codes(sequential)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED']);

    const u = await t.user('MEMBER');
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => login(i % 2 ? second : server, t, u.user.email)));
    expect(count(codes(burst), 'UNAUTHENTICATED')).toBe(5);
    expect(count(codes(burst), 'RATE_LIMITED')).toBe(35);
  });
});

describe('mutation and tenant limits', () => {
  const RENAME = 'mutation($id: UUID!) { updateUser(id: $id, input: { name: "Renamed" }) { id } }';

  it('limits mutations per user; another user of the tenant has their own count', async () => {
    await awayFromWindowEdge();
    const t = await server.seed.tenant();
    await server.ownerSql`update tenants set plan = 'PRO' where id = ${t.tenant.id}`;
    const a = await t.user('MEMBER');
    const b = await t.user('MEMBER');
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push(await server.gql(RENAME, { id: a.user.id }, { token: a.token }));
    expect(codes(mine)).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    expect(mine[3]!.status).toBe(429);
    const tokenForSecond = (await second.app.tokens.signUserToken(a.user)).token; // each test server has its own signing key
    expect(errorCode(await second.gql(RENAME, { id: a.user.id }, { token: tokenForSecond }))).toBe('RATE_LIMITED'); // the other instance agrees
    expect(errorCode(await server.gql(RENAME, { id: b.user.id }, { token: b.token }))).toBeUndefined();
    // Refused calls spend nothing: a forbidden mutation is refused before the limit.
    expect(errorCode(await server.gql(RENAME, { id: a.user.id }, { token: b.token }))).toBe('FORBIDDEN');
  });

  it('a tenant has a per-minute budget that depends on its plan, and aliases spend it one by one', async () => {
    await awayFromWindowEdge();
    const free = await server.seed.tenant();
    const pro = await server.seed.tenant();
    await server.ownerSql`update tenants set plan = 'PRO' where id = ${pro.tenant.id}`;
    // user(id:) is nullable, so a refused alias leaves the others' data in place.
    const aliases = (n: number, id: string) => `{ ${Array.from({ length: n }, (_, i) => `m${i}: user(id: "${id}") { id }`).join(' ')} }`;

    const freeRes = await server.gql(aliases(8, free.owner.user.id), {}, { token: free.owner.token });
    const freeCodes = (freeRes.errors ?? []).map((e) => e.extensions?.code);
    expect(Object.values(freeRes.data).filter((v) => v !== null)).toHaveLength(6);
    expect(freeCodes).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    expect(freeRes.status).toBe(200); // partly served
    const member = await free.user('VIEWER');
    expect(errorCode(await server.gql('{ me { id } }', {}, { token: member.token }))).toBe('RATE_LIMITED'); // the tenant's budget, whoever asks

    const proRes = await server.gql(aliases(12, pro.owner.user.id), {}, { token: pro.owner.token });
    expect(Object.values(proRes.data).filter((v) => v !== null)).toHaveLength(10);
  });
});

describe('a tenant over its budget', () => {
  it('costs the database no reads ahead of the rules: refused after app_begin', async () => {
    await awayFromWindowEdge();
    const t = await server.seed.tenant(); // FREE: 6 per minute
    const list = '{ users(first: 5) { edges { node { id } } } }';
    for (let i = 0; i < 6; i++) expect(errorCode(await server.gql(list, {}, { token: t.owner.token }))).toBeUndefined();
    const refusedStatements = async () => {
      const before = server.queryCount();
      expect(errorCode(await server.gql(list, {}, { token: t.owner.token }))).toBe('RATE_LIMITED');
      return server.queryCount() - before;
    };
    const first = await refusedStatements(); // read ahead: this process learns the tenant is over its budget now
    const later = await refusedStatements();
    expect(later).toBe(first - 1); // the page is no longer read
  });
});

describe('large budgets in leases', () => {
  it('two instances under concurrency never admit more than the budget, and waste at most a lease each', async () => {
    await awayFromWindowEdge(60_000, 10_000);
    const t = await server.seed.tenant();
    await server.ownerSql`update tenants set plan = 'ENTERPRISE' where id = ${t.tenant.id}`;
    const tokenFor = { first: t.owner.token, second: (await second.app.tokens.signUserToken(t.owner.user)).token };
    const query = `{ ${Array.from({ length: 10 }, (_, i) => `m${i}: user(id: "${t.owner.user.id}") { id }`).join(' ')} }`;
    const results = await Promise.all(
      Array.from({ length: 36 }, (_, i) => (i % 2 ? second.gql(query, {}, { token: tokenFor.second }) : server.gql(query, {}, { token: tokenFor.first }))),
    );
    const served = results.reduce((n, r) => n + Object.values(r.data ?? {}).filter((v) => v !== null).length, 0);
    const refused = results.reduce((n, r) => n + (r.errors ?? []).filter((e) => e.extensions?.code === 'RATE_LIMITED').length, 0);
    expect(served + refused).toBe(360);
    expect(served).toBeLessThanOrEqual(300);
    expect(served).toBeGreaterThanOrEqual(300 - 2 * 3); // at most one lease of 3 left unused per instance
  });
});

describe('switched off', () => {
  it('RATE_LIMITS_ENABLED=false applies no limit (for benchmarks)', async () => {
    const off = await startTestServer({ env: { ...LIMITS, RATE_LIMITS_ENABLED: 'false' } });
    try {
      const t = await off.seed.tenant();
      const c = codes(await Promise.all(Array.from({ length: 8 }, () => login(off, t, t.owner.user.email))));
      expect(count(c, 'UNAUTHENTICATED')).toBe(8);
    } finally {
      await off.close();
    }
  });
});

describe('client IP behind a proxy (TRUST_PROXY)', () => {
  const loginFrom = (s: TestServer, t: SeededTenant, ip: string) =>
    s.gql(LOGIN, { s: t.tenant.slug, e: t.owner.user.email, p: 'wrong-password-1' }, { headers: { 'x-forwarded-for': ip } });

  it('counts per forwarded client IP only when the proxy is trusted; otherwise the header is ignored', async () => {
    await awayFromWindowEdge(300_000);
    const trusted = await startTestServer({ env: { ...LIMITS, RATE_LIMIT_LOGIN_MAX: '2', TRUST_PROXY: 'loopback' } });
    try {
      const t = await trusted.seed.tenant();
      const fromA = codes([await loginFrom(trusted, t, '203.0.113.1'), await loginFrom(trusted, t, '203.0.113.1'), await loginFrom(trusted, t, '203.0.113.1')]);
      expect(fromA).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED']);
      expect(errorCode(await loginFrom(trusted, t, '203.0.113.2'))).toBe('UNAUTHENTICATED'); // another client, its own counter
      await trusted.sealAudit();
      const ips = await trusted.ownerSql<{ client_ip: string }[]>`select client_ip from audit_logs where tenant_id = ${t.tenant.id} and action = 'LOGIN_FAILED' order by seq`;
      expect(ips.map((r) => r.client_ip)).toEqual(['203.0.113.1', '203.0.113.1', '203.0.113.2']);
    } finally {
      await trusted.close();
    }
    // Untrusted (the default): a client can't escape its limit by inventing X-Forwarded-For values.
    const t = await server.seed.tenant();
    const spoofed = [];
    for (let i = 0; i < 6; i++) spoofed.push(await loginFrom(server, t, `198.51.100.${i}`));
    expect(codes(spoofed)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED']);
  });
});
