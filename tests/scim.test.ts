/**
 * SCIM 2.0 directory sync (issue 14): tokens an ADMIN creates and revokes (shown once, stored
 * hashed), /scim/v2/Users and /scim/v2/Groups (organizations) against a real server and Postgres,
 * deprovisioning that ends sessions and open sockets at once, the SCIM actor in the audit trail, the
 * SCIM error schema, and tenant isolation (a token of tenant A never reaches tenant B).
 */
import crypto from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

let server: TestServer;
const clients: Client[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await server?.close();
});

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const CREATE_TOKEN = 'mutation($n: String!) { createScimToken(name: $n) { token baseUrl scimToken { id name revokedAt } } }';

async function scimToken(t: SeededTenant): Promise<{ token: string; id: string }> {
  const res = await server.gql(CREATE_TOKEN, { n: 'Okta' }, { token: t.owner.token });
  expect(res.errors).toBeUndefined();
  return { token: res.data.createScimToken.token, id: res.data.createScimToken.scimToken.id };
}

interface ScimResponse {
  status: number;
  body: any;
  headers: Headers;
}

async function scim(token: string | undefined, method: string, path: string, body?: unknown, contentType = 'application/scim+json'): Promise<ScimResponse> {
  const res = await fetch(`${server.url}/scim/v2${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const newUser = (email: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName: email, name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: email, primary: true }], active: true, ...extra });

function expectScimError(r: ScimResponse, status: number, scimType?: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(r.body.schemas).toEqual([ERROR]);
  expect(r.body.status).toBe(String(status));
  if (scimType) expect(r.body.scimType).toBe(scimType);
  expect(typeof r.body.detail).toBe('string');
}

describe('SCIM tokens', () => {
  it('an ADMIN creates one (shown once, stored as a hash); listing never shows it; a MEMBER may not', async () => {
    const t = await server.seed.tenant();
    const { token, id } = await scimToken(t);
    expect(token).toMatch(new RegExp(`^scim_${t.tenant.id}_[A-Za-z0-9_-]{43}$`));
    const [row] = await server.ownerSql`select token_hash from scim_tokens where id = ${id}`;
    expect(row!.token_hash).toBe(crypto.createHash('sha256').update(token).digest('hex'));
    const list = await server.gql('{ scimTokens { id name revokedAt } }', {}, { token: t.owner.token });
    expect(list.data.scimTokens).toEqual([{ id, name: 'Okta', revokedAt: null }]);
    expect(JSON.stringify(list)).not.toContain(token.slice(-43));
    const member = await t.user('MEMBER');
    const refused = await server.gql(CREATE_TOKEN, { n: 'x' }, { token: member.token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server.gql('{ scimTokens { id } }', {}, { token: member.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a revoked token is refused at once (401, SCIM error, WWW-Authenticate)', async () => {
    const t = await server.seed.tenant();
    const { token, id } = await scimToken(t);
    expect((await scim(token, 'GET', '/Users')).status).toBe(200);
    const res = await server.gql('mutation($id: UUID!) { revokeScimToken(id: $id) { revokedAt } }', { id }, { token: t.owner.token });
    expect(res.data.revokeScimToken.revokedAt).toBeTruthy();
    const r = await scim(token, 'GET', '/Users');
    expectScimError(r, 401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('missing, malformed and made-up tokens are all 401', async () => {
    expectScimError(await scim(undefined, 'GET', '/Users'), 401);
    expectScimError(await scim('not-a-token', 'GET', '/Users'), 401);
    expectScimError(await scim(`scim_${crypto.randomUUID()}_${'a'.repeat(43)}`, 'GET', '/Users'), 401);
    expectScimError(await scim(`scim_not-a-uuid_${'a'.repeat(43)}`, 'GET', '/Users'), 401);
  });
});

describe('SCIM Users', () => {
  let t: SeededTenant;
  let token: string;
  beforeAll(async () => {
    t = await server.seed.tenant();
    ({ token } = await scimToken(t));
  });

  it('creates (201, Location), gets, and finds by userName (case-insensitive) and externalId', async () => {
    const email = `ada-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    const created = await scim(token, 'POST', '/Users', newUser(email, { externalId: 'okta-00u1' }));
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(created.body).toMatchObject({ schemas: [USER], userName: email, externalId: 'okta-00u1', displayName: 'Ada Lovelace', active: true, roles: [{ value: 'MEMBER' }] });
    expect(created.headers.get('location')).toBe(created.body.meta.location);
    const got = await scim(token, 'GET', `/Users/${created.body.id}`);
    expect(got.body).toEqual(created.body);
    const byName = await scim(token, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${email.toUpperCase()}"`)}`);
    expect(byName.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(byName.body.Resources[0].id).toBe(created.body.id);
    const byExternal = await scim(token, 'GET', `/Users?filter=${encodeURIComponent('externalId eq "okta-00u1"')}`);
    expect(byExternal.body.Resources.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
    const none = await scim(token, 'GET', `/Users?filter=${encodeURIComponent('externalId eq "OKTA-00U1"')}`);
    expect(none.body.totalResults).toBe(0); // externalId is exact
    // The user exists in Tessera: the tenant's people see them.
    const users = await server.gql('{ users(filter: { search: "ada-" }) { edges { node { email status role } } } }', {}, { token: t.owner.token });
    expect(users.data.users.edges.map((e: any) => e.node)).toContainEqual({ email, status: 'ACTIVE', role: 'MEMBER' });
  });

  it('pages with startIndex and count (1-based); totalResults counts all', async () => {
    const p = await server.seed.tenant();
    const { token: pt } = await scimToken(p);
    for (let i = 0; i < 4; i++) expect((await scim(pt, 'POST', '/Users', newUser(`p${i}@${p.tenant.slug}.test`))).status).toBe(201);
    const all = await scim(pt, 'GET', '/Users');
    expect(all.body.totalResults).toBe(5); // the owner and four
    const page = await scim(pt, 'GET', '/Users?startIndex=2&count=2');
    expect(page.body).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    expect(page.body.Resources.map((u: { id: string }) => u.id)).toEqual(all.body.Resources.slice(1, 3).map((u: { id: string }) => u.id));
    expect((await scim(pt, 'GET', '/Users?startIndex=0&count=0')).body).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 0, Resources: [] });
    expect((await scim(pt, 'GET', '/Users?startIndex=99')).body).toMatchObject({ totalResults: 5, itemsPerPage: 0 });
    expectScimError(await scim(pt, 'GET', '/Users?count=abc'), 400, 'invalidValue');
  });

  it('refuses unsupported filters and bad resources in the SCIM error schema', async () => {
    expectScimError(await scim(token, 'GET', `/Users?filter=${encodeURIComponent('userName co "a"')}`), 400, 'invalidFilter');
    expectScimError(await scim(token, 'GET', `/Users?filter=${encodeURIComponent('name.familyName eq "x"')}`), 400, 'invalidFilter');
    expectScimError(await scim(token, 'GET', `/Users?filter=${encodeURIComponent('userName eq "a" or userName eq "b"')}`), 400, 'invalidFilter');
    expectScimError(await scim(token, 'POST', '/Users', { schemas: [USER] }), 400, 'invalidValue');
    expectScimError(await scim(token, 'POST', '/Users', newUser('not an email', { emails: [] })), 400, 'invalidValue');
    expectScimError(await scim(token, 'POST', '/Users', newUser(`x@${t.tenant.slug}.test`, { displayName: 'nul\u0000' })), 400);
    expectScimError(await scim(token, 'POST', '/Users', '{"userName": '), 400);
    expectScimError(await scim(token, 'POST', '/Users', newUser(`x@${t.tenant.slug}.test`, { active: 'maybe' })), 400, 'invalidValue');
    expectScimError(await scim(token, 'GET', '/Users/not-a-uuid'), 404);
    expectScimError(await scim(token, 'GET', `/Users/${crypto.randomUUID()}`), 404);
  });

  it('a second user with the same userName or externalId is a 409 uniqueness error', async () => {
    const email = `dup-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    expect((await scim(token, 'POST', '/Users', newUser(email, { externalId: 'dup-1' }))).status).toBe(201);
    expectScimError(await scim(token, 'POST', '/Users', newUser(email.toUpperCase())), 409, 'uniqueness');
    expectScimError(await scim(token, 'POST', '/Users', newUser(`other-${email}`, { externalId: 'dup-1' })), 409, 'uniqueness');
  });

  it('PUT replaces; PATCH changes attributes by path or as an object (Okta and Azure AD forms)', async () => {
    const email = `rep-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    const { body: u } = await scim(token, 'POST', '/Users', newUser(email));
    const put = await scim(token, 'PUT', `/Users/${u.id}`, newUser(`new-${email}`, { displayName: 'Ada King', externalId: 'ext-9' }));
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ userName: `new-${email}`, displayName: 'Ada King', externalId: 'ext-9', active: true });
    const patched = await scim(token, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Replace', path: 'name.givenName', value: 'Augusta' },
        { op: 'replace', path: 'emails[type eq "work"].value', value: email },
        { op: 'remove', path: 'externalId' },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ userName: email, displayName: 'Augusta' });
    expect(patched.body.externalId).toBeUndefined();
    expectScimError(await scim(token, 'PATCH', `/Users/${u.id}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }), 400, 'invalidSyntax');
    expectScimError(await scim(token, 'PATCH', `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: 'move', path: 'active' }] }), 400, 'invalidSyntax');
    expectScimError(await scim(token, 'PATCH', `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'password', value: 'x' }] }), 400, 'invalidPath');
  });

  it('PATCH active:false ends the user’s sessions and open sockets at once; HTTP calls with their token are refused', async () => {
    const person = await t.user('MEMBER');
    const login = await server.gql(
      'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken refreshToken } }',
      { s: t.tenant.slug, e: person.user.email, p: PASSWORD },
    );
    const { accessToken, refreshToken } = login.data.login;
    let closed: { code: number; reason: string } | undefined;
    let connected = false;
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${accessToken}` },
      retryAttempts: 0,
      lazy: true,
      on: { connected: () => void (connected = true), closed: (e) => void (closed ??= e as { code: number; reason: string }) },
    });
    clients.push(client);
    const beats: unknown[] = [];
    client.subscribe({ query: 'subscription { heartbeat(intervalSeconds: 1) }' }, { next: (v) => void beats.push(v), error: () => {}, complete: () => {} });
    await waitFor(() => connected && beats.length > 0, { message: 'the first heartbeat' });

    // Okta's form: no path, an object of attributes.
    const r = await scim(token, 'PATCH', `/Users/${person.user.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
    const at = Date.now();
    expect(r.status).toBe(200);
    expect(r.body.active).toBe(false);
    await waitFor(() => closed, { timeoutMs: 3000, message: 'the socket to close' });
    expect(closed!.code).toBe(4403);
    expect(Date.now() - at).toBeLessThan(2000);
    const me = await server.gql('{ me { id } }', {}, { token: accessToken });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const refreshed = await server.gql('mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }', { t: refreshToken });
    expect(refreshed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [row] = await server.ownerSql`select status, (select count(*) from refresh_tokens where user_id = ${person.user.id} and revoked_at is null) as live from users where id = ${person.user.id}`;
    expect(row).toEqual({ status: 'DEACTIVATED', live: '0' });

    // Azure AD's form ("False"/"True" strings, a path) brings them back.
    const back = await scim(token, 'PATCH', `/Users/${person.user.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    expect(back.body.active).toBe(true);
    expect((await server.gql('{ me { id } }', {}, { token: (await server.app.tokens.signUserToken(person.user)).token })).data.me.id).toBe(person.user.id);
  });

  it('DELETE removes the user (204), then 404', async () => {
    const { body: u } = await scim(token, 'POST', '/Users', newUser(`del-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`));
    const del = await scim(token, 'DELETE', `/Users/${u.id}`);
    expect(del.status).toBe(204);
    expectScimError(await scim(token, 'GET', `/Users/${u.id}`), 404);
    expectScimError(await scim(token, 'DELETE', `/Users/${u.id}`), 404);
  });

  it('OWNER accounts are visible but not changeable by the directory (403)', async () => {
    const owner = t.owner.user.id;
    expect((await scim(token, 'GET', `/Users/${owner}`)).body.roles).toEqual([{ value: 'OWNER', primary: true }]);
    expectScimError(await scim(token, 'PATCH', `/Users/${owner}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }), 403);
    expectScimError(await scim(token, 'PUT', `/Users/${owner}`, newUser(t.owner.user.email, { active: false })), 403);
    expectScimError(await scim(token, 'DELETE', `/Users/${owner}`), 403);
    const [row] = await server.ownerSql`select status from users where id = ${owner}`;
    expect(row!.status).toBe('ACTIVE');
  });

  it('every change is audited with the SCIM actor (the token), under the tenant’s chain', async () => {
    const a = await server.seed.tenant();
    const { token: at, id: tokenId } = await scimToken(a);
    const { body: u } = await scim(at, 'POST', '/Users', newUser(`aud@${a.tenant.slug}.test`));
    await scim(at, 'PATCH', `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] });
    const logs = await server.gql(
      '{ auditLogs(first: 20, filter: { actorType: SCIM }) { edges { node { actorType actorId action entityType entityId } } } }',
      {},
      { token: a.owner.token },
    );
    expect(logs.errors).toBeUndefined();
    const entries = logs.data.auditLogs.edges.map((e: any) => e.node);
    expect(entries).toContainEqual({ actorType: 'SCIM', actorId: tokenId, action: 'INSERT', entityType: 'users', entityId: u.id });
    expect(entries).toContainEqual({ actorType: 'SCIM', actorId: tokenId, action: 'UPDATE', entityType: 'users', entityId: u.id });
    const integrity = await server.gql('{ auditIntegrity { ok } }', {}, { token: a.owner.token });
    expect(integrity.data.auditIntegrity.ok).toBe(true);
  });
});

describe('SCIM: what directories send', () => {
  it('core attributes Tessera does not store (Entra ID’s default mapping: title, addresses, phoneNumbers…) are ignored in PATCH as in POST; unknown ones are still invalidPath', async () => {
    const t = await server.seed.tenant();
    const { token } = await scimToken(t);
    const email = `entra-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    const created = await scim(token, 'POST', '/Users', newUser(email, { title: 'Engineer', preferredLanguage: 'en-GB', addresses: [{ type: 'work', streetAddress: '1 Main St' }] }));
    expect(created.status).toBe(201);
    const patched = await scim(token, 'PATCH', `/Users/${created.body.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Add', path: 'title', value: 'Staff Engineer' },
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '2 Main St' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+44 20 0000 0000' },
        { op: 'Replace', path: 'preferredLanguage', value: 'en-US' },
        { op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'R&D' },
        { op: 'Replace', value: { title: 'Principal', locale: 'en-US', displayName: 'Ada Entra' } },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: created.body.id, userName: email, displayName: 'Ada Entra', active: true });
    expectScimError(await scim(token, 'PATCH', `/Users/${created.body.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'titles', value: 'x' }] }), 400, 'invalidPath');
    expectScimError(await scim(token, 'PATCH', `/Users/${created.body.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { bogus: 'x' } }] }), 400, 'invalidPath');
  });

  it('a group member added as one object (not an array of one)', async () => {
    const t = await server.seed.tenant();
    const { token } = await scimToken(t);
    const uid = (await scim(token, 'POST', '/Users', newUser(`one@${t.tenant.slug}.test`))).body.id;
    const gid = (await scim(token, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Solo' })).body.id;
    const added = await scim(token, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: { value: uid } }] });
    expect(added.status).toBe(200);
    expect(added.body.members.map((m: { value: string }) => m.value)).toEqual([uid]);
  });

  it('discovery: ServiceProviderConfig, ResourceTypes and Schemas (RFC 7644 §4), behind the token; anything else under /scim/v2 is a SCIM 404', async () => {
    const t = await server.seed.tenant();
    const { token } = await scimToken(t);
    const config = await scim(token, 'GET', '/ServiceProviderConfig');
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'], patch: { supported: true }, filter: { supported: true }, bulk: { supported: false } });
    const types = await scim(token, 'GET', '/ResourceTypes');
    expect(types.status).toBe(200);
    expect(types.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 2 });
    expect(types.body.Resources.map((r: any) => [r.id, r.endpoint, r.schema])).toEqual([
      ['User', '/Users', USER],
      ['Group', '/Groups', GROUP],
    ]);
    expect((await scim(token, 'GET', '/ResourceTypes/User')).body).toMatchObject({ id: 'User', schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'] });
    const all = await scim(token, 'GET', '/Schemas');
    expect(all.body.Resources.map((r: any) => r.id)).toEqual([USER, GROUP]);
    const user = await scim(token, 'GET', `/Schemas/${USER}`);
    expect(user.status).toBe(200);
    const userName = user.body.attributes.find((a: any) => a.name === 'userName');
    expect(userName).toMatchObject({ type: 'string', required: true, uniqueness: 'server', multiValued: false });
    expect(user.body.attributes.map((a: any) => a.name)).toEqual(expect.arrayContaining(['userName', 'externalId', 'name', 'emails', 'active']));
    expectScimError(await scim(token, 'GET', '/Schemas/urn:example:nope'), 404);
    expectScimError(await scim(token, 'GET', '/ResourceTypes/Widget'), 404);
    expectScimError(await scim(undefined, 'GET', '/Schemas'), 401);
    expectScimError(await scim(token, 'GET', '/Widgets'), 404);
    expectScimError(await scim(token, 'POST', `/Users/${crypto.randomUUID()}`, newUser(`x@${t.tenant.slug}.test`)), 404);
    expectScimError(await scim(token, 'GET', '/Bulk'), 404);
    expectScimError(await scim(token, 'GET', `/Users/${'a'.repeat(300)}`), 404);
  });

  it('no body makes a 500: wrong JSON types everywhere, deep nesting, huge and odd bodies, on every write', async () => {
    const t = await server.seed.tenant();
    const { token } = await scimToken(t);
    const uid = (await scim(token, 'POST', '/Users', newUser(`fuzz@${t.tenant.slug}.test`))).body.id;
    const gid = (await scim(token, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Fuzz' })).body.id;
    const odd: unknown[] = [null, 0, -1, 1e308, true, 'x', [], [[]], {}, { schemas: 'x' }, { schemas: [PATCH], Operations: {} }, { schemas: [PATCH], Operations: [[]] }];
    const wrongTypes = [null, 5, [], {}, [{ value: 5 }], [null], 'x'.repeat(10_000)];
    const attributes = ['userName', 'externalId', 'displayName', 'name', 'emails', 'active', 'members', 'schemas', 'Operations', 'name.givenName', 'emails[type eq "work"].value'];
    const resources = attributes.flatMap((a) => wrongTypes.map((v) => ({ schemas: [USER, GROUP], userName: `fuzz@${t.tenant.slug}.test`, displayName: 'Fuzz', [a]: v })));
    // Each path with null under every op, and the other wrong types under replace.
    const patches = [...attributes, 'members[value eq "x"]', 'members[value eq', '[', '', ' ', 'a'.repeat(600)].flatMap((path) => [
      ...(['add', 'replace', 'remove'] as const).map((op) => ({ schemas: [PATCH], Operations: [{ op, path, value: null }] })),
      ...wrongTypes.slice(1, 4).map((value) => ({ schemas: [PATCH], Operations: [{ op: 'replace', path, value }] })),
    ]);
    const hostile = ['['.repeat(20_000) + ']'.repeat(20_000), '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), '{"a": "\\ud800"}', '{"userName": "a@b.test", "userName": 5}'];
    const statuses = new Map<number, number>();
    const check = async (method: string, path: string, body: unknown) => {
      const r = await scim(token, method, path, typeof body === 'string' ? body : JSON.stringify(body));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status >= 500 || (r.status >= 400 && r.body?.schemas?.[0] !== ERROR)) throw new Error(`${method} ${path} ${JSON.stringify(body)?.slice(0, 200)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    };
    const calls: [string, string, unknown][] = [];
    for (const [method, path] of [['POST', '/Users'], ['PUT', `/Users/${uid}`], ['POST', '/Groups'], ['PUT', `/Groups/${gid}`]] as const) {
      for (const body of [...odd, ...(method === 'PUT' ? resources : []), ...hostile]) calls.push([method, path, body]);
    }
    for (const path of [`/Users/${uid}`, `/Groups/${gid}`]) for (const body of [...odd, ...patches, ...hostile]) calls.push(['PATCH', path, body]);
    // Ten at a time (the same rows: their locks serialise the writes, as a directory's retries would).
    for (let i = 0; i < calls.length; i += 10) await Promise.all(calls.slice(i, i + 10).map(([m, p, b]) => check(m, p, b)));
    expect(statuses.get(400)).toBeGreaterThan(200);
  }, 180_000);
});

describe('SCIM Groups (organizations)', () => {
  it('create with members, find by displayName, PATCH add/remove (both remove forms), PUT, DELETE', async () => {
    const t = await server.seed.tenant();
    const { token } = await scimToken(t);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await scim(token, 'POST', '/Users', newUser(`g${i}@${t.tenant.slug}.test`))).body.id);
    const created = await scim(token, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Engineering', externalId: 'grp-1', members: [{ value: ids[0] }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ schemas: [GROUP], displayName: 'Engineering', externalId: 'grp-1' });
    expect(created.body.members.map((m: { value: string }) => m.value)).toEqual([ids[0]]);
    const found = await scim(token, 'GET', `/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}&excludedAttributes=members`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].members).toBeUndefined();
    const gid = created.body.id;

    const added = await scim(token, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: ids[1] }, { value: ids[2] }] }] });
    expect(added.body.members.map((m: { value: string }) => m.value).sort()).toEqual([...ids].sort());
    const removed = await scim(token, 'PATCH', `/Groups/${gid}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'remove', path: `members[value eq "${ids[0]}"]` },
        { op: 'remove', path: 'members', value: [{ value: ids[1] }] },
        { op: 'replace', path: 'displayName', value: 'Platform Engineering' },
      ],
    });
    expect(removed.body.displayName).toBe('Platform Engineering');
    expect(removed.body.members.map((m: { value: string }) => m.value)).toEqual([ids[2]]);
    // The organization and its memberships in Tessera.
    const org = await server.gql('query($id: UUID!) { organization(id: $id) { name members { user { id } } } }', { id: gid }, { token: t.owner.token });
    expect(org.data.organization).toEqual({ name: 'Platform Engineering', members: [{ user: { id: ids[2] } }] });

    const put = await scim(token, 'PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'Eng', members: [{ value: ids[0] }, { value: ids[1] }] });
    expect(put.body.members.map((m: { value: string }) => m.value).sort()).toEqual([ids[0], ids[1]].sort());
    expectScimError(await scim(token, 'POST', '/Groups', { schemas: [GROUP], displayName: 'eng' }), 409, 'uniqueness');
    expectScimError(await scim(token, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: 'nope' }] }] }), 400, 'invalidValue');
    expectScimError(await scim(token, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'owners', value: [] }] }), 400, 'invalidPath');
    expect((await scim(token, 'DELETE', `/Groups/${gid}`)).status).toBe(204);
    expectScimError(await scim(token, 'GET', `/Groups/${gid}`), 404);
  });
});

describe('SCIM isolation: a token of tenant A never reaches tenant B', () => {
  it('B’s users and groups are unknown to A’s token; a token with B’s id in front is refused; B’s users can’t be made members of A’s groups', async () => {
    const a = await server.seed.tenant();
    const b = await server.seed.tenant();
    const { token: ta } = await scimToken(a);
    const { token: tb } = await scimToken(b);
    const bUser = (await scim(tb, 'POST', '/Users', newUser(`victim@${b.tenant.slug}.test`, { externalId: 'shared-ext' }))).body;
    const bGroup = (await scim(tb, 'POST', '/Groups', { schemas: [GROUP], displayName: 'B team' })).body;

    expectScimError(await scim(ta, 'GET', `/Users/${bUser.id}`), 404);
    expectScimError(await scim(ta, 'PATCH', `/Users/${bUser.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }), 404);
    expectScimError(await scim(ta, 'PUT', `/Users/${bUser.id}`, newUser(`victim@${b.tenant.slug}.test`, { active: false })), 404);
    expectScimError(await scim(ta, 'DELETE', `/Users/${bUser.id}`), 404);
    expectScimError(await scim(ta, 'GET', `/Groups/${bGroup.id}`), 404);
    expectScimError(await scim(ta, 'DELETE', `/Groups/${bGroup.id}`), 404);
    for (const f of [`userName eq "victim@${b.tenant.slug}.test"`, 'externalId eq "shared-ext"']) {
      expect((await scim(ta, 'GET', `/Users?filter=${encodeURIComponent(f)}`)).body.totalResults).toBe(0);
    }
    expect((await scim(ta, 'GET', '/Users')).body.Resources.map((u: { id: string }) => u.id)).not.toContain(bUser.id);
    // The same externalId and userName may exist in both tenants: they are different people.
    expect((await scim(ta, 'POST', '/Users', newUser(`victim@${b.tenant.slug}.test`, { externalId: 'shared-ext' }))).status).toBe(201);
    // A's secret with B's tenant id in front.
    const forged = ta.replace(a.tenant.id, b.tenant.id);
    expectScimError(await scim(forged, 'GET', '/Users'), 401);
    const aGroup = (await scim(ta, 'POST', '/Groups', { schemas: [GROUP], displayName: 'A team' })).body;
    expectScimError(await scim(ta, 'PATCH', `/Groups/${aGroup.id}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: bUser.id }] }] }), 400, 'invalidValue');
    // B is untouched.
    const [row] = await server.ownerSql`select status from users where id = ${bUser.id}`;
    expect(row!.status).toBe('ACTIVE');
    // A's revoked token is refused, and B's keeps working.
    expect((await scim(tb, 'GET', `/Users/${bUser.id}`)).status).toBe(200);
  });

  it('each token has its own request budget per minute: beyond it 429 with Retry-After in the SCIM error schema; another token goes on', async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_SCIM_PER_MINUTE: '5' } });
    try {
      const t = await limited.seed.tenant();
      const tokenOf = async () => (await limited.gql(CREATE_TOKEN, { n: 'Okta' }, { token: t.owner.token })).data.createScimToken.token as string;
      const [busy, other] = [await tokenOf(), await tokenOf()];
      const get = (token: string) => fetch(`${limited.url}/scim/v2/Users?count=1`, { headers: { authorization: `Bearer ${token}` } });
      // 11 calls hold 6 in one minute's window even if a minute boundary falls among them.
      const statuses: number[] = [];
      let refusal: Response | undefined;
      for (let i = 0; i < 11 && !refusal; i++) {
        const res = await get(busy);
        statuses.push(res.status);
        if (res.status !== 200) refusal = res;
      }
      expect(refusal?.status).toBe(429);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
      expect(Number(refusal!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refusal!.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      expect(await refusal!.json()).toMatchObject({ schemas: [ERROR], status: '429', code: 'RATE_LIMITED' });
      expect((await get(other)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('a suspended tenant’s directory is refused (403)', async () => {
    const s = await server.seed.tenant();
    const { token } = await scimToken(s);
    await server.ownerSql`update tenants set status = 'SUSPENDED' where id = ${s.tenant.id}`;
    expectScimError(await scim(token, 'GET', '/Users'), 403);
  });
});
