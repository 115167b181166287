import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededTenant, SeededUser } from './helpers/seed.js';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { event, postWebhook } from './helpers/webhooks.js';

/** Behind a trusted proxy on loopback: X-Forwarded-For names the sender. */
let proxied: TestServer;
/** No proxy trusted: the sender is the socket's peer (127.0.0.1), whatever X-Forwarded-For says. */
let direct: TestServer;
let t: SeededTenant;
let admin: SeededUser;

const CREATE = `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { webhookSecret integration { id webhookAllowedSources } } }`;
const UPDATE = `mutation ($id: UUID!, $input: UpdateIntegrationInput!) { updateIntegration(id: $id, input: $input) { webhookAllowedSources } }`;

beforeAll(async () => {
  proxied = await startTestServer({ env: { TRUST_PROXY: 'loopback' } });
  direct = await startTestServer({ database: new URL(proxied.databaseUrl.owner).pathname.slice(1) });
  t = await proxied.seed.tenant();
  admin = await t.user('ADMIN');
});
afterAll(async () => {
  await direct?.close();
  await proxied?.close();
});

async function create(sources?: string[]) {
  const res = await proxied.gql(CREATE, { input: { provider: 'USER_SERVICE', name: `S ${Math.random().toString(36).slice(2, 8)}`, baseUrl: 'https://users.example.com', apiKey: 'k', webhookAllowedSources: sources } }, { token: admin.token });
  expect(res.errors).toBeUndefined();
  return res.data.createIntegration as { webhookSecret: string; integration: { id: string; webhookAllowedSources: string[] } };
}

const stored = async (id: string) => (await proxied.ownerSql`select count(*)::int as n from webhook_events where integration_id = ${id}`)[0]!.n as number;
const send = (server: TestServer, id: string, secret: string, from?: string) =>
  postWebhook(`${server.url}/webhooks/${id}`, secret, JSON.stringify(event('user.created')), from ? { headers: { 'x-forwarded-for': from } } : {});

describe('webhook source allowlist (per integration, CIDRs)', () => {
  it('is stored in canonical form and validated (BAD_USER_INPUT on webhookAllowedSources)', async () => {
    const { integration } = await create(['203.0.113.77/24', '2001:db8::1/32', '198.51.100.7']);
    expect(integration.webhookAllowedSources).toEqual(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7/32']);
    for (const bad of [['10.0.0.0/33'], ['example.com'], ['1.2.3'], ['::ffff:zz'], Array.from({ length: 51 }, (_, i) => `10.0.${i}.0/24`), ['10.0.0.1\u0000']]) {
      const res = await proxied.gql(CREATE, { input: { provider: 'USER_SERVICE', name: 'Bad', baseUrl: 'https://x.example.com', apiKey: 'k', webhookAllowedSources: bad } }, { token: admin.token });
      expect(errorCode(res), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(res.errors![0]!.extensions!.fields)).toContain('webhookAllowedSources');
    }
  });

  it('behind TRUST_PROXY: a sender outside the list gets 403 with the error envelope and nothing is stored; one inside gets 202', async () => {
    const { integration, webhookSecret } = await create(['203.0.113.0/24']);
    const refused = await send(proxied, integration.id, webhookSecret, '198.51.100.9');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String), requestId: refused.headers.get('x-request-id') } });
    expect(refused.headers.get('x-request-id')).toBeTruthy();
    expect(await stored(integration.id)).toBe(0);
    // Unsigned from outside: still 403 (the sender is refused before anything else is looked at).
    const unsigned = await postWebhook(`${proxied.url}/webhooks/${integration.id}`, webhookSecret, '{}', { omit: ['webhook-signature'], headers: { 'x-forwarded-for': '198.51.100.9' } });
    expect(unsigned.status).toBe(403);
    expect((await send(proxied, integration.id, webhookSecret, '203.0.113.50')).status).toBe(202);
    // IPv4-mapped form of an allowed address is the same sender.
    expect((await send(proxied, integration.id, webhookSecret, '::ffff:203.0.113.51')).status).toBe(202);
    expect(await stored(integration.id)).toBe(2);
  });

  it('without TRUST_PROXY a forged X-Forwarded-For changes nothing: the peer address decides', async () => {
    const { integration, webhookSecret } = await create(['203.0.113.0/24']);
    expect((await send(direct, integration.id, webhookSecret, '203.0.113.50')).status).toBe(403);
    expect(await stored(integration.id)).toBe(0);
    const loopback = await create(['127.0.0.1']);
    expect((await send(direct, loopback.integration.id, loopback.webhookSecret, '203.0.113.50')).status).toBe(202);
  });

  it('a list set or changed after deliveries were accepted holds at once (the receiver caches lookups); [] removes it', async () => {
    const { integration, webhookSecret } = await create();
    expect((await send(proxied, integration.id, webhookSecret, '198.51.100.9')).status).toBe(202); // lookup now cached
    const upd = await proxied.gql(UPDATE, { id: integration.id, input: { webhookAllowedSources: ['203.0.113.0/24'] } }, { token: admin.token });
    expect(upd.data.updateIntegration.webhookAllowedSources).toEqual(['203.0.113.0/24']);
    expect((await send(proxied, integration.id, webhookSecret, '198.51.100.9')).status).toBe(403);
    expect(await stored(integration.id)).toBe(1);
    expect((await send(proxied, integration.id, webhookSecret, '203.0.113.1')).status).toBe(202);
    await proxied.gql(UPDATE, { id: integration.id, input: { webhookAllowedSources: [] } }, { token: admin.token });
    expect((await send(proxied, integration.id, webhookSecret, '198.51.100.9')).status).toBe(202);
    expect(await stored(integration.id)).toBe(3);
  });

  it('concurrent deliveries from inside and outside the list: each gets its own answer', async () => {
    const { integration, webhookSecret } = await create();
    expect((await send(proxied, integration.id, webhookSecret, '203.0.113.1')).status).toBe(202);
    await proxied.gql(UPDATE, { id: integration.id, input: { webhookAllowedSources: ['203.0.113.0/24'] } }, { token: admin.token });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => send(proxied, integration.id, webhookSecret, i % 2 ? '203.0.113.9' : '192.0.2.9')));
    expect(results.map((r) => r.status).sort()).toEqual([...Array(10).fill(202), ...Array(10).fill(403)]);
    expect(await stored(integration.id)).toBe(11);
  });
});
