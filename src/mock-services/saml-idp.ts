/**
 * A real SAML 2.0 identity provider (samlify as IdP) for demos and tests, at /saml on the mock
 * services: IdP metadata at /saml/metadata (entity id `${url}/saml`), the SSO endpoint at /saml/sso
 * (HTTP-Redirect binding: it parses and schema-validates the AuthnRequest), responses signed with a
 * key and self-signed certificate generated at first use (RSA-SHA256, the assertion signed as the
 * SP's metadata asks) and sent by the HTTP-POST binding: a page whose form posts itself to the SP's
 * ACS (a browser runs it; with curl, post its SAMLResponse field yourself).
 *
 * Service providers are known by their metadata, read from their entity id (Tessera's entity id is
 * its metadata URL), so no registration step is needed. Sign-in: `/saml/sso?…&login_hint=<email>` of
 * a known account answers at once (tests, curl); otherwise a page lists the accounts to pick from.
 * `/saml/initiate?sp=<entity id>&email=<email>` starts an IdP-initiated sign-in.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DOMParser } from '@xmldom/xmldom';
// @ts-expect-error -- ships no types: { validate(xml: string): Promise<true> }, validates against the SAML XSDs (xmllint compiled to wasm)
import * as validator from '@authenio/samlify-xmllint-wasm';
import * as samlify from 'samlify';
import { generate } from 'selfsigned';

export interface SamlAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  groups: string[];
}

type Idp = ReturnType<typeof samlify.IdentityProvider>;
type Sp = ReturnType<typeof samlify.ServiceProvider>;

const { binding } = samlify.Constants.namespace;
// samlify is CommonJS and exports SamlLib through a getter that Node's named-export detection misses.
const { SamlLib } = (samlify as unknown as { default: typeof samlify }).default;
samlify.setSchemaValidator(validator);

export class MockSamlIdp {
  readonly accounts = new Map<string, SamlAccount>();
  /** Set when the mock services listen: `${url}/saml`. */
  baseUrl = '';
  private state?: Promise<{ idp: Idp; privateKey: string; cert: string }>;
  private sps = new Map<string, { at: number; sp: Promise<Sp> }>();

  constructor() {
    for (const a of [
      { email: 'alice@demo.test', name: 'Alice Example', groups: ['engineering'] },
      { email: 'bob@demo.test', name: 'Bob Example', groups: ['tessera-admins'] },
    ]) this.addAccount({ ...a, email_verified: true });
  }

  get entityId(): string {
    return this.baseUrl;
  }

  addAccount(a: Omit<SamlAccount, 'sub'> & { sub?: string }): SamlAccount {
    const account = { ...a, sub: a.sub ?? crypto.randomUUID() };
    this.accounts.set(account.sub, account);
    return account;
  }

  byEmail(email: string): SamlAccount | undefined {
    return [...this.accounts.values()].find((a) => a.email.toLowerCase() === email.toLowerCase());
  }

  /** The signing key and certificate (PEM), e.g. for tests that forge what this IdP would never send. */
  async signing(): Promise<{ privateKey: string; cert: string }> {
    const { privateKey, cert } = await this.get();
    return { privateKey, cert };
  }

  async metadata(): Promise<string> {
    return (await this.get()).idp.getMetadata();
  }

  private get() {
    this.state ??= (async () => {
      const pems = await generate([{ name: 'commonName', value: 'Tessera mock SAML IdP' }], { keySize: 2048, days: 3650, algorithm: 'sha256' } as never);
      const idp = samlify.IdentityProvider({
        entityID: this.entityId,
        privateKey: pems.private,
        signingCert: pems.cert,
        singleSignOnService: [{ Binding: binding.redirect, Location: `${this.baseUrl}/sso` }],
        singleLogoutService: [{ Binding: binding.redirect, Location: `${this.baseUrl}/slo` }],
        nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
        requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      });
      return { idp, privateKey: pems.private, cert: pems.cert };
    })();
    return this.state;
  }

  /** A service provider by its entity id: its metadata is read from that URL (a minute's cache). */
  sp(entityId: string): Promise<Sp> {
    const cached = this.sps.get(entityId);
    if (cached && Date.now() - cached.at < 60_000) return cached.sp;
    const sp = (async () => {
      if (!/^https?:\/\//.test(entityId)) throw new Error('unknown service provider (its entity id is not a metadata URL)');
      const res = await fetch(entityId, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`the service provider's metadata answered ${res.status}`);
      return samlify.ServiceProvider({ metadata: await res.text() });
    })();
    this.sps.set(entityId, { at: Date.now(), sp });
    sp.catch(() => this.sps.delete(entityId));
    return sp;
  }

  /** Parses an AuthnRequest of the HTTP-Redirect binding (its SP from the request's Issuer). */
  async parseRequest(query: Record<string, string>): Promise<{ sp: Sp; requestId: string }> {
    const xml = zlib.inflateRawSync(Buffer.from(query.SAMLRequest ?? '', 'base64'), { maxOutputLength: 100_000 }).toString('utf8');
    const issuer = new DOMParser().parseFromString(xml, 'text/xml').getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0]?.textContent?.trim();
    if (!issuer) throw new Error('the AuthnRequest names no Issuer');
    const sp = await this.sp(issuer);
    const { idp } = await this.get();
    const parsed = await idp.parseLoginRequest(sp, 'redirect', { query });
    const requestId = parsed.extract.request?.id as string | undefined;
    if (!requestId) throw new Error('the AuthnRequest has no ID');
    return { sp, requestId };
  }

  /** A signed Response for `account`, to the SP's HTTP-POST ACS (from its metadata); no request id = IdP-initiated. */
  async loginResponse(sp: Sp, account: SamlAccount, requestId: string | null): Promise<{ acsUrl: string; samlResponse: string }> {
    const { idp } = await this.get();
    const acsUrl = sp.entityMeta.getAssertionConsumerService('post') as string; // by the binding's short name
    if (!acsUrl) throw new Error('the service provider has no HTTP-POST AssertionConsumerService');
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60_000).toISOString();
    const attributes: [string, string[]][] = [
      ['email', [account.email]],
      ['email_verified', [String(account.email_verified)]],
      ['name', [account.name]],
      ['groups', account.groups],
    ];
    const attributeStatement =
      '<saml:AttributeStatement>' +
      attributes
        .filter(([, values]) => values.length)
        .map(([name, values]) => `<saml:Attribute Name="${xmlEscape(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${xmlEscape(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
        .join('') +
      '</saml:AttributeStatement>';
    const authnStatement = `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="_${crypto.randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    const id = `_${crypto.randomUUID()}`;
    const res = await idp.createLoginResponse(sp, { extract: requestId ? { request: { id: requestId } } : {} } as never, 'post', { email: account.email }, {
      customTagReplacement: (template: string) => ({
        id,
        context: SamlLib.replaceTagsByValue(template.replace('{AuthnStatement}', authnStatement).replace('{AttributeStatement}', attributeStatement), {
          ID: id,
          AssertionID: `_${crypto.randomUUID()}`,
          Destination: acsUrl,
          Audience: sp.entityMeta.getEntityID(),
          SubjectRecipient: acsUrl,
          Issuer: this.entityId,
          IssueInstant: now.toISOString(),
          StatusCode: samlify.Constants.StatusCode.Success,
          ConditionsNotBefore: now.toISOString(),
          ConditionsNotOnOrAfter: later,
          SubjectConfirmationDataNotOnOrAfter: later,
          NameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
          NameID: account.sub,
          InResponseTo: requestId ?? undefined,
        } as never),
      }),
    } as never);
    return { acsUrl, samlResponse: res.context };
  }
}

/** The HTTP-POST binding: a page whose form posts the Response to the ACS. */
export function autoPostPage(acsUrl: string, samlResponse: string, relayState?: string): string {
  return (
    `<!doctype html><html><head><title>Signing in…</title></head><body onload="document.forms[0].submit()">` +
    `<form method="post" action="${xmlEscape(acsUrl)}"><input type="hidden" name="SAMLResponse" value="${xmlEscape(samlResponse)}">` +
    (relayState ? `<input type="hidden" name="RelayState" value="${xmlEscape(relayState)}">` : '') +
    `<noscript><button type="submit">Continue</button></noscript></form></body></html>`
  );
}

export function samlIdpRoutes(idp: MockSamlIdp) {
  return async (app: FastifyInstance) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 200_000 }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
    const refuse = (reply: FastifyReply, err: unknown) => reply.code(400).type('text/plain; charset=utf-8').send(`SAML request refused: ${(err as Error).message}`);
    const answer = async (reply: FastifyReply, query: Record<string, string>, account: SamlAccount) => {
      const { sp, requestId } = await idp.parseRequest(query);
      const { acsUrl, samlResponse } = await idp.loginResponse(sp, account, requestId);
      return reply.type('text/html; charset=utf-8').send(autoPostPage(acsUrl, samlResponse, query.RelayState));
    };

    app.get('/saml/metadata', async (_req, reply) => reply.type('application/samlmetadata+xml; charset=utf-8').send(await idp.metadata()));

    app.get<{ Querystring: Record<string, string> }>('/saml/sso', async (req, reply) => {
      const { login_hint: hint, ...query } = req.query;
      try {
        const hinted = hint ? idp.byEmail(hint) : undefined;
        if (hinted) return await answer(reply, query, hinted);
        await idp.parseRequest(query); // a bad request is refused before the picker
      } catch (err) {
        return refuse(reply, err);
      }
      const hidden = Object.entries(query)
        .filter(([k]) => k === 'SAMLRequest' || k === 'RelayState' || k === 'SigAlg' || k === 'Signature')
        .map(([k, v]) => `<input type="hidden" name="${xmlEscape(k)}" value="${xmlEscape(v)}">`)
        .join('');
      const options = [...idp.accounts.values()].map((a) => `<option value="${xmlEscape(a.email)}">${xmlEscape(a.name)} &lt;${xmlEscape(a.email)}&gt;</option>`).join('');
      return reply
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><title>Mock SAML identity provider</title><h1>Sign in to the mock SAML identity provider</h1><form method="post" action="${xmlEscape(idp.baseUrl)}/sso/login">${hidden}<select name="email">${options}</select> <button>Sign in</button></form>`);
    });

    app.post<{ Body: Record<string, string> | undefined }>('/saml/sso/login', async (req, reply) => {
      const { email, ...query } = req.body ?? {};
      const account = email ? idp.byEmail(email) : undefined;
      if (!account) return reply.code(400).type('text/plain').send('unknown account');
      try {
        return await answer(reply, query, account);
      } catch (err) {
        return refuse(reply, err);
      }
    });

    // IdP-initiated: a Response answering no request.
    app.get<{ Querystring: Record<string, string> }>('/saml/initiate', async (req, reply) => {
      const account = req.query.email ? idp.byEmail(req.query.email) : undefined;
      if (!account || !req.query.sp) return reply.code(400).type('text/plain').send('sp and a known email are required');
      try {
        const { acsUrl, samlResponse } = await idp.loginResponse(await idp.sp(req.query.sp), account, null);
        return reply.type('text/html; charset=utf-8').send(autoPostPage(acsUrl, samlResponse, req.query.RelayState));
      } catch (err) {
        return refuse(reply, err);
      }
    });
  };
}

const xmlEscape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
