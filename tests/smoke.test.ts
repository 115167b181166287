import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from './helpers/server.js';
import { freePort } from '../src/db/embedded.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('server', () => {
  it('serves health, readiness and the JWKS', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: 'ready' });
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys[0]!).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0]!.d).toBeUndefined();
  });

  it('answers me for a seeded user', async () => {
    const t = await server.seed.tenant();
    const res = await server.gql('{ me { email role } }', {}, { token: t.owner.token });
    expect(res.data.me).toEqual({ email: t.owner.user.email, role: 'OWNER' });
  });
});

describe('database unavailable', () => {
  it('answers SERVICE_UNAVAILABLE with HTTP 503 (GraphQL and readyz), never a 500, when the app role cannot reach Postgres', async () => {
    const port = await freePort(); // nothing listens there
    const down = await startTestServer({ env: { APP_DATABASE_URL: `postgres://tessera_app:x@127.0.0.1:${port}/none` } });
    try {
      const t = await server.seed.tenant();
      const res = await down.gql('{ me { id } }', {}, { token: (await down.app.tokens.signUserToken(t.owner.user)).token });
      expect(errorCode(res)).toBe('SERVICE_UNAVAILABLE');
      expect(res.status).toBe(503);
      const login = await down.gql('mutation { login(input: { tenantSlug: "x", email: "a@b.test", password: "whatever-long" }) { accessToken } }');
      expect(errorCode(login)).toBe('SERVICE_UNAVAILABLE');
      expect(login.status).toBe(503);
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
    } finally {
      await down.close();
    }
  });
});
