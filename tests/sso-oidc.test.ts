/**
 * Single sign-on with OpenID Connect (issue 14) against a real OpenID provider (oidc-provider inside
 * the mock services), driven like a browser over real HTTP: redirects followed by hand, cookies kept.
 * Connections through GraphQL (secret encrypted, roles no higher than the configurer's), just-in-time
 * accounts with role mapping, linking only on a verified email, the one-time code exchange, and the
 * attacks: state mismatch and replay, nonce replay, an id_token for another client, from another
 * issuer, with another nonce or expired, email_verified false, another tenant's state.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockServices } from '../src/mock-services/server.js';
import type { OidcTamper } from '../src/mock-services/oidc-idp.js';
import type { SeededTenant } from './helpers/seed.js';
import type { TestServer } from './helpers/server.js';
import { startSsoServers } from './helpers/sso.js';

let server: TestServer;
let mock: MockServices;
let appUrl: string;
let close: (() => Promise<void>) | undefined;
beforeAll(async () => {
  ({ server, mock, appUrl, close } = await startSsoServers());
});
afterAll(() => close?.());

const CREATE = `mutation($i: CreateOidcConnectionInput!) { createOidcConnection(input: $i) { id name issuer clientId scopes defaultRole roleClaim roleMapping { value role } redirectUri startUrl enabled } }`;
const EXCHANGE = 'mutation($c: String!) { exchangeSsoCode(code: $c) { accessToken refreshToken user { id email role } } }';

/** Registers Tessera as a client at the mock IdP (dynamic registration, RFC 7591). */
async function registerClient(): Promise<{ client_id: string; client_secret: string }> {
  const res = await fetch(`${mock.url}/oidc/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [`${server.url}/auth/sso/oidc/callback`], client_name: 'Tessera' }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { client_id: string; client_secret: string };
}

async function connect(t: SeededTenant, extra: Record<string, unknown> = {}, token = t.owner.token) {
  const c = await registerClient();
  const res = await server.gql(CREATE, { i: { name: `IdP ${crypto.randomBytes(3).toString('hex')}`, issuer: mock.oidc.issuer, clientId: c.client_id, clientSecret: c.client_secret, ...extra } }, { token });
  return { res, conn: res.data?.createOidcConnection, client: c };
}

/** A browser: follows redirects between Tessera and the IdP, keeping cookies, until it lands on the frontend. */
class Browser {
  readonly jar = new Map<string, string>();
  /** The URL the last flow stopped at before leaving for the frontend (the callback, for replays). */
  lastCallback?: string;

  async go(start: string, stopAt?: (url: string) => boolean): Promise<URL> {
    let url = start;
    for (let hop = 0; hop < 15; hop++) {
      if (url.includes('/auth/sso/oidc/callback')) this.lastCallback = url;
      if (stopAt?.(url)) return new URL(url);
      if (url.startsWith(appUrl)) return new URL(url);
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(';');
        const i = pair!.indexOf('=');
        const name = pair!.slice(0, i).trim();
        const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
        if (gone) this.jar.delete(name);
        else this.jar.set(name, pair!.slice(i + 1).trim());
      }
      const location = res.headers.get('location');
      if (!location) throw new Error(`${url} answered ${res.status} without a redirect: ${(await res.text()).slice(0, 300)}`);
      url = new URL(location, url).href;
    }
    throw new Error('too many redirects');
  }
}

const startUrl = (slug: string, connectionId?: string, email?: string) =>
  `${server.url}/auth/sso/start?tenant=${slug}${connectionId ? `&connection=${connectionId}` : ''}${email ? `&login_hint=${encodeURIComponent(email)}` : ''}`;

async function signIn(slug: string, connectionId: string, email: string, browser = new Browser()) {
  const landed = await browser.go(startUrl(slug, connectionId, email));
  expect(landed.origin + landed.pathname).toBe(`${appUrl}/sso/callback`);
  return { code: landed.searchParams.get('code'), error: landed.searchParams.get('error'), browser };
}

async function exchange(code: string) {
  return server.gql(EXCHANGE, { c: code });
}

const account = (email: string, extra: Partial<{ email_verified: boolean; groups: string[]; name: string }> = {}) =>
  mock.oidc.addAccount({ email, email_verified: true, name: 'Carol Example', groups: [], ...extra });

describe('OIDC connections (GraphQL)', () => {
  it('an OWNER creates one: the secret is stored encrypted and never returned; the redirect URI and start URL are shown; the provider tests ok', async () => {
    const t = await server.seed.tenant();
    const { res, conn, client } = await connect(t);
    expect(res.errors).toBeUndefined();
    expect(conn).toMatchObject({ issuer: mock.oidc.issuer, clientId: client.client_id, scopes: 'openid email profile', defaultRole: 'MEMBER', enabled: true, redirectUri: `${server.url}/auth/sso/oidc/callback` });
    expect(conn.startUrl).toBe(`${server.url}/auth/sso/start?tenant=${t.tenant.slug}&connection=${conn.id}`);
    expect(JSON.stringify(res)).not.toContain(client.client_secret);
    const [row] = await server.ownerSql`select oidc_client_secret_encrypted as s from sso_connections where id = ${conn.id}`;
    expect(row!.s).toMatch(/^v1\./);
    expect(row!.s).not.toContain(client.client_secret);
    const test = await server.gql('mutation($id: UUID!) { testSsoConnection(id: $id) { ok issuer message } }', { id: conn.id }, { token: t.owner.token });
    expect(test.data.testSsoConnection).toEqual({ ok: true, issuer: mock.oidc.issuer, message: null });
    const list = await server.gql('{ ssoConnections { id } }', {}, { token: t.owner.token });
    expect(list.data.ssoConnections).toEqual([{ id: conn.id }]);
  });

  it('a MEMBER may not; an ADMIN may not map anyone to OWNER nor touch a connection an OWNER mapped to OWNER; bad input is refused by field', async () => {
    const t = await server.seed.tenant();
    const member = await t.user('MEMBER');
    expect((await connect(t, {}, member.token)).res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await t.user('ADMIN');
    expect((await connect(t, { roleClaim: 'groups', roleMapping: [{ value: 'boss', role: 'OWNER' }] }, admin.token)).res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await connect(t, { defaultRole: 'OWNER' }, admin.token)).res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { conn } = await connect(t, { roleClaim: 'groups', roleMapping: [{ value: 'boss', role: 'OWNER' }] });
    const edit = await server.gql('mutation($id: UUID!) { updateSsoConnection(id: $id, input: { name: "mine" }) { id } }', { id: conn.id }, { token: admin.token });
    expect(edit.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await server.gql(CREATE, { i: { name: 'x', issuer: 'http://169.254.169.254/latest', clientId: 'c', clientSecret: 's', scopes: 'email' } }, { token: t.owner.token });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = (bad.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['issuer', 'scopes']));
  });
});

describe('OIDC sign-in', () => {
  let t: SeededTenant;
  let connId: string;
  beforeAll(async () => {
    t = await server.seed.tenant();
    ({ conn: { id: connId } } = await connect(t, { scopes: 'openid email profile groups', roleClaim: 'groups', roleMapping: [{ value: 'tessera-admins', role: 'ADMIN' }, { value: 'readers', role: 'VIEWER' }] }));
  });

  it('a new person is created on first sign-in with the mapped role; the one-time code gives a session once; the next sign-in is the same user', async () => {
    const email = `carol-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email, { groups: ['readers', 'tessera-admins'], name: 'Carol Admin' });
    const { code, error } = await signIn(t.tenant.slug, connId, email);
    expect(error).toBeNull();
    expect(code).toMatch(new RegExp(`^ssoc_${t.tenant.id}_`));
    const session = await exchange(code!);
    expect(session.errors).toBeUndefined();
    expect(session.data.exchangeSsoCode.user).toMatchObject({ email, role: 'ADMIN' });
    const me = await server.gql('{ me { id email name role status } }', {}, { token: session.data.exchangeSsoCode.accessToken });
    expect(me.data.me).toMatchObject({ email, name: 'Carol Admin', role: 'ADMIN', status: 'ACTIVE' });
    // Single use.
    expect((await exchange(code!)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The refresh token works like login's.
    const refreshed = await server.gql('mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }', { r: session.data.exchangeSsoCode.refreshToken });
    expect(refreshed.errors).toBeUndefined();
    // Again: the identity is known, no second user.
    const again = await signIn(t.tenant.slug, connId, email);
    expect((await exchange(again.code!)).data.exchangeSsoCode.user.id).toBe(session.data.exchangeSsoCode.user.id);
    const [n] = await server.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id} and lower(email) = ${email}`;
    expect(n!.n).toBe(1);
    // Audited: the new user and identity (SYSTEM sso), and the login with its method.
    const logs = await server.gql('{ auditLogs(first: 50) { edges { node { action entityType actorType actorId changes } } } }', {}, { token: t.owner.token });
    const entries = logs.data.auditLogs.edges.map((e: any) => e.node);
    expect(entries).toContainEqual(expect.objectContaining({ action: 'INSERT', entityType: 'sso_identities', actorType: 'SYSTEM', actorId: 'sso' }));
    expect(entries).toContainEqual(expect.objectContaining({ action: 'LOGIN_SUCCEEDED', changes: expect.objectContaining({ method: 'sso', connectionId: connId }) }));
  });

  it('the one-time code, exchanged eight times at once, gives exactly one session', async () => {
    const email = `race-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email);
    const { code } = await signIn(t.tenant.slug, connId, email);
    const results = await Promise.all(Array.from({ length: 8 }, () => exchange(code!)));
    const won = results.filter((r) => r.data?.exchangeSsoCode?.accessToken);
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => !x.data?.exchangeSsoCode)) expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [sessions] = await server.ownerSql`select count(*)::int as n from sessions where user_id = ${won[0]!.data.exchangeSsoCode.user.id}`;
    expect(sessions!.n).toBe(1);
  });

  it('an existing user is linked when the email is verified, and keeps their role', async () => {
    const existing = await t.user('VIEWER');
    account(existing.user.email, { groups: ['tessera-admins'] });
    const { code } = await signIn(t.tenant.slug, connId, existing.user.email);
    const session = await exchange(code!);
    expect(session.data.exchangeSsoCode.user).toEqual({ id: existing.user.id, email: existing.user.email, role: 'VIEWER' });
  });

  it('email_verified false: no linking, no account (SSO_EMAIL_NOT_VERIFIED), audited as LOGIN_FAILED', async () => {
    const existing = await t.user('MEMBER');
    account(existing.user.email, { email_verified: false });
    const linked = await signIn(t.tenant.slug, connId, existing.user.email);
    expect(linked).toMatchObject({ code: null, error: 'SSO_EMAIL_NOT_VERIFIED' });
    const fresh = `unverified-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(fresh, { email_verified: false });
    expect((await signIn(t.tenant.slug, connId, fresh)).error).toBe('SSO_EMAIL_NOT_VERIFIED');
    const [ids] = await server.ownerSql`select count(*)::int as n from sso_identities where user_id = ${existing.user.id}`;
    expect(ids!.n).toBe(0);
    const [users] = await server.ownerSql`select count(*)::int as n from users where email = ${fresh}`;
    expect(users!.n).toBe(0);
    const logs = await server.gql('{ auditLogs(first: 20, filter: { action: "LOGIN_FAILED" }) { edges { node { changes } } } }', {}, { token: t.owner.token });
    expect(logs.data.auditLogs.edges.map((e: any) => e.node.changes.reason)).toContain('SSO_EMAIL_NOT_VERIFIED');
  });

  it('a deactivated user is refused (SSO_USER_NOT_ACTIVE)', async () => {
    const gone = await t.user('MEMBER');
    account(gone.user.email);
    await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { id } }', { id: gone.user.id }, { token: t.owner.token });
    expect((await signIn(t.tenant.slug, connId, gone.user.email)).error).toBe('SSO_USER_NOT_ACTIVE');
  });

  it('an ADMIN’s connection signs in no OWNER, by link or by a known identity (SSO_ROLE_NOT_ALLOWED, nothing linked); an ADMIN changing an OWNER’s connection lowers it until an OWNER saves it again', async () => {
    const s = await server.seed.tenant();
    const ownerEmail = s.owner.user.email;
    account(ownerEmail);
    const admin = await s.user('ADMIN');
    const UPDATE = 'mutation($id: UUID!, $i: UpdateSsoConnectionInput!) { updateSsoConnection(id: $id, input: $i) { configuredByRole } }';
    // An ADMIN points a connection at an identity provider that asserts the OWNER's (verified) email.
    const { conn: adminConn } = await connect(s, {}, admin.token);
    expect(adminConn.id).toBeTruthy();
    const refused = await signIn(s.tenant.slug, adminConn.id, ownerEmail);
    expect(refused).toMatchObject({ code: null, error: 'SSO_ROLE_NOT_ALLOWED' });
    const [linked] = await server.ownerSql`select count(*)::int as n from sso_identities where user_id = ${s.owner.user.id}`;
    expect(linked!.n).toBe(0);
    // The same connection links people up to the ADMIN's role.
    const member = await s.user('MEMBER');
    account(member.user.email);
    expect((await exchange((await signIn(s.tenant.slug, adminConn.id, member.user.email)).code!)).data.exchangeSsoCode.user.id).toBe(member.user.id);

    // The OWNER's own connection signs the OWNER in (and links them).
    const { conn: ownerConn } = await connect(s);
    expect((await exchange((await signIn(s.tenant.slug, ownerConn.id, ownerEmail)).code!)).data.exchangeSsoCode.user).toMatchObject({ id: s.owner.user.id, role: 'OWNER' });
    // An ADMIN renaming it changes nothing it trusts; changing its settings does: the known identity is refused.
    expect((await server.gql(UPDATE, { id: ownerConn.id, i: { name: `renamed ${ownerConn.id.slice(0, 6)}` } }, { token: admin.token })).data.updateSsoConnection.configuredByRole).toBe('OWNER');
    expect((await signIn(s.tenant.slug, ownerConn.id, ownerEmail)).error).toBeNull();
    expect((await server.gql(UPDATE, { id: ownerConn.id, i: { scopes: 'openid email' } }, { token: admin.token })).data.updateSsoConnection.configuredByRole).toBe('ADMIN');
    expect(await signIn(s.tenant.slug, ownerConn.id, ownerEmail)).toMatchObject({ code: null, error: 'SSO_ROLE_NOT_ALLOWED' });
    // The OWNER reviews and saves it: OWNERs sign in through it again.
    expect((await server.gql(UPDATE, { id: ownerConn.id, i: { scopes: 'openid email profile' } }, { token: s.owner.token })).data.updateSsoConnection.configuredByRole).toBe('OWNER');
    expect((await signIn(s.tenant.slug, ownerConn.id, ownerEmail)).error).toBeNull();
    const logs = await server.gql('{ auditLogs(first: 50, filter: { action: "LOGIN_FAILED" }) { edges { node { changes } } } }', {}, { token: s.owner.token });
    expect(logs.data.auditLogs.edges.map((e: any) => e.node.changes.reason)).toContain('SSO_ROLE_NOT_ALLOWED');
  });

  it('the person picks their account on the IdP’s page when no hint is given (a browser can finish it)', async () => {
    const email = `picker-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email);
    const browser = new Browser();
    const page = await browser.go(startUrl(t.tenant.slug, connId), (u) => u.includes('/oidc/interaction/'));
    const html = await (await fetch(page, { headers: { cookie: [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; ') } })).text();
    expect(html).toContain(email);
    const form = await fetch(`${page.href}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ email }).toString(),
    });
    const landed = await browser.go(new URL(form.headers.get('location')!, page).href);
    expect(landed.searchParams.get('code')).toMatch(/^ssoc_/);
  });

  it('start refuses what it can’t serve, by redirecting with a code', async () => {
    const b = new Browser();
    expect((await b.go(`${server.url}/auth/sso/start`)).searchParams.get('error')).toBe('SSO_BAD_REQUEST');
    expect((await b.go(startUrl('no-such-tenant-here'))).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
    expect((await b.go(startUrl(t.tenant.slug, crypto.randomUUID()))).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
    expect((await b.go(startUrl(t.tenant.slug, 'not-a-uuid'))).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
    // Values Postgres can't take, and ids longer than the router reads: the client's fault, never SSO_FAILED or a 500.
    expect((await b.go(`${server.url}/auth/sso/start?tenant=%00`)).searchParams.get('error')).toBe('SSO_BAD_REQUEST');
    const badHint = await fetch(`${server.url}/auth/sso/start?tenant=${t.tenant.slug}&login_hint=%00`, { redirect: 'manual' });
    expect(badHint.status).toBe(302);
    expect(badHint.headers.get('location')).not.toContain('SSO_FAILED'); // the unusable hint is dropped: on to the IdP
    const longId = await fetch(`${server.url}/auth/sso/saml/${'a'.repeat(300)}/${crypto.randomUUID()}/metadata`, { redirect: 'manual' });
    expect(longId.status).toBeLessThan(500);
    const other = await server.seed.tenant();
    const { conn } = await connect(other);
    await server.gql('mutation($id: UUID!) { updateSsoConnection(id: $id, input: { enabled: false }) { id } }', { id: conn.id }, { token: other.owner.token });
    expect((await b.go(startUrl(other.tenant.slug, conn.id))).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
    // Another tenant's connection id under this tenant's slug.
    const third = await server.seed.tenant();
    const { conn: thirdConn } = await connect(third);
    expect((await b.go(startUrl(t.tenant.slug, thirdConn.id))).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
  });
});

describe('OIDC attacks, each refused', () => {
  let t: SeededTenant;
  let connId: string;
  let email: string;
  beforeAll(async () => {
    t = await server.seed.tenant();
    ({ conn: { id: connId } } = await connect(t));
    email = `victim@${t.tenant.slug}.test`;
    account(email);
  });

  it('state mismatch: a callback in a browser that did not start the sign-in (login CSRF), or with a changed state', async () => {
    const victim = new Browser();
    const attacker = new Browser();
    // The attacker starts a sign-in and stops at the callback; the victim's browser is made to open it.
    await attacker.go(startUrl(t.tenant.slug, connId, email), (u) => u.includes('/auth/sso/oidc/callback'));
    const callback = attacker.lastCallback!;
    expect((await victim.go(callback)).searchParams.get('error')).toBe('SSO_STATE_MISMATCH');
    // The state in the URL changed (cookie kept).
    const b = new Browser();
    await b.go(startUrl(t.tenant.slug, connId, email), (u) => u.includes('/auth/sso/oidc/callback'));
    const changed = new URL(b.lastCallback!);
    changed.searchParams.set('state', `${t.tenant.id}.forged`);
    expect((await b.go(changed.href)).searchParams.get('error')).toBe('SSO_STATE_MISMATCH');
  });

  it('a replayed callback (same state and code twice) is refused the second time', async () => {
    const b = new Browser();
    await b.go(startUrl(t.tenant.slug, connId, email), (u) => u.includes('/auth/sso/oidc/callback'));
    const callback = b.lastCallback!;
    const cookie = b.jar.get('tessera_sso_state')!;
    expect((await b.go(callback)).searchParams.get('code')).toMatch(/^ssoc_/);
    b.jar.set('tessera_sso_state', cookie); // the cookie was cleared; an attacker would replay it too
    expect((await b.go(callback)).searchParams.get('error')).toBe('SSO_STATE_MISMATCH');
  });

  for (const [tamper, what] of [
    ['audience', 'an id_token for another client'],
    ['issuer', 'an id_token from another issuer'],
    ['nonce', 'an id_token with another nonce'],
    ['replay', 'an earlier sign-in’s id_token (nonce replay)'],
    ['expired', 'an expired id_token'],
  ] as [OidcTamper, string][]) {
    it(`${what} is refused (SSO_INVALID_RESPONSE), and no code is issued`, async () => {
      if (tamper === 'replay') await signIn(t.tenant.slug, connId, email); // there is an earlier id_token
      const [before] = await server.ownerSql`select count(*)::int as n from sso_login_codes where tenant_id = ${t.tenant.id}`;
      mock.oidc.tamper = tamper;
      const { code, error } = await signIn(t.tenant.slug, connId, email);
      expect(mock.oidc.tamper).toBeNull(); // the forged token was served
      expect({ code, error }).toEqual({ code: null, error: 'SSO_INVALID_RESPONSE' });
      const [after] = await server.ownerSql`select count(*)::int as n from sso_login_codes where tenant_id = ${t.tenant.id}`;
      expect(after!.n).toBe(before!.n);
    });
  }

  it('a sign-in started for tenant A can’t be finished as tenant B; codes are bound to their tenant', async () => {
    const b = await server.seed.tenant();
    const { conn: bConn } = await connect(b);
    const browser = new Browser();
    await browser.go(startUrl(t.tenant.slug, connId, email), (u) => u.includes('/auth/sso/oidc/callback'));
    const forged = new URL(browser.lastCallback!);
    const state = forged.searchParams.get('state')!.replace(t.tenant.id, b.tenant.id);
    forged.searchParams.set('state', state);
    browser.jar.set('tessera_sso_state', state);
    expect((await browser.go(forged.href)).searchParams.get('error')).toBe('SSO_STATE_MISMATCH');
    // A's code with B's tenant id in front.
    const { code } = await signIn(t.tenant.slug, connId, email);
    expect((await exchange(code!.replace(t.tenant.id, b.tenant.id))).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await exchange(code!)).data.exchangeSsoCode.user.email).toBe(email);
    expect(bConn.id).not.toBe(connId);
  });

  it('flow state that expired over an hour ago is deleted by the tenant’s next sign-in, and only the tenant’s', async () => {
    const other = await server.seed.tenant();
    const { conn: otherConn } = await connect(other);
    const old = new Date(Date.now() - 2 * 3_600_000);
    const insertOld = (tenantId: string, connectionId: string) =>
      server.ownerSql`insert into sso_login_attempts (tenant_id, connection_id, state_hash, nonce, code_verifier, expires_at) values (${tenantId}, ${connectionId}, ${crypto.randomUUID()}, 'n', 'v', ${old}) returning id`;
    const [mine] = await insertOld(t.tenant.id, connId);
    const [theirs] = await insertOld(other.tenant.id, otherConn.id);
    await new Browser().go(startUrl(t.tenant.slug, connId, email), (u) => u.includes('/oidc/'));
    const left = await server.ownerSql`select id from sso_login_attempts where id in (${mine!.id}, ${theirs!.id})`;
    expect(left.map((r) => r.id)).toEqual([theirs!.id]);
  });

  it('an expired one-time code is refused, and so is a callback for an expired sign-in (nothing issued)', async () => {
    const email = `late-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email);
    const { code } = await signIn(t.tenant.slug, connId, email);
    await server.ownerSql`update sso_login_codes set expires_at = now() - interval '1 second' where tenant_id = ${t.tenant.id} and code_hash = encode(sha256(convert_to(${code!}, 'UTF8')), 'hex')`;
    expect((await exchange(code!)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A sign-in left at the IdP past its 10 minutes: the callback finds nothing to finish.
    const browser = new Browser();
    const callback = await browser.go(startUrl(t.tenant.slug, connId, email), (u) => u.includes('/auth/sso/oidc/callback'));
    const state = callback.searchParams.get('state')!;
    await server.ownerSql`update sso_login_attempts set expires_at = now() - interval '1 second' where tenant_id = ${t.tenant.id} and state_hash = encode(sha256(convert_to(${state}, 'UTF8')), 'hex')`;
    const landed = await browser.go(callback.href);
    expect(landed.searchParams.get('error')).toBe('SSO_STATE_MISMATCH');
    expect(landed.searchParams.get('code')).toBeNull();
  });

  it('malformed codes are UNAUTHENTICATED, never another error', async () => {
    for (const c of ['', 'ssoc_x', `ssoc_${t.tenant.id}_${'a'.repeat(43)}`, 'x'.repeat(5000)]) {
      expect((await exchange(c)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
