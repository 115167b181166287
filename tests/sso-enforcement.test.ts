/**
 * Email domains and SSO enforcement (issue 14): domains claimed by an ADMIN and verified by an OWNER,
 * unique across tenants once verified, public mail providers refused; "sign in with your work email"
 * discovery; linking by a verified domain when the IdP does not assert email_verified; enforcement:
 * password logins refused (also accepting an invitation) except for break-glass OWNERs, invited
 * people activated by their SSO sign-in; API keys can't change any of it.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockServices } from '../src/mock-services/server.js';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startSsoServers } from './helpers/sso.js';

let server: TestServer;
let mock: MockServices;
let appUrl: string;
let close: (() => Promise<void>) | undefined;
beforeAll(async () => {
  ({ server, mock, appUrl, close } = await startSsoServers());
});
afterAll(() => close?.());

const LOGIN = 'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken } }';
const ADD = 'mutation($d: String!) { addTenantDomain(domain: $d) { id domain verified verifiedAt } }';
const VERIFY = 'mutation($id: UUID!) { verifyTenantDomain(id: $id) { id domain verified } }';

async function connect(t: SeededTenant) {
  const reg = await fetch(`${mock.url}/oidc/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [`${server.url}/auth/sso/oidc/callback`] }),
  });
  const c = (await reg.json()) as { client_id: string; client_secret: string };
  const res = await server.gql('mutation($i: CreateOidcConnectionInput!) { createOidcConnection(input: $i) { id } }', { i: { name: 'IdP', issuer: mock.oidc.issuer, clientId: c.client_id, clientSecret: c.client_secret } }, { token: t.owner.token });
  expect(res.errors).toBeUndefined();
  return res.data.createOidcConnection.id as string;
}

/** A browser following redirects (cookies kept) until it lands on the frontend. */
async function browse(start: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 15; hop++) {
    if (url.startsWith(appUrl)) return new URL(url);
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`${url} answered ${res.status} without a redirect`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

const domainOf = (t: SeededTenant) => `${t.tenant.slug}-corp.example`;

describe('email domains', () => {
  it('an ADMIN claims, only an OWNER verifies; public providers and bad names are refused', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const added = await server.gql(ADD, { d: `  ${domainOf(t).toUpperCase()} ` }, { token: admin.token });
    expect(added.data.addTenantDomain).toMatchObject({ domain: domainOf(t), verified: false, verifiedAt: null });
    const id = added.data.addTenantDomain.id;
    expect((await server.gql(VERIFY, { id }, { token: admin.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server.gql(VERIFY, { id }, { token: t.owner.token })).data.verifyTenantDomain.verified).toBe(true);
    for (const d of ['gmail.com', 'not a domain', 'localhost', '-bad.example', 'x'.repeat(300)]) {
      expect((await server.gql(ADD, { d }, { token: t.owner.token })).errors?.[0]?.extensions?.code, d).toBe('BAD_USER_INPUT');
    }
    expect((await server.gql(ADD, { d: domainOf(t) }, { token: t.owner.token })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const member = await t.user('MEMBER');
    expect((await server.gql('{ tenantDomains { id } }', {}, { token: member.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a verified domain belongs to one tenant: another may claim it but not verify it', async () => {
    const a = await server.seed.tenant();
    const b = await server.seed.tenant();
    const domain = domainOf(a);
    const aId = (await server.gql(ADD, { d: domain }, { token: a.owner.token })).data.addTenantDomain.id;
    const bId = (await server.gql(ADD, { d: domain }, { token: b.owner.token })).data.addTenantDomain.id;
    expect((await server.gql(VERIFY, { id: aId }, { token: a.owner.token })).errors).toBeUndefined();
    expect((await server.gql(VERIFY, { id: bId }, { token: b.owner.token })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    // B never sees A's domain; A's id is unknown to B.
    expect((await server.gql('{ tenantDomains { domain verified } }', {}, { token: b.owner.token })).data.tenantDomains).toEqual([{ domain, verified: false }]);
    expect((await server.gql(VERIFY, { id: aId }, { token: b.owner.token })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('sign in with your work email', () => {
  it('an email of a verified domain starts its tenant’s SSO; unverified or unknown domains do not', async () => {
    const t = await server.seed.tenant();
    await connect(t);
    const email = `dana@${domainOf(t)}`;
    mock.oidc.addAccount({ email, email_verified: true, name: 'Dana', groups: [] });
    const id = (await server.gql(ADD, { d: domainOf(t) }, { token: t.owner.token })).data.addTenantDomain.id;
    const before = await browse(`${server.url}/auth/sso/start?email=${encodeURIComponent(email)}`);
    expect(before.searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND'); // claimed, not verified
    await server.gql(VERIFY, { id }, { token: t.owner.token });
    const landed = await browse(`${server.url}/auth/sso/start?email=${encodeURIComponent(email)}`);
    const code = landed.searchParams.get('code');
    expect(code).toMatch(new RegExp(`^ssoc_${t.tenant.id}_`));
    const session = await server.gql('mutation($c: String!) { exchangeSsoCode(code: $c) { user { email } } }', { c: code });
    expect(session.data.exchangeSsoCode.user.email).toBe(email);
    expect((await browse(`${server.url}/auth/sso/start?email=someone@nobody-${crypto.randomBytes(3).toString('hex')}.example`)).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
    expect((await browse(`${server.url}/auth/sso/start?email=not-an-email`)).searchParams.get('error')).toBe('SSO_BAD_REQUEST');
  });

  it('with the domain verified, an existing user is linked although the IdP does not assert email_verified', async () => {
    const t = await server.seed.tenant();
    const connId = await connect(t);
    const domain = domainOf(t);
    const id = (await server.gql(ADD, { d: domain }, { token: t.owner.token })).data.addTenantDomain.id;
    const existing = await server.gql('mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "Eve", role: MEMBER, password: "a-long-password-1" }) { id } }', { e: `eve@${domain}` }, { token: t.owner.token });
    mock.oidc.addAccount({ email: `eve@${domain}`, email_verified: false, name: 'Eve', groups: [] });
    const start = `${server.url}/auth/sso/start?tenant=${t.tenant.slug}&connection=${connId}&login_hint=${encodeURIComponent(`eve@${domain}`)}`;
    expect((await browse(start)).searchParams.get('error')).toBe('SSO_EMAIL_NOT_VERIFIED');
    await server.gql(VERIFY, { id }, { token: t.owner.token });
    const code = (await browse(start)).searchParams.get('code');
    const session = await server.gql('mutation($c: String!) { exchangeSsoCode(code: $c) { user { id } } }', { c: code });
    expect(session.data.exchangeSsoCode.user.id).toBe(existing.data.createUser.id);
  });
});

describe('SSO enforcement', () => {
  it('only an OWNER enforces, and only with an enabled connection; then passwords are refused except for break-glass OWNERs', async () => {
    const t = await server.seed.tenant();
    const admin = await t.user('ADMIN');
    const member = await t.user('MEMBER');
    const secondOwner = await t.user('OWNER');
    const ENFORCE = 'mutation($e: Boolean!) { setSsoEnforcement(enforced: $e) { ssoEnforced } }';
    expect((await server.gql(ENFORCE, { e: true }, { token: admin.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server.gql(ENFORCE, { e: true }, { token: t.owner.token })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    await connect(t);
    const BREAK_GLASS = 'mutation($u: UUID!, $e: Boolean!) { setSsoBreakGlass(userId: $u, enabled: $e) { id ssoBreakGlass } }';
    expect((await server.gql(BREAK_GLASS, { u: t.owner.user.id, e: true }, { token: t.owner.token })).data.setSsoBreakGlass.ssoBreakGlass).toBe(true);
    expect((await server.gql(BREAK_GLASS, { u: member.user.id, e: true }, { token: t.owner.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server.gql(BREAK_GLASS, { u: admin.user.id, e: true }, { token: admin.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server.gql(ENFORCE, { e: true }, { token: t.owner.token })).data.setSsoEnforcement.ssoEnforced).toBe(true);
    expect((await server.gql('{ tenant { ssoEnforced } }', {}, { token: member.token })).data.tenant.ssoEnforced).toBe(true);

    const login = (email: string, password = PASSWORD) => server.gql(LOGIN, { s: t.tenant.slug, e: email, p: password });
    for (const who of [member, admin, secondOwner]) {
      const res = await login(who.user.email);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'SSO_REQUIRED' });
    }
    // A wrong password learns nothing about enforcement.
    expect((await login(member.user.email, 'wrong-password-123')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The break-glass OWNER still gets in.
    expect((await login(t.owner.user.email)).data.login.accessToken).toBeTruthy();
    // Refusals are audited.
    const logs = await server.gql('{ auditLogs(first: 20, filter: { action: "LOGIN_FAILED" }) { edges { node { changes } } } }', {}, { token: t.owner.token });
    expect(logs.data.auditLogs.edges.map((e: any) => e.node.changes.reason)).toContain('SSO_REQUIRED');
    // Stop enforcing: passwords work again.
    await server.gql(ENFORCE, { e: false }, { token: t.owner.token });
    expect((await login(member.user.email)).errors).toBeUndefined();
  });

  it('enforcing ends the sessions already started with a password (break-glass OWNERs’ and SSO ones stay); such a session can’t be refreshed later either', async () => {
    const t = await server.seed.tenant();
    const connId = await connect(t);
    const member = await t.user('MEMBER');
    const secondOwner = await t.user('OWNER');
    const LOGIN_TOKENS = 'mutation($s: String!, $e: EmailAddress!, $p: String!) { login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken refreshToken } }';
    const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }';
    const passwordSession = async (email: string) => (await server.gql(LOGIN_TOKENS, { s: t.tenant.slug, e: email, p: PASSWORD })).data.login as { accessToken: string; refreshToken: string };
    const memberPassword = await passwordSession(member.user.email);
    const ownerPassword = await passwordSession(t.owner.user.email);
    const secondOwnerPassword = await passwordSession(secondOwner.user.email);
    mock.oidc.addAccount({ email: member.user.email, email_verified: true, name: 'Member', groups: [] });
    const code = (await browse(`${server.url}/auth/sso/start?tenant=${t.tenant.slug}&connection=${connId}&login_hint=${encodeURIComponent(member.user.email)}`)).searchParams.get('code');
    const memberSso = (await server.gql('mutation($c: String!) { exchangeSsoCode(code: $c) { accessToken refreshToken } }', { c: code })).data.exchangeSsoCode as { accessToken: string; refreshToken: string };
    const me = async (token: string) => (await server.gql('{ me { id } }', {}, { token })).errors?.[0]?.extensions?.code ?? 'OK';
    for (const s of [memberPassword, ownerPassword, secondOwnerPassword, memberSso]) expect(await me(s.accessToken)).toBe('OK');

    await server.gql('mutation($u: UUID!) { setSsoBreakGlass(userId: $u, enabled: true) { id } }', { u: t.owner.user.id }, { token: t.owner.token });
    expect((await server.gql('mutation { setSsoEnforcement(enforced: true) { ssoEnforced } }', {}, { token: t.owner.token })).data.setSsoEnforcement.ssoEnforced).toBe(true);
    // At once: the password sessions of the member and of the OWNER who is not break-glass are over.
    expect(await me(memberPassword.accessToken)).toBe('UNAUTHENTICATED');
    expect(await me(secondOwnerPassword.accessToken)).toBe('UNAUTHENTICATED');
    expect((await server.gql(REFRESH, { r: memberPassword.refreshToken })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The break-glass OWNER's password session and the member's SSO session go on, and refresh.
    expect(await me(ownerPassword.accessToken)).toBe('OK');
    expect(await me(memberSso.accessToken)).toBe('OK');
    const ssoRefreshed = await server.gql(REFRESH, { r: memberSso.refreshToken });
    expect(ssoRefreshed.errors).toBeUndefined();
    const ownerRefreshed = (await server.gql(REFRESH, { r: ownerPassword.refreshToken })).data.refreshSession as { accessToken: string; refreshToken: string };

    // A password session that escaped the switch (revived here by hand) is refused at its next refresh, and ended.
    await server.ownerSql`update refresh_tokens set revoked_at = null where tenant_id = ${t.tenant.id} and user_id = ${member.user.id} and token_hash = encode(sha256(convert_to(${memberPassword.refreshToken}, 'UTF8')), 'hex')`;
    const late = await server.gql(REFRESH, { r: memberPassword.refreshToken });
    expect(late.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'SSO_REQUIRED' });
    expect((await server.gql(REFRESH, { r: memberPassword.refreshToken })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // The OWNER no longer break-glass: their password session ends too.
    await server.gql('mutation($u: UUID!) { setSsoBreakGlass(userId: $u, enabled: false) { id } }', { u: t.owner.user.id }, { token: t.owner.token });
    expect(await me(ownerRefreshed.accessToken)).toBe('UNAUTHENTICATED');
    expect(await me(ssoRefreshed.data.refreshSession.accessToken)).toBe('OK');
  });

  it('while enforced, an invited person signs in through the IdP and is activated by it', async () => {
    const t = await server.seed.tenant();
    const connId = await connect(t);
    await server.gql('mutation { setSsoEnforcement(enforced: true) { ssoEnforced } }', {}, { token: t.owner.token });
    const email = `invitee-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    const invited = await server.gql('mutation($e: EmailAddress!) { createUser(input: { email: $e, name: "Ivy", role: MEMBER }) { id status } }', { e: email }, { token: t.owner.token });
    expect(invited.data.createUser.status).toBe('INVITED');
    mock.oidc.addAccount({ email, email_verified: true, name: 'Ivy', groups: [] });
    const code = (await browse(`${server.url}/auth/sso/start?tenant=${t.tenant.slug}&connection=${connId}&login_hint=${encodeURIComponent(email)}`)).searchParams.get('code');
    const session = await server.gql('mutation($c: String!) { exchangeSsoCode(code: $c) { user { id status } } }', { c: code });
    expect(session.data.exchangeSsoCode.user).toEqual({ id: invited.data.createUser.id, status: 'ACTIVE' });
  });
});

describe('SSO routes are rate limited per client IP', () => {
  it('past RATE_LIMIT_LOGIN_MAX starts, the next one redirects with SSO_RATE_LIMITED and writes nothing', async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_LOGIN_MAX: '3', APP_URL: 'http://app.tessera.test' } });
    try {
      const t = await limited.seed.tenant();
      const start = `${limited.url}/auth/sso/start?tenant=${t.tenant.slug}`;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(start, { redirect: 'manual' });
        expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
      }
      const res = await fetch(start, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('SSO_RATE_LIMITED');
    } finally {
      await limited.close();
    }
  });
});
