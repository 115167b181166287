import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/http/protections.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';
import { openRawSocket, type RawSocket, type WsMessage } from './helpers/ws.js';

let server: TestServer;
let t: SeededTenant;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
});
const rawSockets: RawSocket[] = [];
afterAll(async () => {
  rawSockets.forEach((r) => r.close());
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

async function raw() {
  const r = await openRawSocket(server.url, t.owner.token);
  rawSockets.push(r);
  return r;
}

const HEARTBEAT = 'subscription { heartbeat(intervalSeconds: 1) }';
const after = (r: RawSocket, earlier: WsMessage) => (m: WsMessage) => r.messages.indexOf(m) > r.messages.indexOf(earlier);

/** The same operation over HTTP: its errors' codes and messages. */
async function overHttp(payload: { query: string; variables?: Record<string, unknown>; operationName?: string }) {
  const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.owner.token}` }, body: JSON.stringify(payload) });
  const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return (body.errors ?? []).map((e) => [e.extensions?.code, e.message]);
}

describe('a refused operation stays refused alone (hostile subscribers)', () => {
  it('a subscribe that does not parse gets an error for its id only; the socket and its other subscriptions carry on', async () => {
    const r = await raw();
    r.subscribe('hb', { query: HEARTBEAT });
    await r.waitFor((m) => m.id === 'hb' && m.type === 'next');
    r.subscribe('bad', { query: 'subscription { heartbeat(' });
    const refused = await r.waitFor((m) => m.id === 'bad');
    expect(refused).toEqual({ id: 'bad', type: 'error', payload: [{ message: 'Syntax Error: Expected Name, found <EOF>.', locations: [{ line: 1, column: 26 }], extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
    // The heartbeat keeps coming after the refusal, on the same socket.
    await r.waitFor((m) => m.id === 'hb' && m.type === 'next' && after(r, refused)(m), 3000);
    expect(r.closed).toBeUndefined();
  });

  // Every refusal before execution, with HTTP's code and message for the same document.
  const deep = (() => {
    let q = 'id';
    for (let i = 0; i < 8; i++) q = `organizations { members { user { ${q} } } }`;
    return `{ me { ${q} } }`;
  })();
  it.each([
    ['a syntax error', { query: 'subscription { heartbeat(' }, 'GRAPHQL_PARSE_FAILED'],
    ['more tokens than the limit', { query: `subscription { ${'__typename '.repeat(LIMITS.maxTokens)} }` }, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', { query: 'subscription { nope }' }, 'GRAPHQL_VALIDATION_FAILED'],
    ['two root fields in a subscription', { query: 'subscription { a: heartbeat b: heartbeat }' }, 'GRAPHQL_VALIDATION_FAILED'],
    ['an unused variable', { query: 'query($v: String) { health }', variables: { v: 'x' } }, 'GRAPHQL_VALIDATION_FAILED'],
    ['a depth over the limit', { query: deep }, 'GRAPHQL_VALIDATION_FAILED'],
    ['aliases over the limit', { query: `{ ${Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: health`).join(' ')} }` }, 'GRAPHQL_VALIDATION_FAILED'],
    ['a page size over the cap, from a variable', { query: 'query($n: Int) { users(first: $n) { edges { node { id } } } }', variables: { n: 1_000_000 } }, 'BAD_USER_INPUT'],
    ['an unknown operationName', { query: 'query A { health }', operationName: 'Z' }, 'OPERATION_RESOLUTION_FAILURE'],
    ['two operations and no operationName', { query: 'query A { health } query B { health }' }, 'OPERATION_RESOLUTION_FAILURE'],
    ['a required variable missing', { query: 'query($n: Int!) { users(first: $n) { edges { node { id } } } }' }, 'BAD_USER_INPUT'],
    ['a variable of the wrong type', { query: 'query($n: Int) { users(first: $n) { edges { node { id } } } }', variables: { n: 'ten' } }, 'BAD_USER_INPUT'],
  ])('%s: an error for that id, with the code HTTP gives', async (what, payload, code) => {
    const r = await raw();
    r.subscribe('hb', { query: HEARTBEAT });
    await r.waitFor((m) => m.id === 'hb' && m.type === 'next');
    r.subscribe('op', payload);
    const refused = await r.waitFor((m) => m.id === 'op');
    expect(refused.type).toBe('error');
    const errors = (refused.payload as { message: string; extensions?: { code?: string } }[]).map((e) => [e.extensions?.code, e.message]);
    expect(errors[0]![0]).toBe(code);
    // On this branch HTTP answers an unknown operationName with a 500; b1eac64 (main) makes it this answer.
    if (what === 'an unknown operationName') expect(errors).toEqual([[code, 'Unknown operation named "Z".']]);
    else expect(errors).toEqual(await overHttp(payload));
    await r.waitFor((m) => m.id === 'hb' && m.type === 'next' && after(r, refused)(m), 3000);
    expect(r.closed).toBeUndefined();
  });
});

describe('the socket has the HTTP size limits', () => {
  it('a message over the HTTP body limit closes the socket with 1009, before it is read; the server stays responsive', async () => {
    const r = await raw();
    // The hostile sample: 11 MB, a million tokens (6.6 s of parsing, every other request stalled, before the limit).
    r.subscribe('big', { query: `subscription { ${'__typename '.repeat(1_000_000)} }` });
    expect((await r.whenClosed()).code).toBe(1009);
    const started = Date.now();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a message just under it is read, and its document stops at the token limit: an error for that id, fast', async () => {
    const r = await raw();
    const query = `subscription { ${'__typename '.repeat(Math.floor((LIMITS.bodyLimit - 200) / 11) - 3)} }`;
    const message = JSON.stringify({ id: 'many', type: 'subscribe', payload: { query } });
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(LIMITS.bodyLimit);
    const started = Date.now();
    r.send(message);
    const refused = await r.waitFor((m) => m.id === 'many');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(refused).toMatchObject({ type: 'error', payload: [{ message: expect.stringMatching(/more tha. 5000 tokens/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
    expect(r.closed).toBeUndefined();
  });
});

describe('operations per socket (WS_MAX_SUBSCRIPTIONS_PER_SOCKET)', () => {
  it('a burst over the limit: the excess is refused for its id (TOO_MANY_SUBSCRIPTIONS), the rest run; completing one frees its place', async () => {
    const max = server.app.config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET;
    expect(max).toBe(100); // the documented default
    const r = await raw();
    const ids = Array.from({ length: max + 5 }, (_, i) => `s${i}`);
    // All in one burst: each is counted when it arrives, not when its context is ready.
    for (const id of ids) r.subscribe(id, { query: 'subscription { heartbeat(intervalSeconds: 60) }' });
    await Promise.all(ids.map((id) => r.waitFor((m) => m.id === id, 10_000)));
    const firstOf = (id: string) => r.messages.find((m) => m.id === id)!;
    expect(ids.slice(0, max).every((id) => firstOf(id).type === 'next')).toBe(true);
    for (const id of ids.slice(max)) {
      expect(firstOf(id)).toEqual({ id, type: 'error', payload: [{ message: `At most ${max} operations may run at once on one socket; complete one first`, extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }] });
    }
    // A refused id is free again, but the socket is still full; completing a running one makes room.
    r.subscribe(`s${max}`, { query: HEARTBEAT });
    const again = await r.waitFor((m) => m.id === `s${max}` && m !== firstOf(`s${max}`));
    expect(again.payload[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    r.send({ id: 's0', type: 'complete' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    r.subscribe(`s${max}`, { query: HEARTBEAT });
    await r.waitFor((m) => m.id === `s${max}` && m.type === 'next');
    expect(r.closed).toBeUndefined();
  });

  const updatesOf = async (userId: string) =>
    (await server.ownerSql<{ n: number }[]>`select count(*)::int as n from audit_logs where entity_type = 'users' and entity_id = ${userId} and action = 'UPDATE'`)[0]!.n;

  it('an operation counts until it has ended, not until its client completed it: a burst of mutations each completed at once still runs at most the limit', async () => {
    const max = server.app.config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET;
    const target = await t.user('MEMBER');
    // The mutations wait on this lock, so they are all still running when the burst is over.
    const lock = await server.ownerSql.reserve();
    await lock`begin`;
    await lock`select 1 from users where id = ${target.user.id} for update`;
    let locked = true;
    try {
      const r = await raw();
      const burst = max + 10;
      for (let i = 0; i < burst; i++) {
        r.subscribe(`m${i}`, { query: `mutation { updateUser(id: "${target.user.id}", input: { name: "Burst ${i}" }) { id } }` });
        r.send({ id: `m${i}`, type: 'complete' });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      await lock`rollback`;
      locked = false;
      // Every admitted mutation ends (the pool serves them ten at a time); then count what ran.
      await waitFor(async () => {
        await server.sealAudit();
        const n = await updatesOf(target.user.id);
        return n === max ? n : null;
      }, { timeoutMs: 30_000, message: `${max} updates` });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.sealAudit();
      expect(await updatesOf(target.user.id)).toBe(max);
      expect(r.closed).toBeUndefined();
    } finally {
      if (locked) await lock`rollback`;
      lock.release();
    }
  });
});
