import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../src/integrations/errors.js';
import { OutboundPolicy } from '../src/integrations/outbound-policy.js';
import { loadConfig } from '../src/config.js';
import type { SeededTenant, SeededUser } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';

/** No operator allowlist at all, as in production. */
let server: TestServer;
let t: SeededTenant;
let admin: SeededUser;
/** A plain HTTP server on loopback that counts what reaches it: a refused call must never arrive. */
let target: http.Server;
let hits = 0;
let port: number;

const CREATE = `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { integration { id baseUrl } } }`;
const UPDATE = `mutation ($id: UUID!, $input: UpdateIntegrationInput!) { updateIntegration(id: $id, input: $input) { baseUrl } }`;

beforeAll(async () => {
  server = await startTestServer({ env: { OUTBOUND_ALLOWED_NETWORKS: '', OUTBOUND_MAX_RETRIES: '0', OUTBOUND_TIMEOUT_MS: '2000' } });
  t = await server.seed.tenant();
  admin = await t.user('ADMIN');
  target = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  port = (target.address() as AddressInfo).port;
});
afterAll(async () => {
  await server?.close();
  await new Promise((r) => target?.close(r));
});

const create = (baseUrl: string, token = admin.token) =>
  server.gql(CREATE, { input: { provider: 'USER_SERVICE', name: `I ${Math.random().toString(36).slice(2, 8)}`, baseUrl, apiKey: 'k' } }, { token });

/** Addresses and names a tenant must not make our servers call (each a member of a refused class). */
const REFUSED = [
  'http://169.254.169.254/latest/meta-data/', // cloud metadata (link-local)
  'http://169.254.169.254./latest', // trailing dot
  'http://[fd00:ec2::254]/', // AWS IPv6 metadata (unique local)
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://METADATA.google.internal./x',
  'http://127.0.0.1:5432/', // loopback
  'http://127.1/', // short form
  'http://0x7f.0.0.1/', // hex form
  'http://2130706433/', // decimal form
  'http://017700000001/', // octal form
  'http://localhost:4000/graphql',
  'http://api.localhost/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/', // IPv4-mapped IPv6
  'http://[::ffff:a9fe:a9fe]/', // IPv4-mapped metadata
  'http://10.0.0.1/', // RFC 1918
  'http://172.16.5.4/',
  'http://192.168.1.1/',
  'http://100.64.0.1/', // CGNAT
  'http://[fc00::1]/', // unique local
  'http://[fe80::1]/', // link-local IPv6
  'http://0.0.0.0:4000/', // unspecified
  'http://[::]/',
  'http://224.0.0.1/', // multicast
  'http://[ff02::1]/',
  'http://255.255.255.255/', // broadcast
  'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of the metadata address
  'http://[::169.254.169.254]/', // IPv4-compatible IPv6 (::/96) of the metadata address
  'http://[::a9fe:a9fe]/latest',
  'http://[::7f00:1]/',
  'http://example.com/\r\nX-Injected: 1', // control characters the URL parser would drop
  'http://exa\tmple.com/',
  'ftp://example.com/',
  'file:///etc/passwd',
  'gopher://example.com/',
  'javascript:alert(1)',
  'http://user:pass@example.com/', // credentials in the URL
  'https://token@example.com/',
  'not a url',
];

describe('SSRF: where an integration may point (no operator allowlist)', () => {
  it.each(REFUSED)('createIntegration refuses %s (BAD_USER_INPUT on baseUrl), nothing stored', async (url) => {
    const before = await server.ownerSql`select count(*)::int as n from integrations where tenant_id = ${t.tenant.id}`;
    const res = await create(url);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ field: 'baseUrl' })]);
    const after = await server.ownerSql`select count(*)::int as n from integrations where tenant_id = ${t.tenant.id}`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('updateIntegration refuses the same class, and the stored URL stays', async () => {
    const ok = await create('https://api.example.com/v1');
    expect(ok.errors).toBeUndefined();
    const id = ok.data.createIntegration.integration.id;
    for (const url of ['http://169.254.169.254/', 'http://[::ffff:10.0.0.1]/', 'http://localhost/', 'gopher://x/', 'http://a:b@example.com/']) {
      const res = await server.gql(UPDATE, { id, input: { baseUrl: url } }, { token: admin.token });
      expect(errorCode(res), url).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ field: 'baseUrl' })]);
    }
    const [row] = await server.ownerSql`select base_url from integrations where id = ${id}`;
    expect(row!.base_url).toBe('https://api.example.com/v1');
  });

  it('accepts public addresses and names', async () => {
    for (const url of ['https://api.example.com/v1/', 'http://93.184.216.34:8080/api', 'https://[2606:4700::1111]/x']) {
      const res = await create(url);
      expect(res.errors, url).toBeUndefined();
    }
  });

  it('connect time: a host name resolving to a refused address (localhost → loopback) is never connected to', async () => {
    hits = 0;
    const client = server.app.integrations.clients.client({ tenantId: t.tenant.id, id: crypto.randomUUID(), provider: 'USER_SERVICE', baseUrl: `http://localhost:${port}`, apiKey: 'k' });
    const err = await client.get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).reason).toBe('ADDRESS_REFUSED');
    expect((err as Error).message).toMatch(/loopback/);
    expect(hits).toBe(0);
  });

  it('connect time: a stored IP literal saved before the rule (or an allowlist narrowed since) is refused too, and the health check fails', async () => {
    hits = 0;
    const ok = await create('https://api.example.com/v1');
    const id = ok.data.createIntegration.integration.id;
    // A row from before this rule: the URL is only checked when connecting.
    await server.ownerSql`update integrations set base_url = ${`http://127.0.0.1:${port}`} where id = ${id}`;
    const { loadIntegrationTarget } = await import('../src/integrations/targets.js');
    const { checkIntegrationHealth } = await import('../src/integrations/health-monitor.js');
    const targetRow = await loadIntegrationTarget(server.app, t.tenant.id, id);
    const err = await server.app.integrations.clients.client(targetRow!).get('/users').catch((e: unknown) => e);
    expect((err as ProviderUnavailableError).reason).toBe('ADDRESS_REFUSED');
    expect((await checkIntegrationHealth(server.app, targetRow!)).ok).toBe(false);
    expect(hits).toBe(0);
  });

  it('the same policy with loopback allowed does connect (the check above can fail)', async () => {
    hits = 0;
    const allowed = new OutboundPolicy({ allowedNetworks: ['127.0.0.1', '::1'], allowedHosts: [] });
    const refusing = new OutboundPolicy({ allowedNetworks: [], allowedHosts: [] });
    const byHost = new OutboundPolicy({ allowedNetworks: [], allowedHosts: ['localhost'] });
    try {
      expect((await fetch(`http://localhost:${port}/`, { dispatcher: allowed.dispatcher() })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/`, { dispatcher: allowed.dispatcher() })).status).toBe(200);
      expect((await fetch(`http://localhost:${port}/`, { dispatcher: byHost.dispatcher() })).status).toBe(200);
      expect(hits).toBe(3);
      await expect(fetch(`http://127.0.0.1:${port}/`, { dispatcher: refusing.dispatcher() })).rejects.toThrow();
      await expect(fetch(`http://localhost:${port}/`, { dispatcher: refusing.dispatcher() })).rejects.toThrow();
      expect(hits).toBe(3);
    } finally {
      await Promise.all([allowed.close(), refusing.close(), byHost.close()]);
    }
  });
});

describe('SSRF: the operator allowlist', () => {
  it('OUTBOUND_ALLOWED_NETWORKS lets exactly its networks through; development defaults to 127.0.0.1 and ::1, production to nothing', async () => {
    const p = new OutboundPolicy({ allowedNetworks: ['10.20.0.0/16', '127.0.0.1'], allowedHosts: ['users.corp.internal'] });
    expect(p.checkUrl('http://10.20.3.4/')).toBeNull();
    expect(p.checkUrl('http://10.21.0.1/')).toMatch(/private/);
    expect(p.checkUrl('http://127.0.0.1:4100/user-service')).toBeNull();
    expect(p.checkUrl('http://127.0.0.2/')).toMatch(/loopback/);
    expect(p.checkUrl('http://169.254.169.254/')).toMatch(/linkLocal/);
    expect(p.checkUrl('http://users.corp.internal/')).toBeNull();
    expect(p.checkUrl('http://user:pw@users.corp.internal/')).toMatch(/credentials/);
    const base = { DATA_DIR: '/tmp/x' };
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).OUTBOUND_ALLOWED_NETWORKS).toEqual(['127.0.0.1', '::1']);
    expect(loadConfig({ ...base, NODE_ENV: 'development', OUTBOUND_ALLOWED_NETWORKS: '' }).OUTBOUND_ALLOWED_NETWORKS).toEqual([]);
    const prod = { ...base, NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c', JWT_PRIVATE_JWK: '{}', PLATFORM_OPERATOR_PASSWORD: 'x'.repeat(16), INTEGRATION_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), METRICS_TOKEN: 'm'.repeat(32) };
    expect(loadConfig(prod).OUTBOUND_ALLOWED_NETWORKS).toEqual([]);
    expect(() => loadConfig({ ...base, OUTBOUND_ALLOWED_NETWORKS: '10.0.0.0/33' })).toThrow(/OUTBOUND_ALLOWED_NETWORKS/);
    expect(() => loadConfig({ ...base, OUTBOUND_ALLOWED_NETWORKS: 'example.com' })).toThrow(/OUTBOUND_ALLOWED_NETWORKS/);
  });

  it('a server whose allowlist names 127.0.0.1 accepts it and still refuses the rest', async () => {
    const second = await startTestServer({ env: { OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1' }, database: new URL(server.databaseUrl.owner).pathname.slice(1) });
    try {
      const tokenOk = await second.app.tokens.signUserToken(admin.user);
      const ok = await second.gql(CREATE, { input: { provider: 'USER_SERVICE', name: `A ${Math.random().toString(36).slice(2, 8)}`, baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k' } }, { token: tokenOk.token });
      expect(ok.errors).toBeUndefined();
      for (const url of ['http://127.0.0.2/', 'http://169.254.169.254/', 'http://[::1]/']) {
        const res = await second.gql(CREATE, { input: { provider: 'USER_SERVICE', name: `B ${Math.random().toString(36).slice(2, 8)}`, baseUrl: url, apiKey: 'k' } }, { token: tokenOk.token });
        expect(errorCode(res), url).toBe('BAD_USER_INPUT');
      }
    } finally {
      await second.close();
    }
  });
});
