import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** /metrics lists every tenant's integration ids: it can be put behind a token and/or on a listener of its own. */
const TOKEN = 'metrics-token-0123456789abcdef';
let withToken: TestServer;
let separate: TestServer;

beforeAll(async () => {
  withToken = await startTestServer({ env: { METRICS_TOKEN: TOKEN } });
  separate = await startTestServer({ env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN }, database: new URL(withToken.databaseUrl.owner).pathname.slice(1) });
});
afterAll(async () => {
  await separate?.close();
  await withToken?.close();
});

const get = (url: string, authorization?: string) => fetch(url, { headers: authorization ? { authorization } : {} });

describe('/metrics protection', () => {
  it('METRICS_TOKEN: without the bearer token (or with another) 401 in the error envelope; with it the Prometheus text', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`]) {
      const res = await get(`${withToken.url}/metrics`, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('UNAUTHENTICATED');
    }
    for (const auth of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      const ok = await get(`${withToken.url}/metrics`, auth);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('tessera_http_request_duration_seconds');
    }
  });

  it('METRICS_PORT: served on its own listener (loopback by default), no longer on the API port', async () => {
    expect(separate.http.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(`${separate.url}/metrics`, `Bearer ${TOKEN}`)).status).toBe(404);
    expect((await get(`${separate.http.metricsUrl}/metrics`)).status).toBe(401); // the token applies there too
    const ok = await get(`${separate.http.metricsUrl}/metrics`, `Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('tessera_');
    expect((await get(`${separate.http.metricsUrl}/graphql`)).status).toBe(404);
  });

  it('production refuses to start with /metrics open; either protection satisfies it; development stays open', () => {
    const prod = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u:p@localhost/db', JWT_PRIVATE_JWK: '{}', PLATFORM_OPERATOR_PASSWORD: 'a-long-password', INTEGRATION_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') };
    expect(() => loadConfig(prod)).toThrow(/METRICS_TOKEN or METRICS_PORT/);
    expect(loadConfig({ ...prod, METRICS_TOKEN: TOKEN }).METRICS_TOKEN).toBe(TOKEN);
    expect(loadConfig({ ...prod, METRICS_PORT: '9464' }).METRICS_HOST).toBe('127.0.0.1');
    expect(() => loadConfig({ ...prod, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(loadConfig({}).METRICS_TOKEN).toBeUndefined();
  });
});
