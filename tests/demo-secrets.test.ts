import { describe, expect, it } from 'vitest';
import { processSandbox, type ServerProcess } from './helpers/process.js';

/**
 * `npm start`'s demo webhook secrets are shown once, when they are created, like the API's
 * createIntegration: never on a later start (also not one rotated through the API since), and never
 * in the log.
 */
const sandbox = processSandbox('demo-secrets');

async function startServer() {
  const p = sandbox.start({ LOG_LEVEL: 'debug' });
  await p.waitFor(/"msg":"Tessera ready"/, 180_000);
  await p.waitFor(/Tessera is ready/, 10_000);
  return p;
}

async function stop(p: ServerProcess) {
  p.child.kill('SIGTERM');
  await p.exited;
}

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(`http://127.0.0.1:${sandbox.ports.PORT}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

describe('demo webhook secrets', () => {
  it('are printed on the start that creates them, never again, and never logged', async () => {
    const first = await startServer();
    const secrets = [...first.output().matchAll(/secret (whsec_\S+)/g)].map((m) => m[1]!);
    expect(new Set(secrets).size).toBe(3);
    const [, password] = /Demo login: .*password "([^"]+)"/.exec(first.output())!;
    const [, integrationId] = /Demo user service: \S+\/webhooks\/(\S+)/.exec(first.output())!;
    const login = await gql(`mutation($p: String!) { login(input: { tenantSlug: "demo", email: "owner@demo.test", password: $p }) { accessToken } }`, { p: password });
    const token = login.data.login.accessToken as string;
    const rotated = await gql(`mutation($id: UUID!) { rotateWebhookSecret(id: $id, overlapHours: 0) { webhookSecret } }`, { id: integrationId }, token);
    const newSecret = rotated.data.rotateWebhookSecret.webhookSecret as string;
    expect(newSecret).toMatch(/^whsec_/);
    // The log (pino JSON lines, at debug) holds no secret, even though secrets were created and rotated.
    expect(first.logLines().length).toBeGreaterThan(0);
    expect(JSON.stringify(first.logLines())).not.toMatch(/whsec_/);
    await stop(first);

    const second = await startServer();
    expect(second.output()).not.toMatch(/whsec_/);
    expect(second.output()).not.toContain(newSecret.slice(6));
    for (const s of secrets) expect(second.output()).not.toContain(s.slice(6));
    expect(second.output()).toMatch(/Demo user service: \S+\/webhooks\/\S+\s+\(secret shown at first start/);
    await stop(second);
  }, 420_000);
});
