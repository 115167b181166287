import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server.close();
});

function connect(connectionParams?: Record<string, unknown>) {
  const closed: { code?: number } = {};
  const client = createClient({
    url: server.url.replace('http', 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    on: { closed: (e) => void (closed.code = (e as { code?: number }).code) },
  });
  clients.push(client);
  return { client, closed };
}

/** Takes the first `n` events of a subscription (or its error). */
function take(client: Client, query: string, n: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const stop = client.subscribe(
      { query },
      {
        next: (v) => {
          got.push(v);
          if (got.length === n) {
            stop();
            resolve(got);
          }
        },
        error: reject,
        complete: () => resolve(got),
      },
    );
  });
}

describe('GraphQL over WebSocket (graphql-ws on /graphql)', () => {
  it('an authenticated subscriber receives heartbeats', async () => {
    const { client } = connect({ authorization: `Bearer ${t.owner.token}` });
    const events = (await take(client, 'subscription { heartbeat(intervalSeconds: 1) }', 2)) as { data: { heartbeat: string } }[];
    expect(events).toHaveLength(2);
    expect(new Date(events[1]!.data.heartbeat).getTime()).toBeGreaterThan(new Date(events[0]!.data.heartbeat).getTime());
  });

  it.each([
    ['no token', undefined],
    ['a bad token', { authorization: 'Bearer not.a.jwt' }],
  ])('with %s the socket is closed (4403), no payload is served', async (_n, params) => {
    const { client, closed } = connect(params);
    await expect(take(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1)).rejects.toBeTruthy();
    expect(closed.code).toBe(4403);
  });

  it('a deactivated user cannot open a subscription', async () => {
    const u = await t.user('MEMBER');
    await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { id } }', { id: u.user.id }, { token: t.owner.token });
    const { client, closed } = connect({ authorization: `Bearer ${u.token}` });
    await expect(take(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1)).rejects.toBeTruthy();
    expect(closed.code).toBe(4403);
  });

  it('bad arguments give a BAD_USER_INPUT error, not a dead socket', async () => {
    const { client } = connect({ authorization: `Bearer ${t.owner.token}` });
    const err = await take(client, 'subscription { heartbeat(intervalSeconds: 0) }', 1).catch((e: unknown) => e);
    expect(JSON.stringify(err)).toContain('BAD_USER_INPUT');
  });
});
