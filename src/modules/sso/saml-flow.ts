import crypto from 'node:crypto';
import type * as NodeSaml from '@node-saml/node-saml';
import type { CacheProvider, Profile, SAML } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { ssoConnections, ssoSamlAssertions, ssoSamlRequests, type SsoConnectionRow } from '../../db/schema.js';
import { actors, inTenant, type RequestInfo } from '../../db/tenant-transaction.js';
import { ATTEMPT_TTL_MS, issueLoginCode, pruneFlowState, recordRefusal, resolveUser, SsoRefusal, UUID, type SsoDeps } from './sign-in.js';

/**
 * Sign-in through a SAML 2.0 identity provider (@node-saml/node-saml 5 checks the XML signatures,
 * audience, NotBefore/NotOnOrAfter and InResponseTo; what it leaves to its caller is checked here).
 *
 *  1. start: the connection (found by findStartConnection) → an AuthnRequest (HTTP-Redirect binding),
 *     its id kept in Postgres (10 minutes, single use, bound to the connection) → 302 to the IdP.
 *  2. ACS (HTTP-POST binding, one URL per connection, holding the tenant): the Response must answer
 *     an outstanding request of this connection (InResponseTo), unless the connection allows
 *     IdP-initiated sign-ins and it answers none; node-saml verifies the assertion's signature
 *     against the connection's certificates only (never the KeyInfo sent along), a single assertion
 *     (wrapping attacks: an injected or moved assertion fails), audience = our SP entity id, the
 *     time window with the connection's skew. Then here: the signed assertion's Issuer is the IdP's
 *     entity id, its bearer SubjectConfirmationData names our ACS as Recipient and the same
 *     InResponseTo, the Response's Destination (when present) is our ACS.
 *  3. one transaction: the request id is consumed, the assertion id recorded (unique: a replay,
 *     in any process, finds it), the person resolved as for OIDC (sign-in.ts), the one-time code
 *     issued. A refusal rolls all of it back.
 * SAML attributes are mapped to the claim names resolveUser reads: sub = NameID (a transient one is
 * not kept as an identity: such sign-ins link by email each time; an empty one is refused), email (email, mail,
 * or the usual URIs; else an emailAddress NameID), email_verified ("true"), name, and the role claim.
 */

const MAX_RESPONSE_CHARS = 250_000; // under the body limit (256 KiB); real ones are 5–20 KB
const REQUEST_TTL_MS = ATTEMPT_TTL_MS;

export interface SamlUrls {
  entityId: string;
  acsUrl: string;
  metadataUrl: string;
}

/** Our service provider, per connection: the entity id is also where its metadata is served. */
export function samlUrls(publicUrl: string, conn: Pick<SsoConnectionRow, 'tenantId' | 'id'>): SamlUrls {
  const base = `${publicUrl}/auth/sso/saml/${conn.tenantId}/${conn.id}`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, metadataUrl: `${base}/metadata` };
}

/** @node-saml/node-saml (and its XML signature stack), loaded at a process's first SAML use: one nobody signs in to through SAML doesn't carry it (idle RSS). */
let nodeSaml: Promise<typeof NodeSaml> | undefined;
const loadNodeSaml = () => (nodeSaml ??= import('@node-saml/node-saml'));

const noCache: CacheProvider = { saveAsync: async () => null, getAsync: async () => null, removeAsync: async () => null };

async function samlFor(deps: Pick<SsoDeps, 'publicUrl'>, conn: SsoConnectionRow, extra: { cacheProvider?: CacheProvider; generateUniqueId?: () => string } = {}): Promise<SAML> {
  const urls = samlUrls(deps.publicUrl, conn);
  const { SAML, ValidateInResponseTo } = await loadNodeSaml();
  return new SAML({
    issuer: urls.entityId,
    callbackUrl: urls.acsUrl,
    audience: urls.entityId,
    entryPoint: conn.samlIdpSsoUrl ?? undefined,
    idpIssuer: conn.samlIdpEntityId ?? undefined,
    idpCert: conn.samlIdpCertificates ?? [],
    // The assertion itself must be signed (a signed Response around an unsigned assertion is refused).
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: conn.samlAllowIdpInitiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    acceptedClockSkewMs: conn.samlClockSkewSeconds * 1000,
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
    cacheProvider: extra.cacheProvider ?? noCache,
    ...(extra.generateUniqueId ? { generateUniqueId: extra.generateUniqueId } : {}),
  });
}

/** Our SP metadata for a connection (what its IdP is given). */
export async function samlServiceProviderMetadata(deps: Pick<SsoDeps, 'publicUrl'>, conn: SsoConnectionRow): Promise<string> {
  return (await samlFor(deps, conn)).generateServiceProviderMetadata(null, null);
}

/** Step 1. The IdP's SSO URL with the AuthnRequest; the request id is kept for the ACS. */
export async function startSamlSignIn(deps: SsoDeps, tenantId: string, conn: SsoConnectionRow, hint: string | undefined, request: RequestInfo): Promise<{ redirectTo: string }> {
  const requestId = `_${crypto.randomBytes(20).toString('hex')}`;
  const saml = await samlFor(deps, conn, { generateUniqueId: () => requestId });
  // login_hint is not SAML, but several IdPs (Entra ID, the mock) read it to skip their account picker.
  const redirectTo = await saml.getAuthorizeUrlAsync('', undefined, hint ? { additionalParams: { login_hint: hint } } : {});
  await inTenant(deps.db, actors.system('sso', tenantId, request), async (tx) => {
    await tx.insert(ssoSamlRequests).values({ tenantId, connectionId: conn.id, requestId, expiresAt: new Date(Date.now() + REQUEST_TTL_MS) });
    await pruneFlowState(tx);
  });
  return { redirectTo };
}

/** What the unsigned envelope says, read before anything is verified (only to find the request it claims to answer). */
function envelopeOf(samlResponse: string): { inResponseTo: string | null; destination: string | null } {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The SAML response is malformed');
  let failed = false;
  const root = new DOMParser({ locator: {}, errorHandler: { warning: () => undefined, error: () => void (failed = true), fatalError: () => void (failed = true) } }).parseFromString(xml, 'text/xml')?.documentElement;
  if (failed || !root || root.localName !== 'Response') throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The SAML response is malformed');
  return { inResponseTo: root.getAttribute('InResponseTo') || null, destination: root.getAttribute('Destination') || null };
}

/** Steps 2–3: the ACS of `/auth/sso/saml/:tenantId/:connectionId/acs`. `body` is the posted form. */
export async function finishSamlSignIn(deps: SsoDeps, params: { tenantId: unknown; connectionId: unknown }, body: unknown, request: RequestInfo): Promise<{ code: string }> {
  const { tenantId, connectionId } = params;
  if (typeof tenantId !== 'string' || !UUID.test(tenantId) || typeof connectionId !== 'string' || !UUID.test(connectionId)) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'Unknown connection');
  const samlResponse = (body as { SAMLResponse?: unknown } | undefined)?.SAMLResponse;
  if (typeof samlResponse !== 'string' || !samlResponse || samlResponse.length > MAX_RESPONSE_CHARS || !/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) throw new SsoRefusal('SSO_BAD_REQUEST', 'SAMLResponse is required (HTTP-POST binding)');
  const actor = actors.system('sso', tenantId, request);
  const found = await inTenant(deps.db, actor, async (tx, session) => {
    if (session.tenantStatus !== 'ACTIVE') return undefined;
    const [conn] = await tx.select().from(ssoConnections).where(and(eq(ssoConnections.id, connectionId), eq(ssoConnections.protocol, 'SAML')));
    return conn;
  });
  if (!found) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'Unknown connection');
  const conn = found;
  const urls = samlUrls(deps.publicUrl, conn);
  try {
    if (!conn.enabled) throw new SsoRefusal('SSO_CONNECTION_NOT_FOUND', 'This connection is disabled');
    const envelope = envelopeOf(samlResponse);
    if (!envelope.inResponseTo && !conn.samlAllowIdpInitiated) throw new SsoRefusal('SSO_IDP_INITIATED_DISABLED', 'This connection accepts only sign-ins it started');
    let outstanding: { id: string; createdAt: Date } | undefined;
    if (envelope.inResponseTo) {
      [outstanding] = await inTenant(deps.db, actor, (tx) =>
        tx
          .select({ id: ssoSamlRequests.id, createdAt: ssoSamlRequests.createdAt })
          .from(ssoSamlRequests)
          .where(and(eq(ssoSamlRequests.connectionId, conn.id), eq(ssoSamlRequests.requestId, envelope.inResponseTo!), isNull(ssoSamlRequests.consumedAt), gt(ssoSamlRequests.expiresAt, new Date()))),
      );
      if (!outstanding) throw new SsoRefusal('SSO_STATE_MISMATCH', 'The response answers no outstanding sign-in of this connection (unknown, used or expired)');
    }
    if (envelope.destination && envelope.destination !== urls.acsUrl) throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The response is meant for another destination');
    // node-saml asks its cache for the request id; it answers from the row just read (consumed below).
    const cacheProvider: CacheProvider = {
      saveAsync: async () => null,
      getAsync: async (key) => (outstanding && key === envelope.inResponseTo ? outstanding.createdAt.toISOString() : null),
      removeAsync: async () => null,
    };
    const saml = await samlFor(deps, conn, { cacheProvider });
    const { SamlStatusError } = await loadNodeSaml();
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (err) {
      deps.log.info({ err: { message: (err as Error).message }, connectionId: conn.id }, 'SAML response refused');
      if (err instanceof SamlStatusError) throw new SsoRefusal('SSO_IDP_ERROR', 'The identity provider refused the sign-in');
      throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The identity provider’s response did not verify');
    }
    if (!profile) throw new SsoRefusal('SSO_INVALID_RESPONSE', 'The response holds no assertion');
    const checked = checkAssertion(profile, conn, urls, envelope.inResponseTo);
    const claims = claimsOf(profile);
    return await inTenant(deps.db, actor, async (tx) => {
      if (outstanding) {
        const [used] = await tx
          .update(ssoSamlRequests)
          .set({ consumedAt: new Date() })
          .where(and(eq(ssoSamlRequests.id, outstanding.id), isNull(ssoSamlRequests.consumedAt)))
          .returning({ id: ssoSamlRequests.id });
        if (!used) throw new SsoRefusal('SSO_STATE_MISMATCH', 'This sign-in was already finished');
      }
      const [fresh] = await tx
        .insert(ssoSamlAssertions)
        .values({ tenantId: conn.tenantId, connectionId: conn.id, assertionId: checked.assertionId, expiresAt: checked.expiresAt })
        .onConflictDoNothing()
        .returning({ id: ssoSamlAssertions.id });
      if (!fresh) throw new SsoRefusal('SSO_ASSERTION_REPLAYED', 'This assertion was already used');
      return issueLoginCode(tx, conn, await resolveUser(tx, conn, claims));
    });
  } catch (err) {
    await recordRefusal(deps, conn.tenantId, conn.id, err, request);
    throw err;
  }
}

type X = Record<string, any>; // xml2js output of the verified assertion: elements are arrays, attributes in $, text in _

/** What node-saml leaves to its caller, on the signed assertion only. Returns its id and how long to remember it. */
function checkAssertion(profile: Profile, conn: SsoConnectionRow, urls: SamlUrls, inResponseTo: string | null): { assertionId: string; expiresAt: Date } {
  const invalid = (why: string) => new SsoRefusal('SSO_INVALID_RESPONSE', why);
  const assertion = (profile.getAssertion?.() as X | undefined)?.Assertion as X | undefined;
  const assertionId = assertion?.$?.ID;
  // xsd:ID is an NCName; anything else (or a huge one) is not an assertion id we store.
  if (!assertion || typeof assertionId !== 'string' || assertionId.length > 256 || !/^[A-Za-z_][\w.-]*$/.test(assertionId)) throw invalid('The assertion has no valid ID');
  if (profile.issuer !== conn.samlIdpEntityId) throw invalid('The assertion is from another issuer');
  const skewMs = conn.samlClockSkewSeconds * 1000;
  const now = Date.now();
  // The bearer confirmation for us: our ACS as Recipient, unexpired, answering the same request.
  const confirmations = ((assertion.Subject?.[0]?.SubjectConfirmation ?? []) as X[]).filter((c) => c.$?.Method === 'urn:oasis:names:tc:SAML:2.0:cm:bearer');
  const data = confirmations.map((c) => c.SubjectConfirmationData?.[0]?.$ as X | undefined).filter((d): d is X => !!d);
  const ours = data.find((d) => d.Recipient === urls.acsUrl);
  if (!ours) throw invalid('The assertion is meant for another recipient');
  const until = Date.parse(ours.NotOnOrAfter ?? '');
  if (!Number.isFinite(until) || now - skewMs >= until) throw invalid('The assertion’s subject confirmation has expired (or has no NotOnOrAfter)');
  if ((ours.InResponseTo ?? null) !== inResponseTo) throw invalid('The assertion answers another request');
  // Remembered until nothing could accept it any more: its latest NotOnOrAfter, plus the skew.
  const conditionsUntil = Date.parse(assertion.Conditions?.[0]?.$?.NotOnOrAfter ?? '');
  const expiresAt = new Date(Math.max(until, Number.isFinite(conditionsUntil) ? conditionsUntil : 0) + skewMs);
  return { assertionId, expiresAt };
}

const EMAIL_ATTRIBUTES = ['email', 'mail', 'emailAddress', 'urn:oid:0.9.2342.19200300.100.1.3', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];
const NAME_ATTRIBUTES = ['name', 'displayName', 'urn:oid:2.16.840.1.113730.3.1.241', 'http://schemas.microsoft.com/identity/claims/displayname'];

/** The assertion as the claims resolveUser reads. */
function claimsOf(profile: Profile): Record<string, unknown> {
  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  const first = (names: string[]) => {
    for (const n of names) {
      const v = attributes[n];
      const s = Array.isArray(v) ? v.find((x) => typeof x === 'string') : v;
      if (typeof s === 'string' && s) return s;
    }
    return undefined;
  };
  const emailNameId = profile.nameIDFormat === 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' ? profile.nameID : undefined;
  return {
    ...attributes,
    sub: profile.nameID,
    sub_transient: profile.nameIDFormat === 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    email: first(EMAIL_ATTRIBUTES) ?? emailNameId,
    email_verified: first(['email_verified']) === 'true',
    name: first(NAME_ATTRIBUTES),
  };
}
