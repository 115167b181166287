/**
 * Password reset (no enumeration, rate limits, single use, ends every session and open socket),
 * email change (confirmed by the new address, the old one told), and the tenant named by host or
 * X-Tenant header: over real HTTP, the real job path and the mock communication service.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServices, type MockServices } from '../src/mock-services/server.js';
import { createTestIntegration, FAST_OUTBOUND_ENV } from './helpers/integrations.js';
import { ACCEPT, INVITE, LOGIN, mailbox, registerWebhookEndpoint, tokenOf, waitForMail } from './helpers/people.js';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { errorCode, startTestServer, type GraphQLResult, type TestServer } from './helpers/server.js';
import { FAST_JOBS_ENV } from './helpers/sync.js';
import { waitFor } from './helpers/wait.js';
import { connectWs, subscribe } from './helpers/ws.js';

let server: TestServer;
let mock: MockServices;
let t: SeededTenant;

const REQUEST = `mutation ($slug: String, $email: String!) { requestPasswordReset(tenantSlug: $slug, email: $email) }`;
const RESET = `mutation ($token: String!, $pw: String!) { resetPassword(token: $token, newPassword: $pw) }`;
const REFRESH = `mutation ($r: String!) { refreshSession(refreshToken: $r) { accessToken } }`;

beforeAll(async () => {
  [server, mock] = await Promise.all([
    startTestServer({ env: { ...FAST_OUTBOUND_ENV, ...FAST_JOBS_ENV, TENANT_BASE_DOMAIN: 'tessera.test', RATE_LIMIT_PASSWORD_RESET_IP_MAX: '10000', RATE_LIMIT_PASSWORD_RESET_EMAIL_MAX: '10000' } }),
    startMockServices({ port: 0, seedUsers: 2 }),
  ]);
  t = await server.seed.tenant();
  const created = await createTestIntegration(server.app, mock, t.tenant.id, 'COMMUNICATION_SERVICE');
  await registerWebhookEndpoint(mock, server, created.target.id, created.secret);
});
afterAll(async () => {
  await server?.close();
  await mock?.close();
});

/** POST /graphql over node:http, which (unlike fetch) sends the Host header we give it. */
function gqlAt(headers: Record<string, string>, query: string, variables: Record<string, unknown>): Promise<GraphQLResult> {
  const url = new URL(`${server.url}/graphql`);
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: new Headers(), ...JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function login(email: string, password = PASSWORD, headers: Record<string, string> = {}, slug: string | null = t.tenant.slug) {
  return gqlAt(headers, LOGIN, { input: { ...(slug ? { tenantSlug: slug } : {}), email, password } });
}

describe('password reset', () => {
  it('sends a single-use link; the new password works, the old one and the link do not', async () => {
    const u = await t.user('MEMBER');
    const res = await server.gql(REQUEST, { slug: t.tenant.slug, email: u.user.email.toUpperCase() });
    expect(res.data).toEqual({ requestPasswordReset: true });
    const mail = await waitForMail(mock, u.user.email);
    expect(mail.subject).toMatch(/reset/i);
    expect(mail.links[0]).toMatch(/^http:\/\/localhost:3000\/reset-password\?token=pwr_/);
    const token = tokenOf(mail);
    expect((await server.gql(RESET, { token, pw: 'a-brand-new-password' })).data).toEqual({ resetPassword: true });
    expect(errorCode(await login(u.user.email))).toBe('UNAUTHENTICATED');
    expect((await login(u.user.email, 'a-brand-new-password')).errors).toBeUndefined();
    expect(errorCode(await server.gql(RESET, { token, pw: 'yet-another-password' }))).toBe('INVALID_TOKEN');
    // An invitation token is not a reset token, whatever its tenant.
    expect(errorCode(await server.gql(RESET, { token: token.replace('pwr_', 'inv_'), pw: 'yet-another-password' }))).toBe('INVALID_TOKEN');
    expect(errorCode(await server.gql(RESET, { token, pw: 'short' }))).toBe('BAD_USER_INPUT');
    const audit = await server.gql(`{ auditLogs(first: 50) { edges { node { action actorType actorId } } } }`, {}, { token: t.owner.token });
    const actions = audit.data.auditLogs.edges.map((e: any) => e.node);
    expect(actions.find((e: any) => e.action === 'PASSWORD_RESET')).toMatchObject({ actorType: 'USER', actorId: u.user.id });
    expect(actions.find((e: any) => e.action === 'PASSWORD_RESET_REQUESTED')).toMatchObject({ actorType: 'SYSTEM', actorId: 'password-reset' });
  });

  it('answers an unknown email exactly like a known one: same body, same status, timing within noise; nothing is sent', async () => {
    const known = await t.user('VIEWER');
    const unknown = `nobody-${Date.now()}@${t.tenant.slug}.test`;
    const ask = async (email: string) => {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: REQUEST, variables: { slug: t.tenant.slug, email } }) });
      const body = await res.text();
      return { ms: performance.now() - t0, status: res.status, body };
    };
    await ask(known.user.email); // warm-up
    await ask(unknown);
    // Pairs asked back to back (in random order within the pair), compared pair by pair: the load of
    // the rest of the machine drifts slowly and hits both of a pair alike.
    const bodies = new Set<string>();
    const diffs: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < 21; i++) {
      const order = Math.random() < 0.5 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const);
      const ms: Record<string, number> = {};
      for (const kind of order) {
        const r = await ask(kind === 'known' ? known.user.email : unknown);
        expect(r.status).toBe(200);
        bodies.add(r.body);
        ms[kind] = r.ms;
        all.push(r.ms);
      }
      diffs.push(ms.known! - ms.unknown!);
    }
    expect([...bodies]).toHaveLength(1); // byte for byte the same answer
    expect(JSON.parse([...bodies][0]!)).toEqual({ data: { requestPasswordReset: true } });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [d, typical] = [median(diffs), median(all)];
    console.info(`requestPasswordReset: median ${typical.toFixed(1)} ms; median known − unknown ${d.toFixed(1)} ms over ${diffs.length} pairs`);
    // The same statements run for both (the lookup happens in a job, started 1–3 s later): any difference is noise.
    expect(Math.abs(d)).toBeLessThan(Math.max(20, 0.5 * typical));
    expect(await mailbox(mock, unknown)).toHaveLength(0);
    await waitForMail(mock, known.user.email, 1);
    // Unknown tenants and malformed addresses answer the same too.
    for (const [slug, email] of [['no-such-tenant', known.user.email], [t.tenant.slug, 'not an email'], [t.tenant.slug, '']]) {
      const res = await server.gql(REQUEST, { slug, email });
      expect(res.data, `${slug} ${email}`).toEqual({ requestPasswordReset: true });
    }
  });

  it('ends every session of the user, and closes their open sockets', async () => {
    const u = await t.user('MEMBER');
    const a = (await login(u.user.email)).data.login;
    const b = (await login(u.user.email)).data.login;
    let closedWith: number | undefined;
    const client = connectWs(server.url, a.accessToken, { onClosed: (code) => (closedWith = code) });
    const sub = subscribe(client, 'subscription { heartbeat(intervalSeconds: 1) }');
    await sub.waitFor(() => true, 10_000);
    await server.gql(REQUEST, { slug: t.tenant.slug, email: u.user.email });
    const token = tokenOf(await waitForMail(mock, u.user.email));
    expect((await server.gql(RESET, { token, pw: 'after-the-reset-pw' })).errors).toBeUndefined();
    for (const s of [a, b]) expect(errorCode(await server.gql(REFRESH, { r: s.refreshToken }))).toBe('UNAUTHENTICATED');
    await waitFor(() => closedWith, { timeoutMs: 5000, message: 'the socket to close' });
    expect(closedWith).toBe(4403);
    await client.dispose();
    const sessions = await server.gql('{ mySessions { id } }', {}, { token: (await login(u.user.email, 'after-the-reset-pw')).data.login.accessToken });
    expect(sessions.data.mySessions).toHaveLength(1); // only the login made just now
  });

  it('a new request replaces the previous link; an expired link is refused', async () => {
    const u = await t.user('MEMBER');
    await server.gql(REQUEST, { slug: t.tenant.slug, email: u.user.email });
    const first = tokenOf(await waitForMail(mock, u.user.email, 1));
    await server.gql(REQUEST, { slug: t.tenant.slug, email: u.user.email });
    const second = tokenOf(await waitForMail(mock, u.user.email, 2));
    expect(errorCode(await server.gql(RESET, { token: first, pw: 'first-link-password' }))).toBe('INVALID_TOKEN');
    await server.ownerSql`update user_tokens set expires_at = now() - interval '1 second' where user_id = ${u.user.id} and purpose = 'PASSWORD_RESET' and used_at is null and revoked_at is null`;
    expect(errorCode(await server.gql(RESET, { token: second, pw: 'second-link-password' }))).toBe('INVALID_TOKEN');
    expect((await login(u.user.email)).errors).toBeUndefined(); // nothing changed
  });
});

describe('password reset for someone invited who never joined', () => {
  it('sends a fresh invitation instead (the old one dies); a deactivated account gets nothing', async () => {
    const INVITE = `mutation ($input: InviteUserInput!) { inviteUser(input: $input) { invitation { id } } }`;
    const to = `invited-${Date.now()}@example.com`;
    await server.gql(INVITE, { input: { email: to, name: 'Ivy Invited' } }, { token: t.owner.token });
    const first = tokenOf(await waitForMail(mock, to, 1));
    expect((await server.gql(REQUEST, { slug: t.tenant.slug, email: to })).data).toEqual({ requestPasswordReset: true });
    const mail = await waitForMail(mock, to, 2);
    expect(mail.links[0]).toMatch(/\/accept-invitation\?token=inv_/);
    expect(errorCode(await server.gql(`mutation ($t: String!) { acceptInvitation(token: $t, password: "first-link-pw") { accessToken } }`, { t: first }))).toBe('INVALID_TOKEN');
    expect((await server.gql(`mutation ($t: String!) { acceptInvitation(token: $t, password: "second-link-pw") { user { status } } }`, { t: tokenOf(mail) })).data.acceptInvitation.user.status).toBe('ACTIVE');

    const gone = await t.user('MEMBER');
    await server.gql(`mutation ($id: UUID!) { deactivateUser(id: $id) { id } }`, { id: gone.user.id }, { token: t.owner.token });
    expect((await server.gql(REQUEST, { slug: t.tenant.slug, email: gone.user.email })).data).toEqual({ requestPasswordReset: true });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await mailbox(mock, gone.user.email)).toHaveLength(0);
  });

  it('an invitation an ADMIN revoked is not sent again by a reset request: only an ADMIN\'s new invitation undoes it', async () => {
    const to = `revoked-${Date.now()}@example.com`;
    const invitation = (await server.gql(INVITE, { input: { email: to, name: 'Rex Revoked' } }, { token: t.owner.token })).data.inviteUser.invitation;
    await waitForMail(mock, to, 1);
    expect((await server.gql('mutation ($id: UUID!) { revokeInvitation(id: $id) { status } }', { id: invitation.id }, { token: t.owner.token })).data.revokeInvitation.status).toBe('REVOKED');
    expect((await server.gql(REQUEST, { slug: t.tenant.slug, email: to })).data).toEqual({ requestPasswordReset: true });
    await expect(waitForMail(mock, to, 2, 5000)).rejects.toThrow(); // the first invitation only
    await server.gql('mutation ($id: UUID!) { resendInvitation(userId: $id) { invitation { id } } }', { id: invitation.user.id }, { token: t.owner.token });
    await waitForMail(mock, to, 2);
    expect((await server.gql(REQUEST, { slug: t.tenant.slug, email: to })).data).toEqual({ requestPasswordReset: true });
    expect((await waitForMail(mock, to, 3)).links[0]).toMatch(/\/accept-invitation\?token=inv_/); // resent by an ADMIN: a reset sends a fresh one again
  });
});

describe('email change', () => {
  const CHANGE = `mutation ($e: EmailAddress!, $p: String!) { requestEmailChange(newEmail: $e, currentPassword: $p) }`;
  const CONFIRM = `mutation ($token: String!) { confirmEmailChange(token: $token) }`;

  it('takes effect only when the new address confirms; the old address is told', async () => {
    const u = await t.user('VIEWER');
    const next = `new-${Date.now()}@example.com`;
    expect(errorCode(await server.gql(CHANGE, { e: next, p: 'wrong-password' }, { token: u.token }))).toBe('BAD_USER_INPUT');
    expect((await server.gql(CHANGE, { e: next, p: PASSWORD }, { token: u.token })).data).toEqual({ requestEmailChange: true });
    const mail = await waitForMail(mock, next);
    expect(mail.links[0]).toMatch(/\/confirm-email\?token=eml_/);
    // Not yet: the old address still logs in, the new one doesn't.
    expect((await login(u.user.email)).errors).toBeUndefined();
    expect(errorCode(await login(next))).toBe('UNAUTHENTICATED');
    expect((await server.gql(CONFIRM, { token: tokenOf(mail) })).data).toEqual({ confirmEmailChange: true });
    expect((await login(next)).errors).toBeUndefined();
    expect(errorCode(await login(u.user.email))).toBe('UNAUTHENTICATED');
    const notice = await waitForMail(mock, u.user.email);
    expect(notice.subject).toMatch(/changed/i);
    expect(notice.text).toContain(next);
    expect(notice.links).toHaveLength(0);
    expect(errorCode(await server.gql(CONFIRM, { token: tokenOf(mail) }))).toBe('INVALID_TOKEN');
  });

  it('an address taken in the tenant is a CONFLICT; anonymous callers are refused', async () => {
    const u = await t.user('MEMBER');
    const other = await t.user('MEMBER');
    expect(errorCode(await server.gql(CHANGE, { e: other.user.email, p: PASSWORD }, { token: u.token }))).toBe('CONFLICT');
    expect(errorCode(await server.gql(CHANGE, { e: 'x@example.com', p: PASSWORD }))).toBe('UNAUTHENTICATED');
  });
});

describe('one\'s own sign-in details', () => {
  const CHANGE_PASSWORD = `mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
  const UPDATE = `mutation ($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { name email } }`;

  it('change only through the flows that prove it is you: updateUser refuses one\'s own email and password (BAD_USER_INPUT, nothing changed); the name still goes', async () => {
    const u = await t.user('ADMIN');
    const inputs = [{ email: `grab-${Date.now()}@example.com` }, { password: 'chosen-by-a-token-thief' }, { name: 'Both', email: `grab2-${Date.now()}@example.com`, password: 'chosen-by-a-token-thief' }];
    // The id as sent, or in upper case (the same uuid to Postgres).
    for (const [input, id] of inputs.flatMap((input) => [[input, u.user.id], [input, u.user.id.toUpperCase()]] as const)) {
      const res = await server.gql(UPDATE, { id, input }, { token: u.token });
      expect(errorCode(res), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect((res.errors![0]!.extensions!.fields as { field: string }[]).map((f: { field: string }) => f.field)).toEqual(Object.keys(input).filter((k) => k !== 'name'));
    }
    expect((await login(u.user.email)).errors).toBeUndefined(); // password unchanged
    const [row] = await server.ownerSql<{ email: string; name: string }[]>`select email, name from users where id = ${u.user.id}`;
    expect(row!.email).toBe(u.user.email);
    expect((await server.gql(UPDATE, { id: u.user.id, input: { name: 'Renamed Myself' } }, { token: u.token })).data.updateUser.name).toBe('Renamed Myself');
  });

  it('changePassword needs the current password; it ends every other session (their sockets close), this one stays', async () => {
    const u = await t.user('MEMBER');
    const here = (await login(u.user.email)).data.login;
    const elsewhere = (await login(u.user.email)).data.login;
    let closedWith: number | undefined;
    const client = connectWs(server.url, elsewhere.accessToken, { onClosed: (code) => (closedWith = code) });
    const sub = subscribe(client, 'subscription { heartbeat(intervalSeconds: 1) }');
    await sub.waitFor(() => true, 10_000);

    const wrong = await server.gql(CHANGE_PASSWORD, { c: 'not-my-password', n: 'a-brand-new-password' }, { token: here.accessToken });
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect(wrong.errors![0]!.extensions!.fields).toEqual([{ field: 'currentPassword', message: 'Incorrect password' }]);
    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'short' }, { token: here.accessToken }))).toBe('BAD_USER_INPUT');
    expect((await login(u.user.email)).errors).toBeUndefined(); // still the old one

    expect((await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a-brand-new-password' }, { token: here.accessToken })).data).toEqual({ changePassword: true });
    expect(errorCode(await login(u.user.email))).toBe('UNAUTHENTICATED');
    expect((await login(u.user.email, 'a-brand-new-password')).errors).toBeUndefined();
    expect(errorCode(await server.gql(REFRESH, { r: elsewhere.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql('{ me { id } }', {}, { token: elsewhere.accessToken }))).toBe('UNAUTHENTICATED');
    await waitFor(() => closedWith, { timeoutMs: 5000, message: 'the other session\'s socket to close' });
    expect(closedWith).toBe(4403);
    await client.dispose();
    expect((await server.gql('{ me { id } }', {}, { token: here.accessToken })).data.me.id).toBe(u.user.id);
    expect((await server.gql(REFRESH, { r: here.refreshToken })).errors).toBeUndefined();
    // Anonymous callers and API keys have no password to change.
    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a-brand-new-password' }))).toBe('UNAUTHENTICATED');
    const key = (await server.gql('mutation { createApiKey(input: { name: "k", role: VIEWER }) { key } }', {}, { token: t.owner.token })).data.createApiKey.key;
    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a-brand-new-password' }, { token: key }))).toBe('FORBIDDEN');
  });

  it('an ADMIN changing someone\'s email kills the links already mailed to the old address (reset, invitation)', async () => {
    const u = await t.user('MEMBER');
    await server.gql(REQUEST, { slug: t.tenant.slug, email: u.user.email });
    const reset = tokenOf(await waitForMail(mock, u.user.email));
    const mistyped = `mistyped-${Date.now()}@example.com`;
    const invited = await server.gql(INVITE, { input: { email: mistyped, name: 'Typo', role: 'ADMIN' } }, { token: t.owner.token });
    const invitation = tokenOf(await waitForMail(mock, mistyped));
    for (const [id, email] of [[u.user.id, `moved-${Date.now()}@example.com`], [invited.data.inviteUser.invitation.user.id, `corrected-${Date.now()}@example.com`]] as const) {
      expect((await server.gql(UPDATE, { id, input: { email } }, { token: t.owner.token })).errors).toBeUndefined();
    }
    expect(errorCode(await server.gql(RESET, { token: reset, pw: 'held-by-the-old-mailbox' }))).toBe('INVALID_TOKEN');
    expect(errorCode(await server.gql(ACCEPT, { token: invitation, password: 'held-by-the-old-mailbox' }))).toBe('INVALID_TOKEN');
    expect(errorCode(await login(u.user.email))).toBe('UNAUTHENTICATED'); // the old address no longer logs in
  });

  it('a password an ADMIN sets for someone else ends that user\'s sessions, as a reset does', async () => {
    const admin = await t.user('ADMIN');
    const u = await t.user('MEMBER');
    const session = (await login(u.user.email)).data.login;
    expect((await server.gql(UPDATE, { id: u.user.id, input: { password: 'set-by-the-admin-pw' } }, { token: admin.token })).errors).toBeUndefined();
    expect(errorCode(await server.gql(REFRESH, { r: session.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql('{ me { id } }', {}, { token: session.accessToken }))).toBe('UNAUTHENTICATED');
    expect((await login(u.user.email, 'set-by-the-admin-pw')).errors).toBeUndefined();
  });
});

describe('the tenant by host and X-Tenant header', () => {
  it('login: tenantSlug, else X-Tenant, else <slug>.TENANT_BASE_DOMAIN; a malformed header is refused, never skipped', async () => {
    const other = await server.seed.tenant();
    const email = t.owner.user.email;
    expect((await login(email, PASSWORD, { 'x-tenant': t.tenant.slug }, null)).errors).toBeUndefined();
    expect((await login(email, PASSWORD, { host: `${t.tenant.slug}.tessera.test` }, null)).errors).toBeUndefined();
    expect((await login(email, PASSWORD, { host: `${t.tenant.slug.toUpperCase()}.Tessera.Test:4000` }, null)).errors).toBeUndefined();
    // Precedence: the argument over the header over the host.
    expect((await login(email, PASSWORD, { 'x-tenant': other.tenant.slug, host: `${other.tenant.slug}.tessera.test` }, t.tenant.slug)).errors).toBeUndefined();
    expect((await login(email, PASSWORD, { 'x-tenant': t.tenant.slug, host: `${other.tenant.slug}.tessera.test` }, null)).errors).toBeUndefined();
    expect(errorCode(await login(email, PASSWORD, { 'x-tenant': other.tenant.slug, host: `${t.tenant.slug}.tessera.test` }, null))).toBe('UNAUTHENTICATED');
    // Nothing names a tenant: the argument is required.
    expect(errorCode(await login(email, PASSWORD, {}, null))).toBe('BAD_USER_INPUT');
    expect(errorCode(await login(email, PASSWORD, { host: 'tessera.test' }, null))).toBe('BAD_USER_INPUT');
    expect(errorCode(await login(email, PASSWORD, { host: `a.${t.tenant.slug}.tessera.test` }, null))).toBe('BAD_USER_INPUT');
    expect(errorCode(await login(email, PASSWORD, { host: `${t.tenant.slug}.evil.test` }, null))).toBe('BAD_USER_INPUT');
    for (const bad of ['', ' ', '../demo', 'a'.repeat(41), 'x,y', "demo' --"]) {
      expect(errorCode(await login(email, PASSWORD, { 'x-tenant': bad, host: `${t.tenant.slug}.tessera.test` }, null)), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
  });

  it('password reset names its tenant by header or host too', async () => {
    const u = await t.user('MEMBER');
    expect((await gqlAt({ host: `${t.tenant.slug}.tessera.test` }, REQUEST, { email: u.user.email })).data).toEqual({ requestPasswordReset: true });
    await waitForMail(mock, u.user.email, 1);
    expect((await server.gql(REQUEST, { email: u.user.email }, { headers: { 'x-tenant': t.tenant.slug } })).data).toEqual({ requestPasswordReset: true });
    await waitForMail(mock, u.user.email, 2);
    expect(errorCode(await server.gql(REQUEST, { email: u.user.email }))).toBe('BAD_USER_INPUT');
  });

  it('an authenticated request ignores the address: its tenant is the token’s', async () => {
    const other = await server.seed.tenant();
    const me = await server.gql('{ me { id } }', {}, { token: t.owner.token, headers: { 'x-tenant': other.tenant.slug, host: `${other.tenant.slug}.tessera.test` } });
    expect(me.data.me.id).toBe(t.owner.user.id);
  });
});

describe('rate limits on requestPasswordReset', () => {
  it('per email (from any IP) and per IP', async () => {
    const tight = await startTestServer({ env: { RATE_LIMIT_PASSWORD_RESET_EMAIL_MAX: '2', RATE_LIMIT_PASSWORD_RESET_IP_MAX: '5', TRUST_PROXY: 'loopback' } });
    try {
      const tt = await tight.seed.tenant();
      const ask = (email: string, ip: string) => tight.gql(REQUEST, { slug: tt.tenant.slug, email }, { headers: { 'x-forwarded-for': ip } });
      expect((await ask('a@x.test', '10.0.0.1')).data).toEqual({ requestPasswordReset: true });
      expect((await ask('A@x.test', '10.0.0.2')).data).toEqual({ requestPasswordReset: true });
      const third = await ask('a@x.test', '10.0.0.3'); // same email, third IP
      expect(errorCode(third)).toBe('RATE_LIMITED');
      expect(third.status).toBe(429);
      // Per IP: 5 different emails, then the 6th is refused.
      for (let i = 0; i < 4; i++) expect((await ask(`p${i}@x.test`, '10.0.0.9')).data).toEqual({ requestPasswordReset: true });
      expect((await ask('p4@x.test', '10.0.0.9')).data).toEqual({ requestPasswordReset: true });
      expect(errorCode(await ask('p5@x.test', '10.0.0.9'))).toBe('RATE_LIMITED');
    } finally {
      await tight.close();
    }
  });
});
