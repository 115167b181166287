import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

/**
 * The IdP side of SAML for the attack tests: reading the pages and redirects a browser would see,
 * and building Responses the mock IdP would never send — signed with its real key (so only the
 * content is wrong), with another key, or not at all — with xml-crypto.
 */

/** What an HTTP-POST binding page posts. */
export interface SamlPost {
  acs: string;
  SAMLResponse: string;
  RelayState?: string;
}

const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&').replace(/&quot;/g, '"');

/** The form of an auto-post page, or undefined. */
export function autoPostForm(html: string): SamlPost | undefined {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const response = /name="SAMLResponse" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !response) return undefined;
  const relay = /name="RelayState" value="([^"]*)"/.exec(html)?.[1];
  return { acs: unescape(action), SAMLResponse: unescape(response), ...(relay ? { RelayState: unescape(relay) } : {}) };
}

/** The ID of the AuthnRequest in an HTTP-Redirect binding URL. */
export function authnRequestId(redirect: string): string {
  const xml = zlib.inflateRawSync(Buffer.from(new URL(redirect).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return /\sID="([^"]+)"/.exec(xml)![1]!;
}

export const decode = (samlResponse: string) => Buffer.from(samlResponse, 'base64').toString('utf8');
export const encode = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

export async function otherSigningKey(validity: { notBeforeDate?: Date; notAfterDate?: Date } = {}): Promise<{ privateKey: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'Not the IdP' }], { keySize: 2048, algorithm: 'sha256', ...validity } as never);
  return { privateKey: pems.private, cert: pems.cert };
}

export interface ForgeOptions {
  issuer: string;
  audience: string;
  recipient: string;
  destination?: string;
  inResponseTo?: string;
  /** The SubjectConfirmationData's InResponseTo, when it should differ from the Response's. */
  subjectInResponseTo?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  nameId: string;
  /** The NameID's Format (persistent unless given). */
  nameIdFormat?: string;
  email: string;
  groups?: string[];
  assertionId?: string;
  /** What carries a signature. */
  sign: 'assertion' | 'response' | 'none';
  key: { privateKey: string; cert: string };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A Response as an IdP would build it (one assertion with bearer confirmation, conditions, attributes), signed as asked. Base64. */
export function forgeResponse(o: ForgeOptions): string {
  const now = new Date();
  const notBefore = (o.notBefore ?? new Date(now.getTime() - 1000)).toISOString();
  const notOnOrAfter = (o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000)).toISOString();
  const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
  const subjectIrt = o.subjectInResponseTo ?? o.inResponseTo;
  const attrs = [
    ['email', [o.email]],
    ['email_verified', ['true']],
    ['groups', o.groups ?? []],
  ] as const;
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${crypto.randomUUID()}" Version="2.0" IssueInstant="${now.toISOString()}"${o.destination ? ` Destination="${esc(o.destination)}"` : ''}${irt}>` +
    `<saml:Issuer>${esc(o.issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${esc(o.assertionId ?? `_${crypto.randomUUID()}`)}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>${esc(o.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${esc(o.nameIdFormat ?? 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent')}">${esc(o.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${esc(o.recipient)}"${subjectIrt ? ` InResponseTo="${esc(subjectIrt)}"` : ''}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attrs
      .filter(([, v]) => v.length)
      .map(([n, v]) => `<saml:Attribute Name="${n}">${v.map((x) => `<saml:AttributeValue xsi:type="xs:string">${esc(x)}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
      .join('')}</saml:AttributeStatement>` +
    `</saml:Assertion></samlp:Response>`;
  if (o.sign === 'none') return encode(xml);
  return encode(sign(xml, o.sign === 'assertion' ? 'Assertion' : 'Response', o.key));
}

/** Signs the element (enveloped, exclusive c14n, RSA-SHA256), the signature placed after its Issuer as SAML requires. */
export function sign(xml: string, element: 'Assertion' | 'Response', key: { privateKey: string; cert: string }): string {
  const path = element === 'Assertion' ? "/*[local-name(.)='Response']/*[local-name(.)='Assertion']" : "/*[local-name(.)='Response']";
  const sig = new SignedXml({
    privateKey: key.privateKey,
    publicCert: key.cert,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({ xpath: path, transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${path}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

/** DOM editing of a genuine Response, for the wrapping attacks. */
export function editResponse(samlResponse: string, edit: (doc: Document) => void): string {
  const doc = new DOMParser().parseFromString(decode(samlResponse), 'text/xml') as unknown as Document;
  edit(doc);
  return encode(new XMLSerializer().serializeToString(doc as never));
}
