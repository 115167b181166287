/**
 * Single sign-on with SAML 2.0 (issue 14) against a real SAML identity provider (samlify as IdP
 * inside the mock services), driven like a browser over real HTTP: the AuthnRequest redirect, the
 * IdP's auto-posting form, the ACS. Connections through GraphQL (metadata or fields, certificates
 * checked, SP metadata served), just-in-time accounts with role mapping, linking, IdP-initiated
 * sign-ins (off by default), and the attacks: wrong audience, expired or not yet valid, unsigned or
 * wrongly signed, signature wrapping, replay (also through a second server), another SP's or
 * another ACS's response, unknown or mismatched InResponseTo, tenant A's sign-in at tenant B's ACS,
 * a disabled connection. Each refused with a stable code in the redirect, and nothing written.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockServices } from '../src/mock-services/server.js';
import type { SeededTenant } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startSsoServers } from './helpers/sso.js';
import { authnRequestId, autoPostForm, decode, editResponse, forgeResponse, otherSigningKey, sign, type ForgeOptions, type SamlPost } from './helpers/saml.js';

let server: TestServer;
let mock: MockServices;
let appUrl: string;
let close: (() => Promise<void>) | undefined;
beforeAll(async () => {
  ({ server, mock, appUrl, close } = await startSsoServers());
});
afterAll(() => close?.());

const FIELDS = 'id protocol name enabled spEntityId acsUrl spMetadataUrl redirectUri startUrl idpEntityId idpSsoUrl idpCertificates { subject notBefore notAfter fingerprintSha256 pem } allowIdpInitiated clockSkewSeconds defaultRole roleClaim roleMapping { value role }';
const CREATE = `mutation($i: CreateSamlConnectionInput!) { createSamlConnection(input: $i) { ${FIELDS} } }`;
const UPDATE = `mutation($id: UUID!, $i: UpdateSsoConnectionInput!) { updateSsoConnection(id: $id, input: $i) { ${FIELDS} } }`;
const EXCHANGE = 'mutation($c: String!) { exchangeSsoCode(code: $c) { accessToken refreshToken user { id email role } } }';

async function connect(t: SeededTenant, extra: Record<string, unknown> = {}, token = t.owner.token) {
  const res = await server.gql(CREATE, { i: { name: `SAML ${crypto.randomBytes(3).toString('hex')}`, idpMetadataXml: await mock.saml.metadata(), ...extra } }, { token });
  return { res, conn: res.data?.createSamlConnection };
}

const startUrl = (slug: string, connectionId: string, email?: string) => `${server.url}/auth/sso/start?tenant=${slug}&connection=${connectionId}${email ? `&login_hint=${encodeURIComponent(email)}` : ''}`;

/** Follows redirects (as a browser) until the IdP's auto-posting page, and returns its form. */
async function idpForm(start: string): Promise<SamlPost> {
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      continue;
    }
    const html = await res.text();
    const form = autoPostForm(html);
    if (!form) throw new Error(`${url} answered ${res.status} with no redirect and no SAML form: ${html.slice(0, 300)}`);
    return form;
  }
  throw new Error('too many redirects');
}

/** Where Tessera's AuthnRequest redirect points (not followed): the request id it is waiting for. */
async function outstandingRequest(slug: string, connectionId: string): Promise<string> {
  const res = await fetch(startUrl(slug, connectionId), { redirect: 'manual' });
  expect(res.status).toBe(302);
  return authnRequestId(res.headers.get('location')!);
}

/** Posts a form to an ACS as the IdP's page would; returns the frontend redirect's code or error. */
async function postToAcs(form: SamlPost, acs = form.acs): Promise<{ code: string | null; error: string | null }> {
  const res = await fetch(acs, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: form.SAMLResponse, ...(form.RelayState ? { RelayState: form.RelayState } : {}) }).toString(),
  });
  expect(res.status).toBe(302);
  const landed = new URL(res.headers.get('location')!);
  expect(landed.origin + landed.pathname).toBe(`${appUrl}/sso/callback`);
  return { code: landed.searchParams.get('code'), error: landed.searchParams.get('error') };
}

async function signIn(slug: string, connectionId: string, email: string) {
  return postToAcs(await idpForm(startUrl(slug, connectionId, email)));
}

const exchange = (code: string) => server.gql(EXCHANGE, { c: code });

const account = (email: string, extra: Partial<{ email_verified: boolean; groups: string[]; name: string }> = {}) =>
  mock.saml.addAccount({ email, email_verified: true, name: 'Dana Example', groups: [], ...extra });

describe('SAML connections (GraphQL)', () => {
  it('an OWNER creates one from the IdP’s metadata: our SP entity id, ACS URL and metadata are shown and served; the connection tests ok', async () => {
    const t = await server.seed.tenant();
    const { res, conn } = await connect(t);
    expect(res.errors).toBeUndefined();
    const base = `${server.url}/auth/sso/saml/${t.tenant.id}/${conn.id}`;
    expect(conn).toMatchObject({
      protocol: 'SAML',
      enabled: true,
      spEntityId: `${base}/metadata`,
      acsUrl: `${base}/acs`,
      spMetadataUrl: `${base}/metadata`,
      redirectUri: `${base}/acs`,
      startUrl: `${server.url}/auth/sso/start?tenant=${t.tenant.slug}&connection=${conn.id}`,
      idpEntityId: mock.saml.entityId,
      idpSsoUrl: `${mock.saml.entityId}/sso`,
      allowIdpInitiated: false,
      clockSkewSeconds: 60,
      defaultRole: 'MEMBER',
    });
    const { cert } = await mock.saml.signing();
    expect(conn.idpCertificates).toHaveLength(1);
    expect(conn.idpCertificates[0].pem.replace(/\s/g, '')).toBe(cert.replace(/\s/g, ''));
    expect(conn.idpCertificates[0].subject).toContain('Tessera mock SAML IdP');
    const metadata = await fetch(conn.spMetadataUrl);
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await metadata.text();
    expect(xml).toContain(`entityID="${conn.spEntityId}"`);
    expect(xml).toContain(`Location="${conn.acsUrl}"`);
    expect(xml).toContain('WantAssertionsSigned="true"');
    const test = await server.gql('mutation($id: UUID!) { testSsoConnection(id: $id) { ok issuer message } }', { id: conn.id }, { token: t.owner.token });
    expect(test.data.testSsoConnection).toEqual({ ok: true, issuer: mock.saml.entityId, message: null });
    // Unknown connections' metadata: 404, as for another tenant's id in the path.
    expect((await fetch(`${server.url}/auth/sso/saml/${t.tenant.id}/${crypto.randomUUID()}/metadata`)).status).toBe(404);
    const other = await server.seed.tenant();
    expect((await fetch(`${server.url}/auth/sso/saml/${other.tenant.id}/${conn.id}/metadata`)).status).toBe(404);
  });

  it('or from the three fields; fields beside metadata override it; updates replace the certificates', async () => {
    const t = await server.seed.tenant();
    const { cert } = await mock.saml.signing();
    const { res, conn } = await connect(t, { idpMetadataXml: null, idpEntityId: mock.saml.entityId, idpSsoUrl: `${mock.saml.entityId}/sso`, idpCertificates: [cert], clockSkewSeconds: 30, allowIdpInitiated: true });
    expect(res.errors).toBeUndefined();
    expect(conn).toMatchObject({ idpEntityId: mock.saml.entityId, clockSkewSeconds: 30, allowIdpInitiated: true });
    const over = await connect(t, { idpSsoUrl: 'https://idp.example/sso' });
    expect(over.conn.idpSsoUrl).toBe('https://idp.example/sso');
    const other = await otherSigningKey();
    const updated = await server.gql(UPDATE, { id: conn.id, i: { idpCertificates: [cert, other.cert] } }, { token: t.owner.token });
    expect(updated.errors).toBeUndefined();
    expect(updated.data.updateSsoConnection.idpCertificates).toHaveLength(2);
    // test-connection: an expired certificate alone fails; beside a valid one it is a warning.
    const expired = await otherSigningKey({ notBeforeDate: new Date(Date.now() - 2 * 86_400_000), notAfterDate: new Date(Date.now() - 86_400_000) });
    const TEST = 'mutation($id: UUID!) { testSsoConnection(id: $id) { ok issuer message } }';
    await server.gql(UPDATE, { id: conn.id, i: { idpCertificates: [expired.cert] } }, { token: t.owner.token });
    const failed = (await server.gql(TEST, { id: conn.id }, { token: t.owner.token })).data.testSsoConnection;
    expect(failed).toMatchObject({ ok: false, issuer: mock.saml.entityId });
    expect(failed.message).toMatch(/No certificate is valid now.*expired on/);
    await server.gql(UPDATE, { id: conn.id, i: { idpCertificates: [cert, expired.cert] } }, { token: t.owner.token });
    const warned = (await server.gql(TEST, { id: conn.id }, { token: t.owner.token })).data.testSsoConnection;
    expect(warned.ok).toBe(true);
    expect(warned.message).toMatch(/expired on/);
  });

  it('bad input is BAD_USER_INPUT by field, never a 500: malformed metadata, a bad certificate, missing settings, OIDC settings on a SAML connection', async () => {
    const t = await server.seed.tenant();
    const fieldsOf = (r: { errors?: any[] }) => {
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      return (r.errors![0].extensions.fields as { field: string; message: string }[]).map((f) => f.field);
    };
    for (const xml of ['<EntityDescriptor', 'not xml at all', '<x/>', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor/></md:EntityDescriptor>']) {
      expect(fieldsOf((await connect(t, { idpMetadataXml: xml })).res)).toEqual(['idpMetadataXml']);
    }
    const badCert = await connect(t, { idpMetadataXml: null, idpEntityId: 'x', idpSsoUrl: 'https://idp.example/sso', idpCertificates: ['-----BEGIN CERTIFICATE-----\nMIIBnotacert\n-----END CERTIFICATE-----'] });
    expect(fieldsOf(badCert.res)).toEqual(['idpCertificates.0']);
    expect((badCert.res.errors![0]!.extensions!.fields as { message: string }[])[0]!.message).toMatch(/certificate/i);
    const missing = await connect(t, { idpMetadataXml: null, idpSsoUrl: 'javascript:alert(1)' });
    expect(fieldsOf(missing.res)).toEqual(['idpSsoUrl']);
    const none = await connect(t, { idpMetadataXml: null });
    expect(fieldsOf(none.res)).toEqual(expect.arrayContaining(['idpEntityId', 'idpSsoUrl', 'idpCertificates']));
    expect(fieldsOf((await connect(t, { clockSkewSeconds: 3600 })).res)).toEqual(['clockSkewSeconds']);
    const { conn } = await connect(t);
    expect(fieldsOf(await server.gql(UPDATE, { id: conn.id, i: { clientSecret: 'x', issuer: 'https://idp.example' } }, { token: t.owner.token }))).toEqual(['issuer', 'clientSecret']);
    const [row] = await server.ownerSql`select count(*)::int as n from sso_connections where tenant_id = ${t.tenant.id}`;
    expect(row!.n).toBe(1);
  });

  it('a MEMBER may not create one; an ADMIN may not map anyone to OWNER', async () => {
    const t = await server.seed.tenant();
    const member = await t.user('MEMBER');
    expect((await connect(t, {}, member.token)).res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await t.user('ADMIN');
    expect((await connect(t, { roleClaim: 'groups', roleMapping: [{ value: 'boss', role: 'OWNER' }] }, admin.token)).res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await connect(t, {}, admin.token)).res.errors).toBeUndefined();
  });
});

describe('SAML sign-in', () => {
  let t: SeededTenant;
  let connId: string;
  beforeAll(async () => {
    t = await server.seed.tenant();
    ({ conn: { id: connId } } = await connect(t, { roleClaim: 'groups', roleMapping: [{ value: 'tessera-admins', role: 'ADMIN' }, { value: 'readers', role: 'VIEWER' }] }));
  });

  it('a new person is created on first sign-in with the mapped role; the one-time code gives a session once; the next sign-in is the same user', async () => {
    const email = `dana-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email, { groups: ['readers', 'tessera-admins'], name: 'Dana Admin' });
    const { code, error } = await signIn(t.tenant.slug, connId, email);
    expect(error).toBeNull();
    expect(code).toMatch(new RegExp(`^ssoc_${t.tenant.id}_`));
    const session = await exchange(code!);
    expect(session.errors).toBeUndefined();
    expect(session.data.exchangeSsoCode.user).toMatchObject({ email, role: 'ADMIN' });
    const me = await server.gql('{ me { email name role status } }', {}, { token: session.data.exchangeSsoCode.accessToken });
    expect(me.data.me).toEqual({ email, name: 'Dana Admin', role: 'ADMIN', status: 'ACTIVE' });
    expect((await exchange(code!)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const again = await signIn(t.tenant.slug, connId, email);
    expect((await exchange(again.code!)).data.exchangeSsoCode.user.id).toBe(session.data.exchangeSsoCode.user.id);
    const [n] = await server.ownerSql`select count(*)::int as n from users where tenant_id = ${t.tenant.id} and lower(email) = ${email}`;
    expect(n!.n).toBe(1);
    // The request ids were consumed and the assertion ids recorded.
    const [flow] = await server.ownerSql`select (select count(*)::int from sso_saml_requests where connection_id = ${connId} and consumed_at is not null) as consumed, (select count(*)::int from sso_saml_assertions where connection_id = ${connId}) as assertions`;
    expect(flow).toMatchObject({ consumed: 2, assertions: 2 });
    const logs = await server.gql('{ auditLogs(first: 50) { edges { node { action entityType actorType actorId changes } } } }', {}, { token: t.owner.token });
    const entries = logs.data.auditLogs.edges.map((e: any) => e.node);
    expect(entries).toContainEqual(expect.objectContaining({ action: 'INSERT', entityType: 'sso_identities', actorType: 'SYSTEM', actorId: 'sso' }));
    expect(entries).toContainEqual(expect.objectContaining({ action: 'LOGIN_SUCCEEDED', changes: expect.objectContaining({ method: 'sso', connectionId: connId }) }));
  });

  it('an existing user is linked when the email is verified, and keeps their role; unverified: refused (SSO_EMAIL_NOT_VERIFIED), nothing linked', async () => {
    const existing = await t.user('VIEWER');
    account(existing.user.email, { groups: ['tessera-admins'] });
    const { code } = await signIn(t.tenant.slug, connId, existing.user.email);
    expect((await exchange(code!)).data.exchangeSsoCode.user).toEqual({ id: existing.user.id, email: existing.user.email, role: 'VIEWER' });
    const other = await t.user('MEMBER');
    account(other.user.email, { email_verified: false });
    expect(await signIn(t.tenant.slug, connId, other.user.email)).toEqual({ code: null, error: 'SSO_EMAIL_NOT_VERIFIED' });
    const [ids] = await server.ownerSql`select count(*)::int as n from sso_identities where user_id = ${other.user.id}`;
    expect(ids!.n).toBe(0);
  });

  it('the person picks their account on the IdP’s page when no hint is given', async () => {
    const email = `picker-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email);
    const redirect = await fetch(startUrl(t.tenant.slug, connId), { redirect: 'manual' });
    const page = await fetch(redirect.headers.get('location')!);
    const html = await page.text();
    expect(html).toContain(email);
    const action = /action="([^"]+)"/.exec(html)![1]!;
    const hidden = Object.fromEntries([...html.matchAll(/type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))]));
    const posted = await fetch(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...hidden, email }).toString() });
    const { code } = await postToAcs(autoPostForm(await posted.text())!);
    expect(code).toMatch(/^ssoc_/);
  });

  it('start by tenant slug and protocol when the tenant has one connection of each', async () => {
    const email = `proto-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email);
    const landed = await postToAcs(await idpForm(`${server.url}/auth/sso/start?tenant=${t.tenant.slug}&protocol=saml&login_hint=${encodeURIComponent(email)}`));
    expect(landed.code).toMatch(/^ssoc_/);
    const bad = await fetch(`${server.url}/auth/sso/start?tenant=${t.tenant.slug}&protocol=ldap`, { redirect: 'manual' });
    expect(new URL(bad.headers.get('location')!).searchParams.get('error')).toBe('SSO_BAD_REQUEST');
  });

  it('IdP-initiated sign-ins are refused by default (SSO_IDP_INITIATED_DISABLED) and accepted once the connection allows them', async () => {
    const email = `idpinit-${crypto.randomBytes(3).toString('hex')}@${t.tenant.slug}.test`;
    account(email);
    const { conn } = await connect(t);
    const initiate = () => idpForm(`${mock.saml.entityId}/initiate?sp=${encodeURIComponent(conn.spEntityId)}&email=${encodeURIComponent(email)}`);
    expect(await postToAcs(await initiate())).toEqual({ code: null, error: 'SSO_IDP_INITIATED_DISABLED' });
    await server.gql(UPDATE, { id: conn.id, i: { allowIdpInitiated: true } }, { token: t.owner.token });
    const form = await initiate();
    expect(decode(form.SAMLResponse)).not.toContain('InResponseTo');
    expect((await postToAcs(form)).code).toMatch(/^ssoc_/);
  });
});

describe('SAML attacks, each refused with a stable code and nothing written', () => {
  let t: SeededTenant;
  let conn: { id: string; spEntityId: string; acsUrl: string };
  let email: string;
  let victim: { sub: string };
  let idpKey: { privateKey: string; cert: string };
  beforeAll(async () => {
    t = await server.seed.tenant();
    ({ conn } = await connect(t));
    email = `victim@${t.tenant.slug}.test`;
    victim = account(email);
    idpKey = await mock.saml.signing();
  });

  const counts = async () => {
    const [row] = await server.ownerSql`select
      (select count(*)::int from sso_login_codes where tenant_id = ${t.tenant.id}) as codes,
      (select count(*)::int from sso_saml_assertions where tenant_id = ${t.tenant.id}) as assertions,
      (select count(*)::int from sso_identities where tenant_id = ${t.tenant.id}) as identities,
      (select count(*)::int from users where tenant_id = ${t.tenant.id}) as users`;
    return row!;
  };

  /** A Response to a real outstanding request of `conn`, signed with the IdP's key; `o` changes what an attack changes. */
  async function forged(o: Partial<ForgeOptions> = {}, target = conn): Promise<SamlPost> {
    const inResponseTo = await outstandingRequest(t.tenant.slug, target.id);
    const SAMLResponse = forgeResponse({ issuer: mock.saml.entityId, audience: target.spEntityId, recipient: target.acsUrl, destination: target.acsUrl, inResponseTo, nameId: victim.sub, email, sign: 'assertion', key: idpKey, ...o });
    return { acs: target.acsUrl, SAMLResponse };
  }

  async function refused(form: SamlPost, error: string, acs = form.acs) {
    const before = await counts();
    expect(await postToAcs(form, acs)).toEqual({ code: null, error });
    expect(await counts()).toEqual(before);
  }

  it('the forging helper is right: an untampered forged Response signs in (so each refusal below is the tampering’s)', async () => {
    expect((await postToAcs(await forged())).code).toMatch(/^ssoc_/);
    expect((await postToAcs(await forged({ sign: 'response', destination: conn.acsUrl }))).error).toBe('SSO_INVALID_RESPONSE'); // a signed Response around an unsigned assertion: the assertion must be signed
  });

  it('wrong audience', async () => {
    await refused(await forged({ audience: 'https://another-sp.example/metadata' }), 'SSO_INVALID_RESPONSE');
  });

  it('expired, and not yet valid (beyond the 60 s skew)', async () => {
    await refused(await forged({ notBefore: new Date(Date.now() - 20 * 60_000), notOnOrAfter: new Date(Date.now() - 10 * 60_000) }), 'SSO_INVALID_RESPONSE');
    await refused(await forged({ notBefore: new Date(Date.now() + 10 * 60_000), notOnOrAfter: new Date(Date.now() + 20 * 60_000) }), 'SSO_INVALID_RESPONSE');
  });

  it('within the skew it is accepted (the skew is configurable and small)', async () => {
    expect((await postToAcs(await forged({ notBefore: new Date(Date.now() + 20_000) }))).code).toMatch(/^ssoc_/);
  });

  it('unsigned, and signed with another key', async () => {
    await refused(await forged({ sign: 'none' }), 'SSO_INVALID_RESPONSE');
    await refused(await forged({ key: await otherSigningKey() }), 'SSO_INVALID_RESPONSE');
  });

  it('signature wrapping: an injected unsigned assertion beside the signed one; the signed one moved and a forged one in its place', async () => {
    const other = `intruder-${crypto.randomBytes(3).toString('hex')}`;
    const genuine = await idpForm(startUrl(t.tenant.slug, conn.id, email));
    const injected = editResponse(genuine.SAMLResponse, (doc) => {
      const signed = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Assertion')[0]!;
      const evil = signed.cloneNode(true) as Element;
      evil.setAttribute('ID', `_${crypto.randomUUID()}`);
      evil.removeChild(evil.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!);
      evil.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'NameID')[0]!.textContent = other;
      signed.parentNode!.insertBefore(evil, signed);
    });
    await refused({ ...genuine, SAMLResponse: injected }, 'SSO_INVALID_RESPONSE');
    const genuine2 = await idpForm(startUrl(t.tenant.slug, conn.id, email));
    const moved = editResponse(genuine2.SAMLResponse, (doc) => {
      const response = doc.documentElement!;
      const signed = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Assertion')[0]!;
      const evil = signed.cloneNode(true) as Element;
      evil.removeChild(evil.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!);
      evil.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'NameID')[0]!.textContent = other;
      // The signed assertion goes into an Extensions element (still verifiable by its ID); the forged one takes its place.
      const extensions = doc.createElementNS('urn:oasis:names:tc:SAML:2.0:protocol', 'samlp:Extensions');
      response.replaceChild(evil, signed);
      extensions.appendChild(signed);
      response.insertBefore(extensions, response.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:protocol', 'Status')[0]!);
    });
    await refused({ ...genuine2, SAMLResponse: moved }, 'SSO_INVALID_RESPONSE');
    // And a Response signature wrapping a forged, unsigned assertion: the assertion must carry its own.
    const genuine3 = await idpForm(startUrl(t.tenant.slug, conn.id, email));
    const resigned = editResponse(genuine3.SAMLResponse, (doc) => {
      const sig = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!;
      sig.parentNode!.removeChild(sig);
      doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'NameID')[0]!.textContent = other;
    });
    await refused({ ...genuine3, SAMLResponse: Buffer.from(sign(decode(resigned), 'Response', await otherSigningKey())).toString('base64') }, 'SSO_INVALID_RESPONSE');
    const [intruder] = await server.ownerSql`select count(*)::int as n from sso_identities where subject = ${other}`;
    expect(intruder!.n).toBe(0);
  });

  it('a comment inside the signed NameID or email (“admin@x.test<!---->.evil.example”, invisible to the signature): the whole value is read, never the part before the comment', async () => {
    const target = await t.user('ADMIN');
    const [local, domain] = target.user.email.split('@') as [string, string];
    const evilEmail = `${local}@${domain}.evil.example`;
    const targetIdentity = `${victim.sub}-target`;
    await server.ownerSql`insert into sso_identities (tenant_id, connection_id, subject, user_id) values (${t.tenant.id}, ${conn.id}, ${targetIdentity}, ${target.user.id})`;
    // The attacker's genuine, signed assertion (subject "<target's>.evil", email "…@domain.evil.example"), with
    // comments added after signing: exclusive c14n drops comments, so the signature still verifies.
    const form = await forged({ nameId: `${targetIdentity}.evil`, email: evilEmail });
    const xml = decode(form.SAMLResponse);
    const commented = xml.replace(`>${targetIdentity}.evil<`, `>${targetIdentity}<!---->.evil<`).replace(`>${evilEmail}<`, `>${local}@${domain}<!---->.evil.example<`);
    expect(commented.match(/<!---->/g)).toHaveLength(2);
    const { code, error } = await postToAcs({ ...form, SAMLResponse: Buffer.from(commented).toString('base64') });
    expect(error).toBeNull();
    const session = await server.gql(EXCHANGE, { c: code });
    expect(session.data.exchangeSsoCode.user.id).not.toBe(target.user.id);
    expect(session.data.exchangeSsoCode.user.email).toBe(evilEmail);
    const [linked] = await server.ownerSql`select count(*)::int as n from sso_identities where user_id = ${target.user.id}`;
    expect(linked!.n).toBe(1);
  });

  it('an empty NameID is refused, so people without one never share an identity; a transient NameID is not kept (each sign-in links by email)', async () => {
    const first = await t.user('MEMBER');
    const second = await t.user('MEMBER');
    for (const nameId of ['', '   ']) {
      await refused(await forged({ nameId, email: first.user.email }), 'SSO_INVALID_RESPONSE');
      await refused(await forged({ nameId, email: second.user.email }), 'SSO_INVALID_RESPONSE');
    }
    const transient = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
    for (const who of [first, second, first]) {
      const { code, error } = await postToAcs(await forged({ nameId: `_${crypto.randomUUID()}`, nameIdFormat: transient, email: who.user.email }));
      expect(error).toBeNull();
      expect((await server.gql(EXCHANGE, { c: code })).data.exchangeSsoCode.user.id).toBe(who.user.id);
    }
    const [kept] = await server.ownerSql`select count(*)::int as n from sso_identities where user_id in (${first.user.id}, ${second.user.id})`;
    expect(kept!.n).toBe(0);
  });

  it('a replayed Response: the second post is refused (the request was answered); an IdP-initiated one by its assertion id, across two server processes at once', async () => {
    const genuine = await idpForm(startUrl(t.tenant.slug, conn.id, email));
    expect((await postToAcs(genuine)).code).toMatch(/^ssoc_/);
    await refused(genuine, 'SSO_STATE_MISMATCH');
    // IdP-initiated (no request to consume): only the replay store stands between a copy and a second session.
    const { conn: open } = await connect(t, { allowIdpInitiated: true });
    const second = await startTestServer({ database: new URL(server.databaseUrl.owner).pathname.slice(1), env: { PUBLIC_URL: server.url, APP_URL: appUrl } });
    try {
      const form = await idpForm(`${mock.saml.entityId}/initiate?sp=${encodeURIComponent(open.spEntityId)}&email=${encodeURIComponent(email)}`);
      const secondAcs = form.acs.replace(server.url, second.url);
      const results = await Promise.all([postToAcs(form), postToAcs(form, secondAcs)]);
      expect(results.filter((r) => r.code).length).toBe(1);
      expect(results.map((r) => r.error).filter(Boolean)).toEqual(['SSO_ASSERTION_REPLAYED']);
      await refused(form, 'SSO_ASSERTION_REPLAYED', secondAcs);
    } finally {
      await second.close();
    }
  });

  it('a Response meant for another SP, for another ACS, to another Destination, or from another issuer', async () => {
    const { conn: sibling } = await connect(t);
    // The real IdP's Response for the sibling connection, posted here: it answers none of our requests.
    await refused(await idpForm(startUrl(t.tenant.slug, sibling.id, email)), 'SSO_STATE_MISMATCH', conn.acsUrl);
    // Answering our request, but addressed to the sibling SP in each way.
    await refused(await forged({ audience: sibling.spEntityId }), 'SSO_INVALID_RESPONSE');
    await refused(await forged({ recipient: sibling.acsUrl }), 'SSO_INVALID_RESPONSE');
    await refused(await forged({ destination: sibling.acsUrl }), 'SSO_INVALID_RESPONSE');
    await refused(await forged({ issuer: 'https://evil.example/saml' }), 'SSO_INVALID_RESPONSE');
  });

  it('an unknown or mismatched InResponseTo', async () => {
    await refused(await forged({ inResponseTo: `_${crypto.randomBytes(20).toString('hex')}` }), 'SSO_STATE_MISMATCH');
    await refused(await forged({ subjectInResponseTo: `_${crypto.randomBytes(20).toString('hex')}` }), 'SSO_INVALID_RESPONSE');
    // An expired request (10 minutes) is unknown too.
    const form = await forged();
    await server.ownerSql`update sso_saml_requests set expires_at = now() - interval '1 second' where tenant_id = ${t.tenant.id} and consumed_at is null`;
    await refused(form, 'SSO_STATE_MISMATCH');
  });

  it('tenant A’s sign-in posted to tenant B’s ACS, or with A’s connection under B’s tenant', async () => {
    const b = await server.seed.tenant();
    const { conn: bConn } = await connect(b);
    const form = await idpForm(startUrl(t.tenant.slug, conn.id, email));
    const bBefore = await server.ownerSql`select count(*)::int as n from sso_login_codes where tenant_id = ${b.tenant.id}`;
    await refused(form, 'SSO_STATE_MISMATCH', bConn.acsUrl);
    await refused(form, 'SSO_CONNECTION_NOT_FOUND', conn.acsUrl.replace(t.tenant.id, b.tenant.id));
    const bAfter = await server.ownerSql`select count(*)::int as n from sso_login_codes where tenant_id = ${b.tenant.id}`;
    expect(bAfter).toEqual(bBefore);
    // The genuine form still works where it belongs.
    expect((await postToAcs(form)).code).toMatch(/^ssoc_/);
  });

  it('XML attacks in the SAMLResponse: a DOCTYPE with entity expansion (billion laughs) or an external entity (XXE), even around a genuinely signed assertion', async () => {
    const lol = '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>';
    const xxe = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>';
    for (const [prolog, entity] of [[lol, '&e;'], [xxe, '&x;'], [lol.replace('<!DOCTYPE', '<!DocType'), '&e;']] as const) {
      const form = await forged();
      const xml = decode(form.SAMLResponse);
      expect(xml).toContain(`>${email}<`);
      // The entity used where the email would be read (the signature no longer matches, but the parse comes first).
      const attacked = prolog + xml.replace(`>${email}<`, `>${entity}<`);
      const started = Date.now();
      await refused({ ...form, SAMLResponse: Buffer.from(attacked).toString('base64') }, 'SSO_INVALID_RESPONSE');
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });

  it('a disabled connection; malformed posts', async () => {
    const { conn: gone } = await connect(t);
    const form = await idpForm(startUrl(t.tenant.slug, gone.id, email));
    await server.gql(UPDATE, { id: gone.id, i: { enabled: false } }, { token: t.owner.token });
    await refused(form, 'SSO_CONNECTION_NOT_FOUND');
    const start = await fetch(startUrl(t.tenant.slug, gone.id), { redirect: 'manual' });
    expect(new URL(start.headers.get('location')!).searchParams.get('error')).toBe('SSO_CONNECTION_NOT_FOUND');
    await refused({ acs: conn.acsUrl, SAMLResponse: Buffer.from('<not-saml/>').toString('base64') }, 'SSO_INVALID_RESPONSE');
    await refused({ acs: conn.acsUrl, SAMLResponse: Buffer.from('<<<').toString('base64') }, 'SSO_INVALID_RESPONSE');
    await refused({ acs: conn.acsUrl, SAMLResponse: '' }, 'SSO_BAD_REQUEST');
    await refused({ acs: `${server.url}/auth/sso/saml/not-a-tenant/x/acs`, SAMLResponse: 'AAAA' }, 'SSO_CONNECTION_NOT_FOUND');
    const json = await fetch(conn.acsUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json' }, body: '{"SAMLResponse":1}' });
    expect(new URL(json.headers.get('location')!).searchParams.get('error')).toBe('SSO_BAD_REQUEST');
    const big = await fetch(conn.acsUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `SAMLResponse=${'A'.repeat(300_000)}` });
    expect(new URL(big.headers.get('location')!).searchParams.get('error')).toBe('SSO_BAD_REQUEST');
  });
});
