import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

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
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });

  it('answers me for a seeded user', async () => {
    const t = await server.seed.tenant();
    const res = await server.gql('{ me { email role } }', {}, { token: t.owner.token });
    expect(res.data.me).toEqual({ email: t.owner.user.email, role: 'OWNER' });
  });
});
