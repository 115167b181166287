import crypto from 'node:crypto';
import { SignJWT, generateKeyPair, exportJWK, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type SeededTenant } from './helpers/seed.js';
import { errorCode, OPERATOR, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let t: SeededTenant;

const LOGIN = `mutation($s: String!, $e: EmailAddress!, $p: String!) {
  login(input: { tenantSlug: $s, email: $e, password: $p }) { accessToken refreshToken accessTokenExpiresAt user { id email role } } }`;
const REFRESH = 'mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }';
const ME = '{ me { id } }';

beforeAll(async () => {
  server = await startTestServer();
  t = await server.seed.tenant();
});
afterAll(() => server.close());

const login = (email = t.owner.user.email, password = PASSWORD, slug = t.tenant.slug) => server.gql(LOGIN, { s: slug, e: email, p: password });

/** Builds a token with our claims but whatever header/key the attacker chooses. */
function claims(over: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub: t.owner.user.id, tid: t.tenant.id, role: 'OWNER', iss: server.app.config.JWT_ISSUER, aud: server.app.config.JWT_AUDIENCE, iat: now, exp: now + 600, jti: crypto.randomUUID(), ...over };
}
async function signWithOurKey(payload: Record<string, unknown>, typ = 'at+jwt') {
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ, kid: server.app.keys.kid }).sign(server.app.keys.privateKey);
}

describe('login, refresh, logout', () => {
  it('logs in, uses the access token, rotates the refresh token and logs out', async () => {
    const res = await login();
    expect(res.errors).toBeUndefined();
    const { accessToken, refreshToken, user } = res.data.login;
    expect(user).toMatchObject({ email: t.owner.user.email, role: 'OWNER' });
    expect((await server.gql(ME, {}, { token: accessToken })).data.me.id).toBe(user.id);
    const refreshed = await server.gql(REFRESH, { r: refreshToken });
    expect(refreshed.data.refreshSession.refreshToken).not.toBe(refreshToken);
    const [{ hash }] = (await server.ownerSql`select token_hash as hash from refresh_tokens where user_id = ${user.id} limit 1`) as unknown as [{ hash: string }];
    expect(hash).toMatch(/^[0-9a-f]{64}$/); // stored hashed, never the token itself
    expect(hash).not.toContain(refreshToken.slice(-20));
    const out = await server.gql('mutation($r: String!) { logout(refreshToken: $r) }', { r: refreshed.data.refreshSession.refreshToken });
    expect(out.data.logout).toBe(true);
    expect(errorCode(await server.gql(REFRESH, { r: refreshed.data.refreshSession.refreshToken }))).toBe('UNAUTHENTICATED');
  });

  it('login is case-insensitive on email and slug', async () => {
    expect((await login(t.owner.user.email.toUpperCase(), PASSWORD, t.tenant.slug.toUpperCase())).errors).toBeUndefined();
  });

  it.each([
    ['wrong password', () => login(undefined, 'not-the-password')],
    ['unknown email', () => login('nobody@nowhere.test')],
    ['unknown tenant', () => login(undefined, undefined, 'no-such-tenant')],
    ['user of another tenant', async () => login((await server.seed.tenant()).owner.user.email)],
  ])('%s → UNAUTHENTICATED with one indistinguishable message', async (_n, attempt) => {
    const res = await attempt();
    expect(res.status).toBe(200);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.errors![0]!.message).toBe('Invalid tenant, email or password');
  });

  it('an invited user (no password yet) cannot log in', async () => {
    const invited = await server.gql('mutation { createUser(input: { email: "invitee@x.test", name: "Invitee" }) { status } }', {}, { token: t.owner.token });
    expect(invited.data.createUser.status).toBe('INVITED');
    expect(errorCode(await login('invitee@x.test', ''))).toBe('UNAUTHENTICATED');
  });

  it('reusing a rotated refresh token revokes the whole family', async () => {
    const first = (await login()).data.login.refreshToken;
    const second = (await server.gql(REFRESH, { r: first })).data.refreshSession.refreshToken;
    const replay = await server.gql(REFRESH, { r: first });
    expect(errorCode(replay)).toBe('UNAUTHENTICATED');
    expect(replay.errors![0]!.message).toMatch(/reuse/);
    // The legitimate holder's newer token is dead too.
    expect(errorCode(await server.gql(REFRESH, { r: second }))).toBe('UNAUTHENTICATED');
  });

  it('concurrent refreshes with one token: at most one wins', async () => {
    const token = (await login()).data.login.refreshToken;
    const results = await Promise.all(Array.from({ length: 5 }, () => server.gql(REFRESH, { r: token })));
    expect(results.filter((r) => !r.errors).length).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.status === 200)).toBe(true);
  });

  it('concurrent replays of one token: when reuse is detected, the winner\'s new tokens are dead too (no token outlives the ended session)', async () => {
    for (let trial = 0; trial < 8; trial++) {
      const token = (await login()).data.login.refreshToken;
      const results = await Promise.all(Array.from({ length: 3 }, () => server.gql(REFRESH, { r: token })));
      const winners = results.filter((r) => !r.errors);
      const reused = results.some((r) => /reuse/.test(r.errors?.[0]?.message ?? ''));
      if (!reused) continue;
      for (const w of winners) {
        expect(errorCode(await server.gql(REFRESH, { r: w.data.refreshSession.refreshToken })), `trial ${trial}`).toBe('UNAUTHENTICATED');
        expect(errorCode(await server.gql('{ me { id } }', {}, { token: w.data.refreshSession.accessToken })), `trial ${trial}`).toBe('UNAUTHENTICATED');
      }
    }
  });

  it.each([['garbage'], ['rt_not-a-uuid_xxx'], [`rt_${crypto.randomUUID()}_${'A'.repeat(43)}`]])('malformed or unknown refresh token %s → UNAUTHENTICATED', async (r) => {
    expect(errorCode(await server.gql(REFRESH, { r }))).toBe('UNAUTHENTICATED');
  });
});

describe('access tokens: every forgery is UNAUTHENTICATED, never a 500', () => {
  const cases: [string, () => Promise<string>][] = [
    ['expired', () => signWithOurKey(claims({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }))],
    ['no exp', async () => { const { exp: _e, ...c } = claims(); return signWithOurKey(c); }],
    ['signed by another key', async () => {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      return new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: server.app.keys.kid }).sign(privateKey);
    }],
    ['alg none', async () => new UnsecuredJWT(claims()).encode()],
    ['HS256 signed with the public key', async () => {
      const pub = await exportJWK(server.app.keys.publicKey);
      return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode(JSON.stringify(pub)));
    }],
    ['wrong audience', () => signWithOurKey(claims({ aud: 'someone-else' }))],
    ['wrong issuer', () => signWithOurKey(claims({ iss: 'https://evil.test' }))],
    ['wrong typ (an id token)', () => signWithOurKey(claims(), 'JWT')],
    ['unknown role claim', () => signWithOurKey(claims({ role: 'SUPERUSER' }))],
    ['a refresh token used as access token', async () => (await login()).data.login.refreshToken],
    ['tampered payload', async () => {
      const [h, , s] = (await signWithOurKey(claims())).split('.');
      return [h, Buffer.from(JSON.stringify(claims({ role: 'OWNER', sub: crypto.randomUUID() }))).toString('base64url'), s].join('.');
    }],
  ];
  it.each(cases)('%s', async (_name, make) => {
    const res = await server.gql(ME, {}, { token: await make() });
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });

  it('a malformed Authorization header is UNAUTHENTICATED', async () => {
    const res = await server.gql(ME, {}, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });

  it('a platform operator token is not a tenant token', async () => {
    const op = await server.gql('mutation($e: EmailAddress!, $p: String!) { platformLogin(email: $e, password: $p) { accessToken } }', { e: OPERATOR.email, p: OPERATOR.password });
    const res = await server.gql(ME, {}, { token: op.data.platformLogin.accessToken });
    expect(errorCode(res)).toBe('FORBIDDEN');
  });
});

describe('account and tenant state is checked on every request', () => {
  it('a deactivated user is refused even with a valid token, and their refresh tokens die', async () => {
    const u = await t.user('MEMBER');
    const session = (await login(u.user.email)).data.login;
    await server.gql('mutation($id: UUID!) { deactivateUser(id: $id) { status } }', { id: u.user.id }, { token: t.owner.token });
    expect(errorCode(await server.gql(ME, {}, { token: session.accessToken }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(REFRESH, { r: session.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await login(u.user.email))).toBe('UNAUTHENTICATED');
  });

  it('a suspended tenant is refused with FORBIDDEN (TENANT_SUSPENDED), and works again once reactivated', async () => {
    const s = await server.seed.tenant();
    const session = (await server.gql(LOGIN, { s: s.tenant.slug, e: s.owner.user.email, p: PASSWORD })).data.login;
    await server.ownerSql`update tenants set status = 'SUSPENDED' where id = ${s.tenant.id}`;
    const res = await server.gql(ME, {}, { token: session.accessToken });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(res.errors![0]!.extensions!.reason).toBe('TENANT_SUSPENDED');
    expect(errorCode(await server.gql(LOGIN, { s: s.tenant.slug, e: s.owner.user.email, p: PASSWORD }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(REFRESH, { r: session.refreshToken }))).toBe('UNAUTHENTICATED');
    await server.ownerSql`update tenants set status = 'ACTIVE' where id = ${s.tenant.id}`;
    expect((await server.gql(ME, {}, { token: session.accessToken })).data.me.id).toBe(s.owner.user.id);
  });
});
