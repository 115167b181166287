import crypto from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';

/**
 * Reading what a tenant's admin pastes for a SAML identity provider: its metadata XML (entity id,
 * HTTP-Redirect SSO endpoint, signing certificates) and certificates alone. Only reading: signatures
 * are node-saml's to check (saml-flow.ts). Every problem is a sentence for BAD_USER_INPUT.
 */

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export class SamlInputError extends Error {}

export interface IdpMetadata {
  entityId: string;
  ssoUrl?: string;
  certificates: string[];
}

/** Parses an EntityDescriptor (or an EntitiesDescriptor holding exactly one IdP). Throws SamlInputError. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  // No DTDs: nothing in metadata needs one, and entity tricks (billion laughs, XXE) start there.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SamlInputError('Metadata must not contain a DOCTYPE');
  const problems: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: { warning: () => undefined, error: (m: string) => void problems.push(m), fatalError: (m: string) => void problems.push(m) },
  }).parseFromString(xml, 'text/xml');
  const root = doc?.documentElement;
  if (problems.length || !root) throw new SamlInputError(`Not well-formed XML${problems[0] ? `: ${firstLine(problems[0])}` : ''}`);
  const entities = root.localName === 'EntityDescriptor' ? [root] : root.localName === 'EntitiesDescriptor' ? children(root, MD, 'EntityDescriptor') : [];
  const idps = entities.filter((e) => children(e, MD, 'IDPSSODescriptor').length > 0);
  if (idps.length === 0) throw new SamlInputError('No EntityDescriptor with an IDPSSODescriptor (is this identity provider metadata?)');
  if (idps.length > 1) throw new SamlInputError('Several identity providers in this metadata: paste the one to connect');
  const entity = idps[0]!;
  const entityId = entity.getAttribute('entityID')?.trim();
  if (!entityId) throw new SamlInputError('The EntityDescriptor has no entityID');
  const descriptor = children(entity, MD, 'IDPSSODescriptor')[0]!;
  const sso = children(descriptor, MD, 'SingleSignOnService').find((s) => s.getAttribute('Binding') === REDIRECT);
  const certificates = children(descriptor, MD, 'KeyDescriptor')
    .filter((k) => (k.getAttribute('use') ?? 'signing') !== 'encryption')
    .flatMap((k) => Array.from(k.getElementsByTagNameNS(DS, 'X509Certificate'), (c) => c.textContent ?? ''));
  return { entityId, ssoUrl: sso?.getAttribute('Location')?.trim() || undefined, certificates };
}

export interface CertificateInfo {
  pem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
}

/** A PEM certificate, or the base64 DER metadata carries, as a normalized PEM. Throws SamlInputError. */
export function normalizeCertificate(input: string): CertificateInfo {
  const body = input
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new SamlInputError('Not a PEM or base64 certificate');
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw new SamlInputError('Not a valid X.509 certificate');
  }
  const type = cert.publicKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') throw new SamlInputError(`A ${type ?? 'unknown'} key can't verify SAML signatures (RSA or EC)`);
  return certificateInfo(`-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`, cert);
}

/** What a stored (already normalized) PEM says. */
export function certificateInfo(pem: string, cert = new crypto.X509Certificate(pem)): CertificateInfo {
  return { pem, subject: cert.subject.replace(/\n/g, ', '), notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), fingerprintSha256: cert.fingerprint256 };
}

type Element = NonNullable<ReturnType<DOMParser['parseFromString']>['documentElement']>;

function children(el: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  return out;
}

const firstLine = (s: string) => s.split('\n')[0]!.slice(0, 200);
